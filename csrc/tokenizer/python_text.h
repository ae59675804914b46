// Python's str.split() and str.lower(), for the word tokenizers, whose ids must match
// sentence-transformers' Python ones. The character classes are generated from Python
// (python_text_tables.cpp, scripts/gen_python_text_tables.py).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fastsbert::tok::python_text {

struct CodeRange {
  uint32_t first, last;  // inclusive
};

// A non-ASCII code point that a regex engine's case-insensitive matching equates with an
// ASCII lowercase letter.
struct CaseFold {
  uint32_t cp;
  char letter;
};

namespace tables {
extern const CodeRange kSpace[];
extern const size_t kSpaceCount;
extern const CodeRange kCased[];
extern const size_t kCasedCount;
extern const CodeRange kCaseIgnorable[];
extern const size_t kCaseIgnorableCount;
extern const CodeRange kRegexWord[], kRegexSpace[], kRegexDigit[], kReWord[];
extern const size_t kRegexWordCount, kRegexSpaceCount, kRegexDigitCount, kReWordCount;
extern const CaseFold kRegexFold[], kReFold[];
extern const size_t kRegexFoldCount, kReFoldCount;
}  // namespace tables

// str.isspace() of one code point.
bool is_space(char32_t cp);

// Membership of a code point in a generated class.
bool in_class(const CodeRange* table, size_t count, char32_t cp);

// str.split() with no argument: the pieces of valid UTF-8 `text` between runs of spaces.
void split_whitespace(std::string_view text, std::vector<std::string_view>& out);

// str.lower() of valid UTF-8: full lowercase mappings, and capital sigma in the
// final-sigma context as Python decides it.
std::string lower(std::string_view text);

// str.strip(string.punctuation): ASCII punctuation removed from both ends.
std::string_view strip_ascii_punctuation(std::string_view text);

}  // namespace fastsbert::tok::python_text
