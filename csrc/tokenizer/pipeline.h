// The stages of a Hugging Face tokenizer.json pipeline, in the order text flows through
// them: added-token extraction -> normalizer -> pre-tokenizer -> model -> truncation ->
// post-processor. Only token ids are produced (no offsets), which lets every stage work
// on plain UTF-8 strings.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/json.h"
#include "tokenizer/vocab_map.h"

namespace fastsbert::tok {

// A tokenizer.json component this implementation does not reproduce.
class Unsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Text after normalization. `origin` is true while the first byte still corresponds to
// the start of the original input (Metaspace's prepend_scheme "first" depends on it).
struct NormText {
  std::string s;
  bool origin = true;
};

// A pre-token: bytes [off, off + len) of Workspace::arena.
struct Piece {
  uint32_t off = 0;
  uint32_t len = 0;
  bool origin = false;
};

// Per-thread scratch space, reused across texts.
struct Workspace {
  std::string arena;
  std::vector<Piece> pieces, scratch;
  std::u32string u32a, u32b;
  std::string tmp;
  std::unordered_map<std::string, std::vector<int32_t>> bpe_cache;
};

// ------------------------------------------------------------------- normalizers
class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormText& t, Workspace& ws) const = 0;
};
std::unique_ptr<Normalizer> make_normalizer(const json::Value& v);

// ------------------------------------------------------------------ pre-tokenizers
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces ws.pieces with its pre-tokens (new text, if any, is appended to ws.arena).
  virtual void pre_tokenize(Workspace& ws) const = 0;
};
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json::Value& v);

// ------------------------------------------------------------------------ models
class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one pre-token.
  virtual void tokenize(std::string_view word, std::vector<int32_t>& out, Workspace& ws) const = 0;
  virtual int64_t token_to_id(std::string_view token) const = 0;  // -1 when absent
  virtual size_t vocab_size() const = 0;
};
std::unique_ptr<Model> make_model(const json::Value& v);

// ------------------------------------------------------------------ post-processor
// For a single sequence every supported post-processor is "prefix ids, the sequence,
// suffix ids"; a Sequence of processors nests them. A pair is "pair_prefix, sequence A,
// pair_middle, sequence B, pair_suffix", each part with its token type id.
struct Specials {
  std::vector<int32_t> ids;
  std::vector<int32_t> types;  // one per id
  void add(int32_t id, int32_t type) {
    ids.push_back(id);
    types.push_back(type);
  }
};
struct PostProcessor {
  std::vector<int32_t> prefix, suffix;
  size_t added() const { return prefix.size() + suffix.size(); }

  // The pair template; empty `pair_error` means it is known.
  Specials pair_prefix, pair_middle, pair_suffix;
  int32_t type_a = 0, type_b = 1;
  std::string pair_error;
  size_t pair_added() const {
    return pair_prefix.ids.size() + pair_middle.ids.size() + pair_suffix.ids.size();
  }
};
PostProcessor make_post_processor(const json::Value& v);

}  // namespace fastsbert::tok
