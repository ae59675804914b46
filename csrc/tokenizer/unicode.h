// Unicode properties and mappings the tokenizer needs, over tables generated at build
// time by scripts/gen_unicode_tables.py (Python's unicodedata plus the regex package).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fastsbert::tok::unicode {

// Property bits (see scripts/gen_unicode_tables.py).
enum : uint16_t {
  kWhiteSpace = 1 << 0,  // White_Space, as Rust's char::is_whitespace
  kOther = 1 << 1,       // general category Cc, Cf or Co
  kPunct = 1 << 2,       // general category P*, or ASCII punctuation
  kMn = 1 << 3,          // general category Mn
  kMark = 1 << 4,        // general category M*
  kNumeric = 1 << 5,     // general category N*, as Rust's char::is_numeric
  kWord = 1 << 6,        // regex \w
  kLetter = 1 << 7,      // general category L*
  kNumber = 1 << 8,      // general category N*
};

namespace tables {
struct Record {
  uint16_t flags;
  uint8_t ccc;
  uint32_t lower;  // index into kPool (length, then code points); 0 = maps to itself
  uint32_t nfd;
  uint32_t nfkd;
};
struct Composition {
  uint32_t first, second, composite;
};
extern const char kUnicodeVersion[];
extern const uint16_t kStage1[];
extern const uint16_t kStage2[];
extern const Record kRecords[];
extern const uint32_t kPool[];
extern const Composition kCompositions[];
extern const size_t kCompositionCount;
}  // namespace tables

inline const tables::Record& record(char32_t cp) {
  if (cp >= 0x110000) cp = 0xFFFF;  // a noncharacter: no properties, no mappings
  return tables::kRecords[tables::kStage2[(size_t(tables::kStage1[cp >> 8]) << 8) | (cp & 0xFF)]];
}
inline uint16_t props(char32_t cp) { return record(cp).flags; }
inline bool has(char32_t cp, uint16_t bits) { return (props(cp) & bits) != 0; }
inline uint8_t ccc(char32_t cp) { return record(cp).ccc; }

// The unicodedata version the tables were generated from.
const char* version();

// Appends the lowercase mapping of cp (one or more code points) to out.
void append_lower(char32_t cp, std::u32string& out);

enum class Form { NFC, NFD, NFKC, NFKD };
// Normalizes a sequence of code points.
std::u32string normalize(const std::u32string& in, Form form);

}  // namespace fastsbert::tok::unicode
