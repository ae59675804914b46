// Normalizers: BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase, StripAccents, Strip,
// Replace (literal pattern), Prepend, Nmt, ByteLevel and Sequence.
#include <string>

#include "tokenizer/byte_level.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace fastsbert::tok {
namespace {

using unicode::has;

bool is_white(char32_t c) { return has(c, unicode::kWhiteSpace); }

// BERT's definition of a "Chinese character": the CJK Unified Ideographs blocks and
// their extensions/compatibility blocks, exactly as the original BERT tokenizer lists
// them (a tokenizer definition, not Unicode character data).
bool is_bert_chinese(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

class BertNormalizer final : public Normalizer {
 public:
  explicit BertNormalizer(const json::Value& v) {
    if (const auto* x = v.find("clean_text")) clean_text_ = x->as_bool("clean_text");
    if (const auto* x = v.find("handle_chinese_chars")) chinese_ = x->as_bool("handle_chinese_chars");
    if (const auto* x = v.find("lowercase")) lowercase_ = x->as_bool("lowercase");
    strip_accents_ = lowercase_;
    if (const auto* x = v.find("strip_accents"); x && !x->is_null()) strip_accents_ = x->as_bool("strip_accents");
  }

  void normalize(NormText& t, Workspace& ws) const override {
    if (is_ascii(t.s)) {
      normalize_ascii(t);
      return;
    }
    std::u32string& a = ws.u32a;
    std::u32string& b = ws.u32b;
    a = to_u32(t.s);
    if (clean_text_) {
      b.clear();
      for (char32_t c : a) {
        const bool control = c != '\t' && c != '\n' && c != '\r' && has(c, unicode::kOther);
        if (c == 0 || c == 0xFFFD || control) {
          if (b.empty()) t.origin = false;
          continue;
        }
        b.push_back(is_white(c) ? U' ' : c);
      }
      a.swap(b);
    }
    if (chinese_) {
      b.clear();
      for (char32_t c : a) {
        if (is_bert_chinese(c)) {
          b.push_back(U' ');
          b.push_back(c);
          b.push_back(U' ');
        } else {
          b.push_back(c);
        }
      }
      a.swap(b);
    }
    if (strip_accents_) {
      b = unicode::normalize(a, unicode::Form::NFD);
      a.clear();
      for (char32_t c : b) {
        if (has(c, unicode::kMn)) {
          if (a.empty()) t.origin = false;
          continue;
        }
        a.push_back(c);
      }
    }
    if (lowercase_) {
      b.clear();
      for (char32_t c : a) unicode::append_lower(c, b);
      a.swap(b);
    }
    t.s = to_utf8(a);
  }

 private:
  void normalize_ascii(NormText& t) const {
    std::string& s = t.s;
    size_t w = 0;
    for (size_t r = 0; r < s.size(); ++r) {
      char c = s[r];
      if (clean_text_) {
        if (c == '\t' || c == '\n' || c == '\r') {
          c = ' ';
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          if (w == 0) t.origin = false;
          continue;
        }
      }
      if (lowercase_ && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      s[w++] = c;
    }
    s.resize(w);
  }

  bool clean_text_ = true, chinese_ = true, strip_accents_ = true, lowercase_ = true;
};

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(unicode::Form f) : form_(f) {}
  void normalize(NormText& t, Workspace& ws) const override {
    if (is_ascii(t.s)) return;
    ws.u32a = to_u32(t.s);
    t.s = to_utf8(unicode::normalize(ws.u32a, form_));
  }

 private:
  unicode::Form form_;
};

class Lowercase final : public Normalizer {
 public:
  void normalize(NormText& t, Workspace& ws) const override {
    if (is_ascii(t.s)) {
      for (char& c : t.s) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      }
      return;
    }
    std::string& out = ws.tmp;
    out.clear();
    std::u32string& m = ws.u32a;
    for (size_t i = 0; i < t.s.size();) {
      m.clear();
      unicode::append_lower(next_cp(t.s, i), m);
      for (char32_t c : m) append_utf8(c, out);
    }
    t.s.swap(out);
  }
};

// Removes every code point that has `bits`.
class Filter final : public Normalizer {
 public:
  explicit Filter(uint16_t bits) : bits_(bits) {}
  void normalize(NormText& t, Workspace& ws) const override {
    if (is_ascii(t.s)) return;
    std::string& out = ws.tmp;
    out.clear();
    for (size_t i = 0; i < t.s.size();) {
      const char32_t c = next_cp(t.s, i);
      if (has(c, bits_)) {
        if (out.empty()) t.origin = false;
        continue;
      }
      append_utf8(c, out);
    }
    t.s.swap(out);
  }

 private:
  uint16_t bits_;
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormText& t, Workspace&) const override {
    const std::string& s = t.s;
    size_t b = 0, e = s.size();
    if (left_) {
      while (b < e) {
        size_t j = b;
        if (!is_white(next_cp(s, j))) break;
        b = j;
      }
    }
    if (right_) {
      while (e > b) {
        size_t k = e - 1;
        while (k > b && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
        size_t j = k;
        if (!is_white(next_cp(s, j))) break;
        e = k;
      }
    }
    if (b > 0) t.origin = false;
    t.s = s.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

class Replace final : public Normalizer {
 public:
  explicit Replace(const json::Value& v) {
    const json::Value& p = v.at("pattern");
    if (const auto* s = p.find("String")) {
      pattern_ = s->as_string("Replace.pattern.String");
    } else {
      throw Unsupported("normalizer Replace with a Regex pattern");
    }
    content_ = v.at("content").as_string("Replace.content");
  }
  void normalize(NormText& t, Workspace&) const override {
    if (pattern_.empty()) return;
    size_t pos = t.s.find(pattern_);
    if (pos == std::string::npos) return;
    if (pos == 0 && content_.empty()) t.origin = false;
    std::string out;
    size_t last = 0;
    while (pos != std::string::npos) {
      out.append(t.s, last, pos - last);
      out += content_;
      last = pos + pattern_.size();
      pos = t.s.find(pattern_, last);
    }
    out.append(t.s, last, std::string::npos);
    t.s.swap(out);
  }

 private:
  std::string pattern_, content_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  void normalize(NormText& t, Workspace&) const override {
    if (!t.s.empty()) t.s.insert(0, prepend_);
  }

 private:
  std::string prepend_;
};

class Nmt final : public Normalizer {
 public:
  void normalize(NormText& t, Workspace& ws) const override {
    std::string& out = ws.tmp;
    out.clear();
    for (size_t i = 0; i < t.s.size();) {
      char32_t c = next_cp(t.s, i);
      if ((c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F ||
          c == 0x9F) {
        if (out.empty()) t.origin = false;
        continue;
      }
      if (c == 0x9 || c == 0xA || c == 0xC || c == 0xD || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
          c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD) {
        c = U' ';
      }
      append_utf8(c, out);
    }
    t.s.swap(out);
  }
};

class ByteLevelNormalizer final : public Normalizer {
 public:
  void normalize(NormText& t, Workspace& ws) const override {
    std::string& out = ws.tmp;
    out.clear();
    for (unsigned char b : t.s) out += byte_level_char(b);
    t.s.swap(out);
  }
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(const json::Value& v) {
    for (const auto& n : v.at("normalizers").as_array("Sequence.normalizers")) {
      parts_.push_back(make_normalizer(n));
    }
  }
  void normalize(NormText& t, Workspace& ws) const override {
    for (const auto& p : parts_) p->normalize(t, ws);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const json::Value& v) {
  const std::string& type = v.at("type").as_string("normalizer.type");
  if (type == "BertNormalizer") return std::make_unique<BertNormalizer>(v);
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(unicode::Form::NFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(unicode::Form::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(unicode::Form::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(unicode::Form::NFKD);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<Filter>(unicode::kMark);
  if (type == "Strip") {
    return std::make_unique<Strip>(v.at("strip_left").as_bool("Strip.strip_left"),
                                   v.at("strip_right").as_bool("Strip.strip_right"));
  }
  if (type == "Replace") return std::make_unique<Replace>(v);
  if (type == "Prepend") return std::make_unique<Prepend>(v.at("prepend").as_string("Prepend.prepend"));
  if (type == "Nmt") return std::make_unique<Nmt>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Sequence") return std::make_unique<SequenceNormalizer>(v);
  throw Unsupported("normalizer " + type);
}

}  // namespace fastsbert::tok
