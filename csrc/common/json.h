// A small JSON reader for the files fastsbert loads: fastsbert.json (model config) and
// Hugging Face tokenizer.json. Parses into an immutable DOM; errors name the byte offset.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fastsbert::json {

class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Value {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Value>;
  // Object members keep file order (tokenizer.json vocabularies and merges depend on it).
  using Object = std::vector<std::pair<std::string, Value>>;

  Value() = default;
  static Value make_bool(bool b);
  static Value make_number(double d, bool integral, int64_t i, std::string text = {});
  static Value make_string(std::string s);
  static Value make_array(Array a);
  static Value make_object(Object o);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Typed accessors throw std::runtime_error naming `what` when the type differs.
  bool as_bool(std::string_view what = "value") const;
  double as_double(std::string_view what = "value") const;
  int64_t as_int(std::string_view what = "value") const;
  // The number exactly as written in the document (readers that must round like
  // another parser re-parse it).
  const std::string& number_text(std::string_view what = "value") const;
  const std::string& as_string(std::string_view what = "value") const;
  const Array& as_array(std::string_view what = "value") const;
  const Object& as_object(std::string_view what = "value") const;

  // Object lookup: nullptr when absent (or when this is not an object).
  const Value* find(std::string_view key) const;
  // Object lookup that throws naming the key when absent.
  const Value& at(std::string_view key) const;

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  bool integral_ = false;
  double number_ = 0.0;
  int64_t int_ = 0;
  std::string string_;
  std::shared_ptr<const Array> array_;
  std::shared_ptr<const Object> object_;
};

// Parses a whole document; throws ParseError on malformed input or trailing content.
Value parse(std::string_view text);
// Reads and parses a file; errors name the path.
Value parse_file(const std::string& path);

}  // namespace fastsbert::json
