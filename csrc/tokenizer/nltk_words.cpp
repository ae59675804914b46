#include "tokenizer/nltk_words.h"

#include "tokenizer/python_text.h"
#include "tokenizer/utf8.h"

namespace fastsbert::tok {

namespace {

using Text = std::u32string;
namespace pt = python_text;
namespace tb = python_text::tables;

// Character classes of the `regex` package (most patterns) and of `re` (contractions).
bool rx_word(char32_t c) { return pt::in_class(tb::kRegexWord, tb::kRegexWordCount, c); }
bool rx_space(char32_t c) { return pt::in_class(tb::kRegexSpace, tb::kRegexSpaceCount, c); }
bool rx_digit(char32_t c) { return pt::in_class(tb::kRegexDigit, tb::kRegexDigitCount, c); }
bool re_word(char32_t c) { return pt::in_class(tb::kReWord, tb::kReWordCount, c); }

bool folds_to(const pt::CaseFold* table, size_t count, char32_t c, char letter) {
  for (size_t k = 0; k < count; ++k) {
    if (table[k].cp == c && table[k].letter == letter) return true;
  }
  return false;
}

// Case-insensitive match of `c` with the ASCII character `want` under either engine.
bool same_ci(char32_t c, char want, bool regex_engine) {
  if (c == static_cast<char32_t>(want)) return true;
  if (want < 'a' || want > 'z') return false;
  if (c == static_cast<char32_t>(want - 32)) return true;
  if (c < 0x80) return false;
  return regex_engine ? folds_to(tb::kRegexFold, tb::kRegexFoldCount, c, want)
                      : folds_to(tb::kReFold, tb::kReFoldCount, c, want);
}

bool match_ci(const Text& s, size_t at, std::string_view lit, bool regex_engine) {
  if (at + lit.size() > s.size()) return false;
  for (size_t k = 0; k < lit.size(); ++k) {
    if (!same_ci(s[at + k], lit[k], regex_engine)) return false;
  }
  return true;
}

bool match_exact(const Text& s, size_t at, std::string_view lit) {
  if (at + lit.size() > s.size()) return false;
  for (size_t k = 0; k < lit.size(); ++k) {
    if (s[at + k] != static_cast<char32_t>(static_cast<unsigned char>(lit[k]))) return false;
  }
  return true;
}

// \b at `at`: a word character on exactly one side.
template <class IsWord>
bool boundary(const Text& s, size_t at, IsWord is_word) {
  const bool before = at > 0 && is_word(s[at - 1]);
  const bool after = at < s.size() && is_word(s[at]);
  return before != after;
}

bool one_of(char32_t c, std::u32string_view set) { return set.find(c) != std::u32string_view::npos; }

void padded(Text& out, char32_t c) {
  out.push_back(' ');
  out.push_back(c);
  out.push_back(' ');
}

// Each character of `set` surrounded by spaces.
Text pad_each(const Text& s, std::u32string_view set) {
  Text out;
  out.reserve(s.size() + 16);
  for (char32_t c : s) {
    if (one_of(c, set)) padded(out, c);
    else out.push_back(c);
  }
  return out;
}

// Non-overlapping occurrences of `lit` replaced by `with`.
Text replace_all(const Text& s, std::u32string_view lit, std::u32string_view with) {
  Text out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, lit.size(), lit) == 0) {
      out.append(with);
      i += lit.size();
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// Runs of `c` of at least `min_run` characters surrounded by spaces.
Text pad_runs(const Text& s, char32_t c, size_t min_run) {
  Text out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {
    if (s[i] != c) {
      out.push_back(s[i++]);
      continue;
    }
    size_t j = i;
    while (j < s.size() && s[j] == c) ++j;
    if (j - i >= min_run) out.push_back(' ');
    out.append(s, i, j - i);
    if (j - i >= min_run) out.push_back(' ');
    i = j;
  }
  return out;
}

// The final period: a non-period, a period, closing characters of `closers`, then only
// whitespace to the end. `spaced` puts a space between the period and the closers.
Text final_period(const Text& s, std::u32string_view closers, bool spaced) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == '.' || s[i + 1] != '.') continue;
    size_t j = i + 2;
    while (j < s.size() && one_of(s[j], closers)) ++j;
    size_t k = j;
    while (k < s.size() && rx_space(s[k])) ++k;
    if (k != s.size()) continue;
    Text out = s.substr(0, i + 1);
    out += U" .";
    if (spaced) out.push_back(' ');
    out.append(s, i + 2, j - i - 2);
    out.push_back(' ');
    return out;
  }
  return s;
}

Text starting_quotes(Text s) {
  Text out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {  // «“‘„ and runs of backticks
    if (one_of(s[i], U"\u00AB\u201C\u2018\u201E")) {
      padded(out, s[i++]);
    } else if (s[i] == '`') {
      size_t j = i;
      while (j < s.size() && s[j] == '`') ++j;
      out.push_back(' ');
      out.append(s, i, j - i);
      out.push_back(' ');
      i = j;
    } else {
      out.push_back(s[i++]);
    }
  }
  s.swap(out);
  if (!s.empty() && s[0] == '"') s.replace(0, 1, U"``");
  s = replace_all(s, U"``", U" `` ");
  out.clear();
  for (size_t i = 0; i < s.size();) {  // an opening " or '' after a space or bracket
    if (one_of(s[i], U" ([{<") && i + 1 < s.size() &&
        (s[i + 1] == '"' || (s[i + 1] == '\'' && i + 2 < s.size() && s[i + 2] == '\''))) {
      out.push_back(s[i]);
      out += U" `` ";
      i += s[i + 1] == '"' ? 2 : 3;
    } else {
      out.push_back(s[i++]);
    }
  }
  s.swap(out);
  out.clear();
  // An opening single quote: not after a word character, before one, and not the start of
  // a clitic ('re 've 'll 'm 't 's 'd 'n as a whole word).
  static constexpr std::string_view kClitics[] = {"re", "ve", "ll", "m", "t", "s", "d", "n"};
  for (size_t i = 0; i < s.size(); ++i) {
    out.push_back(s[i]);
    if (s[i] != '\'' || (i > 0 && rx_word(s[i - 1])) || i + 1 >= s.size() || !rx_word(s[i + 1])) {
      continue;
    }
    bool clitic = false;
    for (std::string_view c : kClitics) {
      if (match_ci(s, i + 1, c, true) && boundary(s, i + 1 + c.size(), rx_word)) clitic = true;
    }
    if (!clitic) out.push_back(' ');
  }
  return out;
}

Text punctuation(Text s) {
  s = final_period(s, U"])}>\"'\u00BB\u201D\u2019 ", true);
  Text out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {  // : and , before a non-digit
    if ((s[i] == ':' || s[i] == ',') && i + 1 < s.size() && !rx_digit(s[i + 1])) {
      padded(out, s[i]);
      out.push_back(s[i + 1]);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  s.swap(out);
  // : or , at the end (`$` also matches before a final newline)
  const size_t n = s.size();
  size_t at = std::u32string::npos;
  if (n >= 1 && (s[n - 1] == ':' || s[n - 1] == ',')) at = n - 1;
  else if (n >= 2 && s[n - 1] == '\n' && (s[n - 2] == ':' || s[n - 2] == ',')) at = n - 2;
  if (at != std::u32string::npos) s.replace(at, 1, Text{' ', s[at], ' '});
  s = pad_runs(s, '.', 2);
  s = pad_each(s, U";@#$%&\u2012\u2013\u2014\u2015");
  s = final_period(s, U"])}>\"'", false);
  s = pad_each(s, U"?!");
  out.clear();
  for (size_t i = 0; i < s.size();) {  // a closing ' before a space
    if (s[i] != '\'' && i + 2 < s.size() && s[i + 1] == '\'' && s[i + 2] == ' ') {
      out.push_back(s[i]);
      out += U" ' ";
      i += 3;
    } else {
      out.push_back(s[i++]);
    }
  }
  return pad_each(out, U"*");
}

Text ending_quotes(Text s) {
  s = pad_each(s, U"\u00BB\u201D\u2019");
  s = replace_all(s, U"''", U" '' ");
  s = replace_all(s, U"\"", U" '' ");
  Text out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (rx_space(s[i])) {
      while (i < s.size() && rx_space(s[i])) ++i;
      out.push_back(' ');
    } else {
      out.push_back(s[i++]);
    }
  }
  s.swap(out);
  out.clear();
  const auto word_end = [&](size_t i) { return s[i] != '\'' && s[i] != ' '; };
  for (size_t i = 0; i < s.size();) {  // 's 'm 'd and a bare ' before a space
    if (word_end(i) && i + 2 < s.size() && s[i + 1] == '\'') {
      if (i + 3 < s.size() && one_of(s[i + 2], U"sSmMdD") && s[i + 3] == ' ') {
        out.push_back(s[i]);
        out += U" '";
        out.push_back(s[i + 2]);
        out.push_back(' ');
        i += 4;
        continue;
      }
      if (s[i + 2] == ' ') {
        out.push_back(s[i]);
        out += U" ' ";
        i += 3;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  s.swap(out);
  out.clear();
  static constexpr std::string_view kClitics[] = {"'ll", "'LL", "'re", "'RE", "'ve", "'VE", "n't", "N'T"};
  for (size_t i = 0; i < s.size();) {
    bool hit = false;
    if (word_end(i) && i + 4 < s.size() && s[i + 4] == ' ') {
      for (std::string_view c : kClitics) hit = hit || match_exact(s, i + 1, c);
    }
    if (hit) {
      out.push_back(s[i]);
      out.push_back(' ');
      out.append(s, i + 1, 3);
      out.push_back(' ');
      i += 5;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// One contraction pattern of `re`: [leading space] first second, then a word boundary
// (or whitespace, for `space_after`), split into " first second ".
Text split_contraction(const Text& s, bool leading_space, std::string_view first,
                       std::string_view second, bool space_after) {
  Text out;
  out.reserve(s.size() + 16);
  for (size_t i = 0; i < s.size();) {
    size_t a = i;
    bool ok = true;
    if (leading_space) {
      ok = s[i] == ' ';
      ++a;
    } else {
      ok = boundary(s, i, re_word);
    }
    const size_t b = a + first.size(), e = b + second.size();
    ok = ok && match_ci(s, a, first, false) && match_ci(s, b, second, false);
    if (ok) {
      ok = space_after ? (e < s.size() && pt::is_space(s[e])) : boundary(s, e, re_word);
    }
    if (!ok) {
      out.push_back(s[i++]);
      continue;
    }
    out.push_back(' ');
    out.append(s, a, b - a);
    out.push_back(' ');
    out.append(s, b, e - b);
    out.push_back(' ');
    i = e;
  }
  return out;
}

Text contractions(Text s) {
  struct Pair {
    std::string_view first, second;
  };
  static constexpr Pair kTwoWords[] = {{"can", "not"}, {"d", "'ye"}, {"gim", "me"}, {"gon", "na"},
                                       {"got", "ta"},  {"lem", "me"}, {"more", "'n"}};
  for (const Pair& p : kTwoWords) s = split_contraction(s, false, p.first, p.second, false);
  s = split_contraction(s, false, "wan", "na", true);
  s = split_contraction(s, true, "'t", "is", false);
  s = split_contraction(s, true, "'t", "was", false);
  return s;
}

}  // namespace

std::vector<std::string> nltk_word_tokenize(std::string_view text) {
  Text s = starting_quotes(to_u32(text));
  s = punctuation(std::move(s));
  s = pad_each(s, U"[](){}<>");
  s = replace_all(s, U"--", U" -- ");
  s = U" " + s + U" ";
  s = contractions(ending_quotes(std::move(s)));
  std::vector<std::string> words;
  for (size_t i = 0; i < s.size();) {
    if (pt::is_space(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !pt::is_space(s[j])) ++j;
    words.push_back(to_utf8(s.substr(i, j - i)));
    i = j;
  }
  return words;
}

}  // namespace fastsbert::tok
