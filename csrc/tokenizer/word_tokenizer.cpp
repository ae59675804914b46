#include "tokenizer/word_tokenizer.h"

#include <algorithm>

#include "common/json.h"
#include "common/parallel.h"
#include "fastsbert/tokenizer.h"
#include "tokenizer/nltk_words.h"
#include "tokenizer/python_text.h"
#include "tokenizer/utf8.h"

namespace fastsbert::tok {

namespace {

constexpr int64_t kUnknown = -1, kStopWord = -2;

std::vector<std::string> string_list(const json::Value& root, std::string_view key,
                                     const std::string& path) {
  const json::Value* v = root.find(key);
  if (!v) return {};
  if (!v->is_array()) {
    throw CorruptFile("corrupt " + path + ": \"" + std::string(key) + "\" must be a list of strings");
  }
  std::vector<std::string> out;
  out.reserve(v->as_array().size());
  for (const json::Value& item : v->as_array()) {
    if (!item.is_string()) {
      throw CorruptFile("corrupt " + path + ": \"" + std::string(key) +
                        "\" must be a list of strings");
    }
    out.push_back(item.as_string());
  }
  return out;
}

// Python's str.count: non-overlapping occurrences of non-empty `sep`.
size_t count_of(std::string_view word, std::string_view sep) {
  size_t n = 0;
  for (size_t at = word.find(sep); at != std::string_view::npos; at = word.find(sep, at + sep.size())) ++n;
  return n;
}

}  // namespace

// PhraseTokenizer's phrases: vocabulary words holding the separator (never doubled) that
// join at most max_ngram_length words.
void WordTokenizer::read_phrases(const json::Value& root, const std::string& path,
                                 const std::vector<std::string>& vocab, WordTokenizer& t) {
  t.phrase_ = true;
  t.ngram_separator_ = "_";
  if (const json::Value* v = root.find("ngram_separator")) {
    if (v->is_null()) t.ngram_separator_.clear();
    else if (v->is_string()) t.ngram_separator_ = v->as_string();
    else throw CorruptFile("corrupt " + path + ": \"ngram_separator\" must be a string or null");
  }
  double max_length = 5;
  if (const json::Value* v = root.find("max_ngram_length")) {
    if (!v->is_number()) throw CorruptFile("corrupt " + path + ": \"max_ngram_length\" must be a number");
    max_length = v->as_double();
  }
  const std::string& sep = t.ngram_separator_;
  if (sep.empty()) return;  // "" joins nothing: every word holds it doubled
  std::unordered_set<size_t> lengths;
  for (const std::string& word : vocab) {
    const size_t words = count_of(word, sep) + 1;
    if (words < 2 || word.find(sep + sep) != std::string::npos ||
        static_cast<double>(words) > max_length) {
      continue;
    }
    t.phrases_.insert(word);
    lengths.insert(words);
  }
  t.phrase_lengths_.assign(lengths.begin(), lengths.end());
  std::sort(t.phrase_lengths_.rbegin(), t.phrase_lengths_.rend());
}

WordTokenizer WordTokenizer::from_file(const std::string& path, const std::string& type) {
  if (type != "whitespace" && type != "phrase") {
    throw UnsupportedTokenizer(path + ": the native tokenizer runs WhitespaceTokenizer and "
                               "PhraseTokenizer; word tokenizer type \"" + type +
                               "\" is not supported");
  }
  json::Value root;
  try {
    root = json::parse_file(path);
  } catch (const json::ParseError& e) {
    throw CorruptFile(std::string("corrupt ") + e.what());
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
  if (!root.is_object()) throw CorruptFile("corrupt " + path + ": expected a JSON object");
  WordTokenizer t;
  const std::vector<std::string> vocab = string_list(root, "vocab", path);
  t.vocab_size_ = vocab.size();
  t.word_ids_.reserve(vocab.size());
  // Python's dict keeps the last index of a repeated word.
  for (size_t i = 0; i < vocab.size(); ++i) t.word_ids_[vocab[i]] = static_cast<int64_t>(i);
  for (std::string& w : string_list(root, "stop_words", path)) t.stop_words_.insert(std::move(w));
  if (const json::Value* v = root.find("do_lower_case")) {
    if (!v->is_bool()) throw CorruptFile("corrupt " + path + ": \"do_lower_case\" must be true or false");
    t.lower_case_ = v->as_bool();
  }
  if (type == "phrase") read_phrases(root, path, vocab, t);
  return t;
}

int64_t WordTokenizer::lookup(std::string_view word) const {
  const std::string key(word);
  if (stop_words_.count(key)) return kStopWord;
  const auto it = word_ids_.find(key);
  return it == word_ids_.end() ? kUnknown : it->second;
}

void WordTokenizer::encode(std::string_view text, std::vector<int64_t>& out) const {
  if (phrase_) encode_phrase(text, out);
  else encode_whitespace(text, out);
}

void WordTokenizer::merge_phrases(std::vector<std::string>& tokens) const {
  std::string joined;
  for (size_t n : phrase_lengths_) {
    for (size_t i = 0; i + n <= tokens.size(); ++i) {
      joined = tokens[i];
      for (size_t k = 1; k < n; ++k) joined.append(ngram_separator_).append(tokens[i + k]);
      std::string merged;
      if (phrases_.count(joined)) {
        merged = joined;
      } else {
        std::string lowered = python_text::lower(joined);
        if (!phrases_.count(lowered)) continue;
        merged = std::move(lowered);
      }
      tokens[i] = std::move(merged);
      tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(i + 1),
                   tokens.begin() + static_cast<std::ptrdiff_t>(i + n));
    }
  }
}

void WordTokenizer::encode_phrase(std::string_view text, std::vector<int64_t>& out) const {
  // PhraseTokenizer neither lowercases the text (do_lower_case is kept, unused) nor
  // strips before the lowercase lookup: the word as is, lowercased, then stripped of ASCII
  // punctuation; a stop word at any step drops the word.
  std::vector<std::string> tokens = nltk_word_tokenize(text);
  merge_phrases(tokens);
  for (const std::string& token : tokens) {
    int64_t id = lookup(token);
    if (id == kUnknown) {
      const std::string lowered = python_text::lower(token);
      id = lookup(lowered);
      if (id == kUnknown) {
        const std::string_view stripped = python_text::strip_ascii_punctuation(lowered);
        id = lookup(stripped);
        if (stripped.empty() && id >= 0) id = kUnknown;
      }
    }
    if (id >= 0) out.push_back(id);
  }
}

void WordTokenizer::encode_whitespace(std::string_view text, std::vector<int64_t>& out) const {
  std::string lowered;
  if (lower_case_) {
    lowered = python_text::lower(text);
    text = lowered;
  }
  std::vector<std::string_view> words;
  python_text::split_whitespace(text, words);
  // sentence-transformers' order: the word as is, without ASCII punctuation at its ends,
  // then that lowercased; a stop word at any step drops the word.
  for (std::string_view word : words) {
    int64_t id = lookup(word);
    if (id == kUnknown) {
      word = python_text::strip_ascii_punctuation(word);
      id = word.empty() ? kUnknown : lookup(word);
      if (id == kUnknown) id = lookup(python_text::lower(word));
    }
    if (id >= 0) out.push_back(id);
  }
}

void WordTokenizer::encode_batch_csr(const std::vector<std::string_view>& texts,
                                     std::vector<int64_t>& ids, std::vector<int64_t>& offsets,
                                     size_t max_length, int threads,
                                     const CancelToken* cancel) const {
  const size_t n = texts.size();
  constexpr size_t kTextsPerBlock = 256;
  const size_t blocks = (n + kTextsPerBlock - 1) / kTextsPerBlock;
  struct Block {
    std::vector<int64_t> ids;
    std::vector<int64_t> lengths;
  };
  std::vector<Block> done(blocks);
  parallel_for(blocks, threads, cancel, [&](size_t b, size_t) {
    Block& blk = done[b];
    for (size_t i = b * kTextsPerBlock; i < std::min(n, (b + 1) * kTextsPerBlock); ++i) {
      const size_t bad = find_invalid_utf8(texts[i]);
      if (bad != std::string_view::npos) {
        throw InvalidArgument("text " + std::to_string(i) + ": invalid UTF-8 at byte " +
                              std::to_string(bad));
      }
      const size_t before = blk.ids.size();
      encode(texts[i], blk.ids);
      if (max_length > 0 && blk.ids.size() - before > max_length) blk.ids.resize(before + max_length);
      blk.lengths.push_back(static_cast<int64_t>(blk.ids.size() - before));
    }
  });
  ids.clear();
  offsets.assign(1, 0);
  for (const Block& blk : done) {
    ids.insert(ids.end(), blk.ids.begin(), blk.ids.end());
    for (int64_t len : blk.lengths) offsets.push_back(offsets.back() + len);
  }
}

}  // namespace fastsbert::tok
