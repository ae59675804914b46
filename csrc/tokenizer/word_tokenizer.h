// Word tokenizers of models whose first module is WordEmbeddings or BoW: the ids
// sentence-transformers' WhitespaceTokenizer gives, read from the config file it saves
// (whitespacetokenizer_config.json: vocab, stop_words, do_lower_case). No special tokens;
// a text with no known word has no ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fastsbert/cancel.h"

namespace fastsbert::tok {

class WordTokenizer {
 public:
  // Loads the config of a tokenizer of `type` ("whitespace"). Throws MissingFile /
  // CorruptFile naming the file, UnsupportedTokenizer for another type.
  static WordTokenizer from_file(const std::string& path, const std::string& type);

  // Appends the ids of one text (valid UTF-8) to `out`.
  void encode(std::string_view text, std::vector<int64_t>& out) const;

  // Ids of a batch in CSR form, each cut to max_length ids (0: uncut), over `threads`
  // threads; invalid UTF-8 throws InvalidArgument naming the text.
  void encode_batch_csr(const std::vector<std::string_view>& texts, std::vector<int64_t>& ids,
                        std::vector<int64_t>& offsets, size_t max_length, int threads,
                        const CancelToken* cancel) const;

  size_t vocab_size() const { return vocab_size_; }

 private:
  // The id of `word`, -1 for an unknown word, -2 for a stop word.
  int64_t lookup(std::string_view word) const;

  std::unordered_map<std::string, int64_t> word_ids_;
  std::unordered_set<std::string> stop_words_;
  bool lower_case_ = false;
  size_t vocab_size_ = 0;
};

}  // namespace fastsbert::tok
