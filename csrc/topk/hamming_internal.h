// Internal interface between the Hamming top-k driver (hamming.cpp, baseline ISA) and its
// kernels (hamming_<level>.cpp, each compiled with its own ISA flags). As in
// topk_internal.h, kernel files keep every function internal to their translation unit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fastsbert::hamming_detail {

struct HammingOps {
  const char* name;
  // out[r] = number of differing bits between `query` and corpus row r, for the `rows`
  // rows of `corpus` (row-major, `bytes` bytes each, contiguous).
  void (*distances)(const uint8_t* query, const uint8_t* corpus, size_t rows, size_t bytes,
                    uint32_t* out);
};

const HammingOps* hamming_ops_scalar();  // portable; the reference
const HammingOps* hamming_ops_avx2();    // hardware POPCNT (every AVX2 CPU has it); null if absent
const HammingOps* hamming_ops_avx512();  // AVX-512 VPOPCNTDQ + BW; null when not compiled in

}  // namespace fastsbert::hamming_detail
