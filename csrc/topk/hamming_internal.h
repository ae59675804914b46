// Internal interface between the Hamming top-k driver (hamming.cpp, baseline ISA) and its
// kernels (hamming_<level>.cpp, each compiled with its own ISA flags). As in
// topk_internal.h, kernel files keep every function internal to their translation unit.
//
// The driver packs blocks of corpus rows into groups of kGroupRows rows with their 64-bit
// words interleaved: word w of the group's row i is packed[w * kGroupRows + i]. One SIMD
// register then holds word w of eight rows, so a kernel XORs it with the query's word w
// (broadcast), counts bits and accumulates eight distances at once, with no horizontal
// reduction. Rows are zero-padded to whole words and groups to whole rows (zero bytes in
// both the query and the row add no distance).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fastsbert::hamming_detail {

constexpr size_t kGroupRows = 8;

struct HammingOps {
  const char* name;
  // The rows of the `groups` packed groups (groups * words * kGroupRows words) whose
  // distance to `query` (`words` 64-bit words) is below `bound`: their positions in the
  // block (g * kGroupRows + i) go to rows[], their distances to dist[], in increasing
  // position order. Returns how many (at most groups * kGroupRows). Both arrays hold
  // groups * kGroupRows entries, and a kernel may use dist[] as scratch. Selection keeps
  // a bound that only falls, so after the first blocks almost nothing passes.
  size_t (*below)(const uint64_t* query, const uint64_t* packed, size_t groups, size_t words,
                  uint32_t bound, uint32_t* rows, uint32_t* dist);
};

const HammingOps* hamming_ops_scalar();  // portable; the reference
const HammingOps* hamming_ops_avx2();    // AVX2 (byte lookups); null when not compiled in
const HammingOps* hamming_ops_avx512();  // AVX-512 VPOPCNTDQ; null when not compiled in

}  // namespace fastsbert::hamming_detail
