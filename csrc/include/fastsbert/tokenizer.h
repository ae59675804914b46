// fastsbert::Tokenizer: a native reader of Hugging Face tokenizer.json files that gives
// the same token ids as the `tokenizers` library (special tokens added, the file's
// truncation applied, no padding).
//
// Supported components: normalizers BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase,
// StripAccents, Strip, Replace (string pattern), Prepend, Nmt, ByteLevel, Sequence;
// pre-tokenizers BertPreTokenizer, ByteLevel, Whitespace, WhitespaceSplit, Metaspace,
// Punctuation, Digits, Split (string pattern), CharDelimiterSplit, Sequence; models
// WordPiece, BPE, Unigram, WordLevel; post-processors TemplateProcessing,
// BertProcessing, RobertaProcessing, ByteLevel, Sequence (single texts and pairs); added
// tokens; truncation.
// Anything else makes from_file throw UnsupportedTokenizer naming the component.
//
// This header exposes no ONNX Runtime or Python types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fastsbert/encoder.h"

namespace fastsbert {

// The file is valid but uses a component (named in what()) this tokenizer does not
// reproduce; callers may fall back to another implementation.
class UnsupportedTokenizer : public Error {
 public:
  using Error::Error;
};

class Tokenizer {
 public:
  // Loads a tokenizer.json. Throws UnsupportedTokenizer for unsupported components,
  // MissingFile when there is no such file, and CorruptFile (naming the path) for a
  // malformed file or one whose vocabulary lacks the model's unknown token.
  static Tokenizer from_file(const std::string& path);
  // Same, from the file's contents.
  static Tokenizer from_json(std::string_view json_text);

  // Token ids of one text. max_length 0 applies the file's truncation (if any);
  // otherwise sequences are cut to max_length tokens, special tokens included, the way
  // the file's truncation would be. Throws InvalidArgument for invalid UTF-8.
  std::vector<int64_t> encode(std::string_view text, size_t max_length = 0) const;

  // Tokenizes a batch into CSR form: the ids of text i are ids[offsets[i] .. offsets[i+1]).
  // `ids` and `offsets` are replaced. Work is split over texts on `threads` threads (0:
  // available_cpus(); capped at it; negative: InvalidArgument). Errors from worker threads
  // (e.g. invalid UTF-8, naming the text's index) are rethrown here. When `cancel` is set
  // and cancelled, the call stops between blocks of texts and throws Cancelled.
  void encode_batch_csr(const std::vector<std::string_view>& texts, std::vector<int64_t>& ids,
                        std::vector<int64_t>& offsets, size_t max_length = 0, int threads = 0,
                        const CancelToken* cancel = nullptr) const;

  // Pairs (text_a, text_b), as `tokenizers` encodes them for a cross-encoder: both texts
  // tokenized, cut together to max_length tokens (special tokens included; 0: the file's
  // truncation) by the file's truncation strategy (longest_first: the longer one gives up
  // tokens first), then joined by the post-processor's pair template. Writes CSR ids and
  // their token type ids (same offsets). Throws InvalidArgument when the two lists differ
  // in length or a text is not valid UTF-8 (naming the pair), Error when the
  // post-processor has no pair template (pair_unavailable_reason() says why); threads
  // and cancel as encode_batch_csr.
  void encode_pair_batch_csr(const std::vector<std::string_view>& first,
                             const std::vector<std::string_view>& second,
                             std::vector<int64_t>& ids, std::vector<int64_t>& type_ids,
                             std::vector<int64_t>& offsets, size_t max_length = 0,
                             int threads = 0, const CancelToken* cancel = nullptr) const;
  // Number of special tokens the post-processor adds to a pair.
  size_t num_special_tokens_pair() const;
  // Why pairs cannot be encoded ("" when they can).
  const std::string& pair_unavailable_reason() const;

  // The file's truncation max_length, or 0 when the file has no truncation.
  size_t truncation_max_length() const;
  // Number of special tokens the post-processor adds to a single sequence.
  size_t num_special_tokens() const;
  // Id of a token in the model vocabulary or added tokens, or -1.
  int64_t token_to_id(std::string_view token) const;
  // The padding id of the file's padding section, or -1 when it has none.
  int64_t pad_token_id() const;

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace fastsbert
