#include "engine/model_dir.h"

#include <sys/stat.h>

#include <algorithm>
#include <string_view>

#include "common/json.h"

namespace fastsbert::engine {

namespace {

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool is_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A JSON value as it would read in an error message (long strings cut).
std::string describe(const json::Value& v) {
  constexpr size_t kMaxShown = 40;
  switch (v.type()) {
    case json::Value::Type::Null: return "null";
    case json::Value::Type::Bool: return v.as_bool() ? "true" : "false";
    case json::Value::Type::Number: return v.number_text();
    case json::Value::Type::String: {
      const std::string& s = v.as_string();
      return "\"" + (s.size() > kMaxShown ? s.substr(0, kMaxShown) + "..." : s) + "\"";
    }
    case json::Value::Type::Array: return "a list";
    case json::Value::Type::Object: return "an object";
  }
  return "?";
}

// Typed reads of fastsbert.json's keys; every failure names the file, the key and the value.
class ConfigReader {
 public:
  ConfigReader(const std::string& path, const json::Value& root) : path_(path), root_(root) {
    if (!root.is_object()) fail("the file must hold a JSON object, got " + describe(root));
  }

  const json::Value* find(std::string_view key) const { return root_.find(key); }

  const json::Value& require(std::string_view key) const {
    const json::Value* v = root_.find(key);
    if (!v) fail("key \"" + std::string(key) + "\" is missing");
    return *v;
  }

  int64_t integer(std::string_view key, int64_t min) const {
    return integer_value(key, require(key), min);
  }
  int64_t integer_value(std::string_view key, const json::Value& v, int64_t min) const {
    if (!v.is_number() || v.number_text().find_first_of(".eE") != std::string::npos) {
      bad(key, v, "an integer");
    }
    int64_t n = 0;
    try {
      n = v.as_int();
    } catch (const std::exception&) {
      bad(key, v, "an integer in the 64-bit range");
    }
    if (n < min) bad(key, v, "an integer >= " + std::to_string(min));
    return n;
  }
  const std::string& string(std::string_view key) const {
    const json::Value& v = require(key);
    if (!v.is_string()) bad(key, v, "a string");
    return v.as_string();
  }
  bool boolean(std::string_view key) const {
    const json::Value& v = require(key);
    if (!v.is_bool()) bad(key, v, "true or false");
    return v.as_bool();
  }

  [[noreturn]] void bad(std::string_view key, const json::Value& v,
                        const std::string& expected) const {
    fail("key \"" + std::string(key) + "\" must be " + expected + ", got " + describe(v));
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw CorruptFile("corrupt " + path_ + ": " + why);
  }

 private:
  const std::string& path_;
  const json::Value& root_;
};

}  // namespace

bool is_known_input(const std::string& name) {
  return std::find(std::begin(kInputNames), std::end(kInputNames), name) != std::end(kInputNames);
}

namespace {

// A file name inside the model directory: no separators, so a config cannot point outside.
std::string member_file(const ConfigReader& cfg, std::string_view key, const json::Value& v,
                        const std::string& dir) {
  if (!v.is_string() || v.as_string().empty() ||
      v.as_string().find('/') != std::string::npos || v.as_string() == "." ||
      v.as_string() == "..") {
    cfg.bad(key, v, "a file name in the model directory");
  }
  const std::string file = dir + "/" + v.as_string();
  if (!is_file(file)) {
    throw MissingFile("model directory " + dir + " has no " + v.as_string() + " (" + file +
                      ", named by key \"" + std::string(key) + "\" of fastsbert.json)");
  }
  return file;
}

void read_word_tokenizer(const ConfigReader& cfg, const json::Value& v, ModelDir& md) {
  if (!v.is_object()) cfg.bad("word_tokenizer", v, "an object {\"type\": ..., \"file\": ...}");
  const json::Value* type = v.find("type");
  if (!type || !type->is_string() ||
      (type->as_string() != "whitespace" && type->as_string() != "phrase")) {
    cfg.fail("key \"word_tokenizer.type\" must be \"whitespace\" or \"phrase\", got " +
             (type ? describe(*type) : std::string("nothing")));
  }
  const json::Value* file = v.find("file");
  if (!file) cfg.fail("key \"word_tokenizer.file\" is missing");
  md.word_tokenizer_type = type->as_string();
  md.word_tokenizer_path = member_file(cfg, "word_tokenizer.file", *file, md.path);
}

void read_static(const ConfigReader& cfg, ModelDir& md) {
  ModelConfig& c = md.config;
  c.pooling = "mean";
  md.embeddings_path = member_file(cfg, "embeddings", cfg.require("embeddings"), md.path);
  md.vocab_size = cfg.integer("vocab_size", 1);
  if (const json::Value* v = cfg.find("max_chars")) {
    md.max_chars = cfg.integer_value("max_chars", *v, 1);
  }
  if (const json::Value* v = cfg.find("drop_token_id"); v && !v->is_null()) {
    md.drop_token_id = cfg.integer_value("drop_token_id", *v, 0);
  }
}

}  // namespace

ModelDir read_model_dir(const std::string& path) {
  if (!is_dir(path)) throw MissingFile("model directory not found: " + path);
  ModelDir md;
  md.path = path;
  md.onnx_path = path + "/model.onnx";
  const std::string config_path = path + "/fastsbert.json";
  if (!is_file(config_path)) {
    throw MissingFile("model directory " + path + " has no fastsbert.json (" + config_path +
                      "; export the model with `fastsbert export`)");
  }

  json::Value root;
  try {
    root = json::parse_file(config_path);
  } catch (const json::ParseError& e) {
    throw CorruptFile(std::string("corrupt ") + e.what());  // the message starts with the path
  } catch (const std::exception& e) {
    throw Error(e.what());  // unreadable (permissions, I/O): names the path
  }
  const ConfigReader cfg(config_path, root);
  ModelConfig& c = md.config;
  if (const json::Value* v = cfg.find("engine")) {
    if (!v->is_string() || (v->as_string() != "onnx" && v->as_string() != "static")) {
      cfg.bad("engine", *v, "\"onnx\" or \"static\"");
    }
    c.engine = v->as_string();
  }
  const bool is_static = c.engine == "static";
  if (const json::Value* v = cfg.find("word_tokenizer"); v && !v->is_null()) {
    if (is_static) cfg.fail("a static model takes no \"word_tokenizer\" (it reads tokenizer.json)");
    read_word_tokenizer(cfg, *v, md);
  }
  if (!is_static && !is_file(md.onnx_path)) {
    throw MissingFile("model directory " + path + " has no model.onnx (" + md.onnx_path + ")");
  }
  c.dim = cfg.integer("dim", 1);
  // Static and word-tokenizer models may leave the length out, and any export may record
  // null (a StaticEmbedding or BoW stack: sentence-transformers sets no limit); transformer
  // exports always record a number.
  const bool length_optional = is_static || !md.word_tokenizer_type.empty();
  if (const json::Value* v = cfg.find("max_seq_length");
      (v && v->is_null()) || (length_optional && !v)) {
    c.max_seq_length = kNoLengthLimit;
  } else {
    c.max_seq_length = cfg.integer("max_seq_length", 1);
  }
  if (const json::Value* v = cfg.find("max_positions")) {
    c.max_positions = cfg.integer_value("max_positions", *v, 1);
    if (c.max_seq_length > c.max_positions) {
      cfg.fail("max_seq_length " + std::to_string(c.max_seq_length) +
               " exceeds max_positions " + std::to_string(c.max_positions) +
               " (the longest sequence the model's position embeddings take)");
    }
  }
  c.normalize = cfg.boolean("normalize");
  if (is_static) {
    read_static(cfg, md);
    return md;
  }
  c.pooling = cfg.string("pooling");
  c.pad_token_id = cfg.integer("pad_token_id", 0);

  const json::Value& inputs = cfg.require("inputs");
  if (!inputs.is_array() || inputs.as_array().empty()) {
    cfg.bad("inputs", inputs, "a non-empty list of input names");
  }
  for (const json::Value& name : inputs.as_array()) {
    if (!name.is_string() || !is_known_input(name.as_string())) {
      cfg.fail("key \"inputs\" holds " + describe(name) +
               ", which is not one of \"input_ids\", \"attention_mask\", \"token_type_ids\", "
               "\"prompt_length\"");
    }
    if (std::find(md.inputs.begin(), md.inputs.end(), name.as_string()) != md.inputs.end()) {
      cfg.fail("key \"inputs\" lists \"" + name.as_string() + "\" twice");
    }
    md.inputs.push_back(name.as_string());
  }
  return md;
}

}  // namespace fastsbert::engine
