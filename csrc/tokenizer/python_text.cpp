#include "tokenizer/python_text.h"

#include <algorithm>

#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace fastsbert::tok::python_text {

namespace {

}  // namespace

bool in_class(const CodeRange* table, size_t count, char32_t cp) {
  const CodeRange* end = table + count;
  const CodeRange* it = std::upper_bound(table, end, static_cast<uint32_t>(cp),
                                         [](uint32_t c, const CodeRange& r) { return c < r.first; });
  return it != table && cp <= (it - 1)->last;
}

namespace {

bool cased(char32_t cp) { return in_class(tables::kCased, tables::kCasedCount, cp); }
bool case_ignorable(char32_t cp) {
  return in_class(tables::kCaseIgnorable, tables::kCaseIgnorableCount, cp);
}

constexpr char32_t kCapitalSigma = 0x03A3, kSmallSigma = 0x03C3, kFinalSigma = 0x03C2;

// Python's rule: a cased letter before (skipping case-ignorables), none after.
bool final_sigma(const std::u32string& s, size_t at) {
  size_t j = at;
  while (j > 0 && case_ignorable(s[j - 1])) --j;
  if (j == 0 || !cased(s[j - 1])) return false;
  size_t k = at + 1;
  while (k < s.size() && case_ignorable(s[k])) ++k;
  return k == s.size() || !cased(s[k]);
}

}  // namespace

bool is_space(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  return in_class(tables::kSpace, tables::kSpaceCount, cp);
}

void split_whitespace(std::string_view text, std::vector<std::string_view>& out) {
  out.clear();
  size_t i = 0, start = std::string_view::npos;
  while (i < text.size()) {
    const size_t at = i;
    const char32_t cp = next_cp(text, i);
    if (is_space(cp)) {
      if (start != std::string_view::npos) out.push_back(text.substr(start, at - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = at;
    }
  }
  if (start != std::string_view::npos) out.push_back(text.substr(start));
}

std::string lower(std::string_view text) {
  std::string out;
  if (is_ascii(text)) {
    out.assign(text);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return out;
  }
  const std::u32string s = to_u32(text);
  std::u32string low;
  low.reserve(s.size());
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == kCapitalSigma) {
      low.push_back(final_sigma(s, k) ? kFinalSigma : kSmallSigma);
    } else {
      unicode::append_lower(s[k], low);
    }
  }
  return to_utf8(low);
}

std::string_view strip_ascii_punctuation(std::string_view text) {
  const auto punct = [](char c) {
    return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
           (c >= '{' && c <= '~');
  };
  size_t b = 0, e = text.size();
  while (b < e && punct(text[b])) ++b;
  while (e > b && punct(text[e - 1])) --e;
  return text.substr(b, e - b);
}

}  // namespace fastsbert::tok::python_text
