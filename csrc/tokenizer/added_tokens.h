// Added tokens (tokenizer.json's added_tokens): strings matched in the text before the
// model sees it, each mapped straight to its id. Tokens marked `normalized` are matched in
// the normalized text, the others in the raw text (as HF's AddedVocabulary does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/json.h"
#include "tokenizer/pipeline.h"

namespace fastsbert::tok {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

// Leftmost-longest matcher over a byte trie.
class AddedMatcher {
 public:
  void add(std::string_view pattern, size_t token_index);
  bool empty() const { return nodes_.empty(); }
  // Longest pattern starting at s[i]: sets len and returns the token index, or -1.
  int32_t longest_at(std::string_view s, size_t i, size_t& len) const;

 private:
  std::vector<int32_t> nodes_;
  std::unordered_map<uint64_t, uint32_t> children_;
  bool first_[256] = {};
};

// Bytes [begin, end) of a text: an added token (id >= 0) or text to tokenize (id == -1).
struct Segment {
  size_t begin, end;
  int32_t id;
};

class AddedVocabulary {
 public:
  // Reads the added_tokens list, assigning ids the way AddedVocabulary::add_tokens does
  // (an existing added token, then the model's vocabulary, then the next free id), and
  // normalizes the `normalized` tokens with `normalizer` (may be null).
  void load(const json::Value& list, const Model& model, const Normalizer* normalizer);

  // The id of an added token, or -1.
  int64_t token_to_id(std::string_view token) const;

  // Splits s around the added tokens matched in raw text (split_raw) or in normalized
  // text (split_normalized); AddedVocabulary::find_matches in HF tokenizers.
  void split_raw(std::string_view s, std::vector<Segment>& out) const { split(s, raw_, out); }
  void split_normalized(std::string_view s, std::vector<Segment>& out) const {
    split(s, normalized_, out);
  }

 private:
  void split(std::string_view s, const AddedMatcher& m, std::vector<Segment>& out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, int32_t> ids_;
  AddedMatcher raw_, normalized_;
};

}  // namespace fastsbert::tok
