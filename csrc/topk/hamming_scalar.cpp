// Hamming distances in portable code: the reference every other level must equal, and
// the level for CPUs without AVX2 (on x86 without POPCNT, __builtin_popcountll is a
// library routine).
#include "topk/hamming_internal.h"

namespace fastsbert::hamming_detail {
namespace {

size_t portable_below(const uint64_t* query, const uint64_t* packed, size_t groups,
                      size_t words, uint32_t bound, uint32_t* rows, uint32_t* dist) {
  size_t found = 0;
  for (size_t g = 0; g < groups; ++g) {
    const uint64_t* group = packed + g * words * kGroupRows;
    uint32_t acc[kGroupRows] = {};
    for (size_t w = 0; w < words; ++w) {
      const uint64_t q = query[w];
      for (size_t i = 0; i < kGroupRows; ++i) {
        acc[i] += static_cast<uint32_t>(__builtin_popcountll(q ^ group[w * kGroupRows + i]));
      }
    }
    for (size_t i = 0; i < kGroupRows; ++i) {
      if (acc[i] < bound) {
        rows[found] = static_cast<uint32_t>(g * kGroupRows + i);
        dist[found++] = acc[i];
      }
    }
  }
  return found;
}

const HammingOps kOps{"scalar", portable_below};

}  // namespace

const HammingOps* hamming_ops_scalar() { return &kOps; }

}  // namespace fastsbert::hamming_detail
