// The portable Hamming distance loop, included by hamming_scalar.cpp (baseline ISA) and
// hamming_avx2.cpp (compiled with -mpopcnt, where __builtin_popcountll is one
// instruction). Internal linkage only: see hamming_internal.h.
#pragma once

#include <cstring>

#include "topk/hamming_internal.h"

namespace fastsbert::hamming_detail {
namespace {

void portable_distances(const uint8_t* query, const uint8_t* corpus, size_t rows,
                        size_t bytes, uint32_t* out) {
  const size_t words = bytes / 8;
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* row = corpus + r * bytes;
    uint32_t d = 0;
    for (size_t w = 0; w < words; ++w) {
      uint64_t a, b;
      std::memcpy(&a, query + 8 * w, 8);  // rows need not be 8-byte aligned
      std::memcpy(&b, row + 8 * w, 8);
      d += static_cast<uint32_t>(__builtin_popcountll(a ^ b));
    }
    for (size_t i = 8 * words; i < bytes; ++i) {
      d += static_cast<uint32_t>(__builtin_popcount(static_cast<unsigned>(query[i] ^ row[i])));
    }
    out[r] = d;
  }
}

}  // namespace
}  // namespace fastsbert::hamming_detail
