// GPT-2's reversible byte -> printable character mapping, shared by the ByteLevel
// normalizer and pre-tokenizer.
#pragma once

#include <string>

namespace fastsbert::tok {

// The UTF-8 encoding of the character that stands for byte `b`.
const std::string& byte_level_char(unsigned char b);

}  // namespace fastsbert::tok
