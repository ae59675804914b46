// Word tokenizers of models whose first module is WordEmbeddings or BoW: the ids
// sentence-transformers' WhitespaceTokenizer or PhraseTokenizer gives, read from the config
// file it saves (whitespacetokenizer_config.json: vocab, stop_words, do_lower_case;
// phrasetokenizer_config.json adds ngram_separator and max_ngram_length). No special
// tokens; a text with no known word has no ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fastsbert/cancel.h"

namespace fastsbert::json {
class Value;
}

namespace fastsbert::tok {

class WordTokenizer {
 public:
  // Loads the config of a tokenizer of `type` ("whitespace" or "phrase"). Throws MissingFile /
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
  void encode_whitespace(std::string_view text, std::vector<int64_t>& out) const;
  void encode_phrase(std::string_view text, std::vector<int64_t>& out) const;
  // Greedy merge of vocabulary phrases, longest first, as PhraseTokenizer does.
  void merge_phrases(std::vector<std::string>& tokens) const;
  static void read_phrases(const json::Value& root, const std::string& path,
                           const std::vector<std::string>& vocab, WordTokenizer& t);

  std::unordered_map<std::string, int64_t> word_ids_;
  std::unordered_set<std::string> stop_words_;
  bool lower_case_ = false;
  bool phrase_ = false;
  std::string ngram_separator_;  // empty: no phrases
  std::unordered_set<std::string> phrases_;
  std::vector<size_t> phrase_lengths_;  // in words, longest first
  size_t vocab_size_ = 0;
};

}  // namespace fastsbert::tok
