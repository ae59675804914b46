// NLTK's word splitting as sentence-transformers' PhraseTokenizer calls it
// (nltk.word_tokenize(text, preserve_line=True): no sentence splitting). NLTK's tokenizer
// is a fixed sequence of regular-expression substitutions (starting quotes, punctuation,
// brackets, double dashes, ending quotes, contractions) followed by str.split(); each step
// is written here as a scan with the same matching rules, and the character classes its
// patterns use (\w, \s, \d and case-insensitive letters, of the `regex` package for most
// patterns and of `re` for the contractions) come from the generated tables in
// python_text_tables.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fastsbert::tok {

// The words of valid UTF-8 `text`, as nltk.word_tokenize(text, preserve_line=True) gives
// them (double quotes become `` and '').
std::vector<std::string> nltk_word_tokenize(std::string_view text);

}  // namespace fastsbert::tok
