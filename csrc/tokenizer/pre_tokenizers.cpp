// Pre-tokenizers: BertPreTokenizer, ByteLevel, Whitespace, WhitespaceSplit, Metaspace,
// Punctuation, Digits, Split (literal pattern), CharDelimiterSplit and Sequence.
#include <array>
#include <string>

#include "tokenizer/byte_level.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace fastsbert::tok {
namespace {

using unicode::has;

// A span of a piece's text with whether the split pattern matched it.
struct Match {
  uint32_t begin, end;
  bool is_match;
};

void emit(std::vector<Piece>& out, const Piece& parent, uint32_t begin, uint32_t end) {
  if (end > begin) out.push_back(Piece{parent.off + begin, end - begin, parent.origin && begin == 0});
}

// Applies a split behaviour to the matches of one piece (the pattern semantics of
// NormalizedString::split in Hugging Face tokenizers).
void apply_behavior(const std::vector<Match>& m, SplitBehavior behavior, const Piece& parent,
                    std::vector<Piece>& out) {
  using B = SplitBehavior;
  switch (behavior) {
    case B::Isolated:
      for (const auto& x : m) emit(out, parent, x.begin, x.end);
      return;
    case B::Removed:
      for (const auto& x : m) {
        if (!x.is_match) emit(out, parent, x.begin, x.end);
      }
      return;
    case B::Contiguous:
    case B::MergedWithPrevious: {
      std::vector<std::pair<uint32_t, uint32_t>> acc;
      bool prev = false;
      for (const auto& x : m) {
        const bool merge = behavior == B::Contiguous ? x.is_match == prev : (x.is_match && !prev);
        if (merge && !acc.empty()) {
          acc.back().second = x.end;
        } else {
          acc.emplace_back(x.begin, x.end);
        }
        prev = x.is_match;
      }
      for (const auto& [b, e] : acc) emit(out, parent, b, e);
      return;
    }
    case B::MergedWithNext: {
      std::vector<std::pair<uint32_t, uint32_t>> acc;
      bool prev = false;
      for (auto it = m.rbegin(); it != m.rend(); ++it) {
        if (it->is_match && !prev && !acc.empty()) {
          acc.back().first = it->begin;
        } else {
          acc.emplace_back(it->begin, it->end);
        }
        prev = it->is_match;
      }
      for (auto it = acc.rbegin(); it != acc.rend(); ++it) emit(out, parent, it->first, it->second);
      return;
    }
  }
}

// Matches of a per-character predicate: every matching character is its own match.
template <typename Pred>
void char_matches(std::string_view s, Pred pred, bool invert, std::vector<Match>& m) {
  m.clear();
  uint32_t last = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t b = i;
    const char32_t c = next_cp(s, i);
    if (pred(c) != invert) {
      if (last < b) m.push_back({last, uint32_t(b), false});
      m.push_back({uint32_t(b), uint32_t(i), true});
      last = uint32_t(i);
    }
  }
  if (last < s.size()) m.push_back({last, uint32_t(s.size()), false});
}

template <typename Pred>
void split_by_char(Workspace& ws, Pred pred, SplitBehavior behavior, bool invert = false) {
  ws.scratch.clear();
  std::vector<Match> m;
  for (const Piece& p : ws.pieces) {
    char_matches(std::string_view(ws.arena).substr(p.off, p.len), pred, invert, m);
    apply_behavior(m, behavior, p, ws.scratch);
  }
  ws.pieces.swap(ws.scratch);
}

SplitBehavior parse_behavior(const json::Value& v) {
  const std::string& s = v.as_string("behavior");
  if (s == "Removed") return SplitBehavior::Removed;
  if (s == "Isolated") return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (s == "Contiguous") return SplitBehavior::Contiguous;
  throw Unsupported("split behavior " + s);
}

bool is_white(char32_t c) { return has(c, unicode::kWhiteSpace); }

// ASCII classes for the BERT fast path, filled from the generated tables.
struct AsciiClasses {
  std::array<uint8_t, 128> cls{};  // 0 other, 1 white space, 2 punctuation
  AsciiClasses() {
    for (char32_t c = 0; c < 128; ++c) {
      cls[c] = is_white(c) ? 1 : has(c, unicode::kPunct) ? 2 : 0;
    }
  }
};
const AsciiClasses& ascii_classes() {
  static const AsciiClasses k;
  return k;
}

class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(Workspace& ws) const override {
    const auto& cls = ascii_classes().cls;
    ws.scratch.clear();
    for (const Piece& p : ws.pieces) {
      const std::string_view s = std::string_view(ws.arena).substr(p.off, p.len);
      uint32_t start = 0;
      for (size_t i = 0; i < s.size();) {
        const size_t b = i;
        const unsigned char byte = static_cast<unsigned char>(s[i]);
        int k;
        if (byte < 0x80) {
          k = cls[byte];
          ++i;
        } else {
          const char32_t c = next_cp(s, i);
          k = is_white(c) ? 1 : has(c, unicode::kPunct) ? 2 : 0;
        }
        if (k == 0) continue;
        emit(ws.scratch, p, start, uint32_t(b));
        if (k == 2) emit(ws.scratch, p, uint32_t(b), uint32_t(i));
        start = uint32_t(i);
      }
      emit(ws.scratch, p, start, uint32_t(s.size()));
    }
    ws.pieces.swap(ws.scratch);
  }
};

class WhitespaceSplit final : public PreTokenizer {
 public:
  void pre_tokenize(Workspace& ws) const override { split_by_char(ws, is_white, SplitBehavior::Removed); }
};

// The pattern \w+|[^\w\s]+ : runs of word characters and runs of other non-space ones.
class Whitespace final : public PreTokenizer {
 public:
  void pre_tokenize(Workspace& ws) const override {
    ws.scratch.clear();
    for (const Piece& p : ws.pieces) {
      const std::string_view s = std::string_view(ws.arena).substr(p.off, p.len);
      int run = -1;  // 0 word run, 1 other run, -1 none
      uint32_t start = 0;
      for (size_t i = 0; i < s.size();) {
        const size_t b = i;
        const char32_t c = next_cp(s, i);
        const int k = has(c, unicode::kWord) ? 0 : is_white(c) ? -1 : 1;
        if (k != run) {
          if (run >= 0) emit(ws.scratch, p, start, uint32_t(b));
          start = uint32_t(b);
          run = k;
        }
      }
      if (run >= 0) emit(ws.scratch, p, start, uint32_t(s.size()));
    }
    ws.pieces.swap(ws.scratch);
  }
};

class Punctuation final : public PreTokenizer {
 public:
  explicit Punctuation(SplitBehavior b) : behavior_(b) {}
  void pre_tokenize(Workspace& ws) const override {
    split_by_char(ws, [](char32_t c) { return has(c, unicode::kPunct); }, behavior_);
  }

 private:
  SplitBehavior behavior_;
};

class Digits final : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void pre_tokenize(Workspace& ws) const override {
    split_by_char(ws, [](char32_t c) { return has(c, unicode::kNumeric); },
                  individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  }

 private:
  bool individual_;
};

class CharDelimiterSplit final : public PreTokenizer {
 public:
  explicit CharDelimiterSplit(char32_t d) : delim_(d) {}
  void pre_tokenize(Workspace& ws) const override {
    const char32_t d = delim_;
    split_by_char(ws, [d](char32_t c) { return c == d; }, SplitBehavior::Removed);
  }

 private:
  char32_t delim_;
};

class SplitLiteral final : public PreTokenizer {
 public:
  explicit SplitLiteral(const json::Value& v) {
    const json::Value& p = v.at("pattern");
    if (const auto* s = p.find("String")) {
      pattern_ = s->as_string("Split.pattern.String");
    } else {
      throw Unsupported("pre-tokenizer Split with a Regex pattern");
    }
    behavior_ = parse_behavior(v.at("behavior"));
    if (const auto* x = v.find("invert")) invert_ = x->as_bool("Split.invert");
  }
  void pre_tokenize(Workspace& ws) const override {
    ws.scratch.clear();
    std::vector<Match> m;
    for (const Piece& p : ws.pieces) {
      const std::string_view s = std::string_view(ws.arena).substr(p.off, p.len);
      m.clear();
      if (pattern_.empty()) {
        m.push_back({0, uint32_t(s.size()), false});
      } else {
        size_t last = 0, pos = s.find(pattern_);
        while (pos != std::string_view::npos) {
          if (last < pos) m.push_back({uint32_t(last), uint32_t(pos), false});
          m.push_back({uint32_t(pos), uint32_t(pos + pattern_.size()), true});
          last = pos + pattern_.size();
          pos = s.find(pattern_, last);
        }
        if (last < s.size()) m.push_back({uint32_t(last), uint32_t(s.size()), false});
      }
      if (invert_) {
        for (auto& x : m) x.is_match = !x.is_match;
      }
      apply_behavior(m, behavior_, p, ws.scratch);
    }
    ws.pieces.swap(ws.scratch);
  }

 private:
  std::string pattern_;
  SplitBehavior behavior_ = SplitBehavior::Removed;
  bool invert_ = false;
};

class Metaspace final : public PreTokenizer {
 public:
  explicit Metaspace(const json::Value& v) {
    const std::string& r = v.at("replacement").as_string("Metaspace.replacement");
    size_t i = 0;
    if (r.empty()) throw Unsupported("Metaspace with an empty replacement");
    replacement_ = next_cp(r, i);
    rep_ = r.substr(0, i);
    std::string scheme = "always";
    if (const auto* x = v.find("prepend_scheme")) scheme = x->as_string("Metaspace.prepend_scheme");
    if (const auto* x = v.find("add_prefix_space"); x && !x->is_null() && !x->as_bool("add_prefix_space")) {
      scheme = "never";
    }
    if (scheme == "always") {
      scheme_ = 0;
    } else if (scheme == "first") {
      scheme_ = 1;
    } else if (scheme == "never") {
      scheme_ = 2;
    } else {
      throw Unsupported("Metaspace prepend_scheme " + scheme);
    }
    if (const auto* x = v.find("split"); x && !x->is_null()) split_ = x->as_bool("Metaspace.split");
  }
  void pre_tokenize(Workspace& ws) const override {
    ws.scratch.clear();
    std::vector<Piece> mapped;
    mapped.reserve(ws.pieces.size());
    for (const Piece& p : ws.pieces) {
      // Copy out first: appending to the arena may move it.
      ws.tmp.assign(ws.arena, p.off, p.len);
      const bool starts = ws.tmp.compare(0, rep_.size(), rep_) == 0 ||
                          (ws.tmp.size() > 0 && ws.tmp[0] == ' ');
      const bool prepend = !starts && (scheme_ == 0 || (scheme_ == 1 && p.origin));
      const uint32_t off = static_cast<uint32_t>(ws.arena.size());
      if (prepend) ws.arena += rep_;
      for (char c : ws.tmp) {
        if (c == ' ') {
          ws.arena += rep_;
        } else {
          ws.arena.push_back(c);
        }
      }
      mapped.push_back(Piece{off, static_cast<uint32_t>(ws.arena.size() - off), p.origin});
    }
    if (!split_) {
      ws.pieces.swap(mapped);
      return;
    }
    ws.pieces.swap(mapped);
    const char32_t r = replacement_;
    split_by_char(ws, [r](char32_t c) { return c == r; }, SplitBehavior::MergedWithNext);
  }

 private:
  char32_t replacement_ = 0x2581;
  std::string rep_;
  int scheme_ = 0;
  bool split_ = true;
};

// GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// as a hand-written scanner over code points (leftmost alternative wins, greedy runs).
class ByteLevelPre final : public PreTokenizer {
 public:
  explicit ByteLevelPre(const json::Value& v) {
    if (const auto* x = v.find("add_prefix_space")) add_prefix_space_ = x->as_bool("ByteLevel.add_prefix_space");
    if (const auto* x = v.find("use_regex")) use_regex_ = x->as_bool("ByteLevel.use_regex");
  }

  void pre_tokenize(Workspace& ws) const override {
    ws.scratch.clear();
    std::vector<uint32_t> bounds;
    for (const Piece& p : ws.pieces) {
      ws.tmp.clear();
      if (add_prefix_space_ && (p.len == 0 || ws.arena[p.off] != ' ')) ws.tmp.push_back(' ');
      ws.tmp.append(ws.arena, p.off, p.len);
      const std::string_view s(ws.tmp);
      bounds.clear();
      if (use_regex_) {
        scan(s, bounds);
      } else {
        bounds.push_back(0);
        bounds.push_back(uint32_t(s.size()));
      }
      for (size_t k = 0; k + 1 < bounds.size(); ++k) {
        const uint32_t off = static_cast<uint32_t>(ws.arena.size());
        for (uint32_t i = bounds[k]; i < bounds[k + 1]; ++i) ws.arena += byte_level_char(static_cast<unsigned char>(s[i]));
        const uint32_t len = static_cast<uint32_t>(ws.arena.size() - off);
        if (len) ws.scratch.push_back(Piece{off, len, p.origin && k == 0});
      }
    }
    ws.pieces.swap(ws.scratch);
  }

 private:
  enum Cls { kL, kN, kS, kO };
  static Cls cls(char32_t c) {
    const uint16_t f = unicode::props(c);
    if (f & unicode::kWhiteSpace) return kS;
    if (f & unicode::kLetter) return kL;
    if (f & unicode::kNumber) return kN;
    return kO;
  }
  // Appends the start of every match and the end of the last one.
  static void scan(std::string_view s, std::vector<uint32_t>& bounds) {
    std::vector<uint32_t> pos;  // byte offset of each code point, plus the end
    std::vector<uint8_t> k;
    std::vector<char32_t> cps;
    for (size_t i = 0; i < s.size();) {
      pos.push_back(uint32_t(i));
      const char32_t c = next_cp(s, i);
      cps.push_back(c);
      k.push_back(cls(c));
    }
    const size_t n = cps.size();
    pos.push_back(uint32_t(s.size()));
    size_t i = 0;
    while (i < n) {
      bounds.push_back(pos[i]);
      const char32_t c = cps[i];
      size_t j = i;
      if (c == '\'' && i + 1 < n) {
        const char32_t a = cps[i + 1];
        const char32_t b = i + 2 < n ? cps[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') {
          j = i + 2;
        } else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
          j = i + 3;
        }
      }
      if (j == i) {
        size_t start = i;
        if (c == ' ' && i + 1 < n && k[i + 1] != kS) start = i + 1;  // " ?X+" with X = class of next
        const uint8_t x = k[start];
        if (x != kS) {
          j = start;
          while (j < n && k[j] == x) ++j;
        } else {
          // \s+(?!\S) then \s+
          size_t e = i;
          while (e < n && k[e] == kS) ++e;
          if (e == n || e - i == 1) {
            j = e;
          } else {
            j = e - 1;
          }
        }
      }
      i = j;
    }
    bounds.push_back(uint32_t(s.size()));
  }

  bool add_prefix_space_ = true;
  bool use_regex_ = true;
};

class SequencePre final : public PreTokenizer {
 public:
  explicit SequencePre(const json::Value& v) {
    for (const auto& p : v.at("pretokenizers").as_array("Sequence.pretokenizers")) parts_.push_back(make_pre_tokenizer(p));
  }
  void pre_tokenize(Workspace& ws) const override {
    for (const auto& p : parts_) p->pre_tokenize(ws);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

const std::string& byte_level_char(unsigned char b) {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    // Printable Latin-1 bytes stand for themselves; the others are shifted to U+0100+.
    auto printable = [](int x) { return (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE); };
    int n = 0;
    for (int x = 0; x < 256; ++x) {
      char32_t c = printable(x) ? char32_t(x) : char32_t(256 + n++);
      append_utf8(c, t[x]);
    }
    return t;
  }();
  return table[b];
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json::Value& v) {
  const std::string& type = v.at("type").as_string("pre_tokenizer.type");
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "Whitespace") return std::make_unique<Whitespace>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelPre>(v);
  if (type == "Metaspace") return std::make_unique<Metaspace>(v);
  if (type == "Punctuation") {
    SplitBehavior b = SplitBehavior::Isolated;
    if (const auto* x = v.find("behavior")) b = parse_behavior(*x);
    return std::make_unique<Punctuation>(b);
  }
  if (type == "Digits") {
    bool ind = false;
    if (const auto* x = v.find("individual_digits")) ind = x->as_bool("Digits.individual_digits");
    return std::make_unique<Digits>(ind);
  }
  if (type == "Split") return std::make_unique<SplitLiteral>(v);
  if (type == "CharDelimiterSplit") {
    const std::string& d = v.at("delimiter").as_string("CharDelimiterSplit.delimiter");
    size_t i = 0;
    if (d.empty()) throw Unsupported("CharDelimiterSplit with an empty delimiter");
    return std::make_unique<CharDelimiterSplit>(next_cp(d, i));
  }
  if (type == "Sequence") return std::make_unique<SequencePre>(v);
  throw Unsupported("pre-tokenizer " + type);
}

}  // namespace fastsbert::tok
