#include "tokenizer/unicode.h"

#include <algorithm>

namespace fastsbert::tok::unicode {
namespace {

// Hangul syllable arithmetic (The Unicode Standard, section 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void append_pool(uint32_t idx, std::u32string& out) {
  const uint32_t* p = tables::kPool + idx;
  out.append(reinterpret_cast<const char32_t*>(p + 1), p[0]);
}

void decompose(const std::u32string& in, bool compat, std::u32string& out) {
  out.clear();
  out.reserve(in.size());
  for (char32_t c : in) {
    if (c >= kSBase && c < kSBase + kSCount) {
      const char32_t s = c - kSBase;
      out.push_back(kLBase + s / kNCount);
      out.push_back(kVBase + (s % kNCount) / kTCount);
      if (s % kTCount) out.push_back(kTBase + s % kTCount);
      continue;
    }
    const auto& r = record(c);
    const uint32_t idx = compat ? r.nfkd : r.nfd;
    if (idx) {
      append_pool(idx, out);
    } else {
      out.push_back(c);
    }
  }
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  size_t i = 0;
  while (i < out.size()) {
    if (ccc(out[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < out.size() && ccc(out[j]) != 0) ++j;
    if (j - i > 1) {
      std::stable_sort(out.begin() + i, out.begin() + j,
                       [](char32_t a, char32_t b) { return ccc(a) < ccc(b); });
    }
    i = j;
  }
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const auto* begin = tables::kCompositions;
  const auto* end = begin + tables::kCompositionCount;
  const auto* it = std::lower_bound(begin, end, std::make_pair(a, b),
                                    [](const tables::Composition& c, std::pair<char32_t, char32_t> k) {
                                      return c.first < k.first ||
                                             (c.first == k.first && c.second < k.second);
                                    });
  if (it != end && it->first == a && it->second == b) return it->composite;
  return 0;
}

void compose(std::u32string& s) {
  if (s.empty()) return;
  size_t starter = std::u32string::npos;
  int last_ccc = -1;
  size_t w = 0;
  for (size_t r = 0; r < s.size(); ++r) {
    const char32_t c = s[r];
    const int cc = ccc(c);
    if (starter != std::u32string::npos && (last_ccc < cc || (last_ccc == 0 && w == starter + 1))) {
      // c is not blocked from the last starter
      if (char32_t comp = compose_pair(s[starter], c)) {
        s[starter] = comp;
        continue;
      }
    }
    if (cc == 0) {
      starter = w;
      last_ccc = 0;
    } else {
      last_ccc = cc;
    }
    s[w++] = c;
  }
  s.resize(w);
}

}  // namespace

const char* version() { return tables::kUnicodeVersion; }

void append_lower(char32_t cp, std::u32string& out) {
  const auto& r = record(cp);
  if (r.lower) {
    append_pool(r.lower, out);
  } else {
    out.push_back(cp);
  }
}

std::u32string normalize(const std::u32string& in, Form form) {
  std::u32string out;
  decompose(in, form == Form::NFKC || form == Form::NFKD, out);
  if (form == Form::NFC || form == Form::NFKC) compose(out);
  return out;
}

}  // namespace fastsbert::tok::unicode
