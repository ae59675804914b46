// The part of the SIMD Hamming kernels that does not depend on the ISA, included by
// hamming_avx2.cpp and hamming_avx512.cpp. Like topk_kernel.h, everything here has
// internal linkage (see topk_internal.h: a merged inline copy compiled for AVX-512 could
// otherwise run on a CPU without it).
//
// An ISA provides Isa::Fixed<W> (query of exactly W words, W <= Isa::kMaxFixedWords) and
// Isa::Any (any number of words), each built from (query, words, bound) and called on one
// packed group (see hamming_internal.h): it stores the group's eight distances at dist[0..8)
// and returns an 8-bit mask of the rows below the bound. Fixed<W> keeps the query's words
// in registers and unrolls the word loop: 1.4x the generic loop with AVX-512 on Zen 4
// (384-bit rows, in L1), which reloads the query word and counts words per group.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "topk/hamming_internal.h"

namespace fastsbert::hamming_detail {
namespace {

// The bound tests of up to kSectionGroups groups become bits, and the rows below the
// bound are gathered from them once those groups' popcounts are done. A row that passes
// is a rare, unpredictable branch. Had it been taken in the popcount loop, it would throw
// away the popcounts in flight and then wait for the next ones (measured with AVX-512:
// about 90 cycles per passing row, a third more time at k = 500 over 1M rows). Taken in
// the gathering loop, its bits are already computed: it costs a plain misprediction.
template <class Group>
size_t gather_below(const Group group, const uint64_t* packed, size_t groups, size_t words,
                    uint32_t* rows, uint32_t* dist) {
  static_assert(kGroupRows == 8, "8-bit masks per group");
  constexpr size_t kSectionGroups = 256;
  const size_t stride = words * kGroupRows;
  uint64_t hits[kSectionGroups / 8];
  size_t found = 0;
  for (size_t s0 = 0; s0 < groups; s0 += kSectionGroups) {
    const size_t s1 = std::min(groups, s0 + kSectionGroups);
    const size_t chunks = (s1 - s0 + 7) / 8;
    for (size_t c = 0; c < chunks; ++c) {
      const size_t g0 = s0 + 8 * c, g1 = std::min(s1, g0 + 8);
      uint64_t h = 0;
      for (size_t g = g0; g < g1; ++g) {
        h |= static_cast<uint64_t>(group(packed + g * stride, dist + g * kGroupRows))
             << (8 * (g - g0));
      }
      hits[c] = h;
    }
    // found <= every row of the section not yet read, so the compaction only overwrites
    // distances already read.
    for (size_t c = 0; c < chunks; ++c) {
      for (uint64_t h = hits[c]; h; h &= h - 1) {
        const size_t row = (s0 + 8 * c) * kGroupRows + static_cast<size_t>(__builtin_ctzll(h));
        rows[found] = static_cast<uint32_t>(row);
        dist[found++] = dist[row];
      }
    }
  }
  return found;
}

// HammingOps::below for an ISA: the loop specialised for `words`, if there is one.
template <class Isa, size_t... W>
size_t below_words(std::index_sequence<W...>, const uint64_t* query, const uint64_t* packed,
                   size_t groups, size_t words, uint32_t bound, uint32_t* rows, uint32_t* dist) {
  size_t found = 0;
  const bool fixed =
      ((words == W + 1 &&
        (found = gather_below(typename Isa::template Fixed<W + 1>(query, bound), packed, groups,
                              words, rows, dist),
         true)) ||
       ...);
  if (!fixed) {
    found = gather_below(typename Isa::Any(query, words, bound), packed, groups, words, rows, dist);
  }
  return found;
}

template <class Isa>
size_t below(const uint64_t* query, const uint64_t* packed, size_t groups, size_t words,
             uint32_t bound, uint32_t* rows, uint32_t* dist) {
  return below_words<Isa>(std::make_index_sequence<Isa::kMaxFixedWords>{}, query, packed, groups,
                          words, bound, rows, dist);
}

}  // namespace
}  // namespace fastsbert::hamming_detail
