// Hamming distances with AVX-512 VPOPCNTDQ: one register holds word w of a group's eight
// rows (see hamming_internal.h), so each word costs an XOR with the broadcast query word,
// one VPOPCNTQ and one add; the eight distances are compared with the bound in-register,
// and only rows below it leave the kernel.
#include <immintrin.h>

#include "topk/hamming_internal.h"

namespace fastsbert::hamming_detail {
namespace {

inline __m512i group_distances(const uint64_t* query, const uint64_t* group, size_t words) {
  __m512i acc = _mm512_setzero_si512();
  for (size_t w = 0; w < words; ++w) {
    const __m512i q = _mm512_set1_epi64(static_cast<long long>(query[w]));
    const __m512i x = _mm512_xor_si512(q, _mm512_loadu_si512(group + w * kGroupRows));
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
  }
  return acc;
}

inline size_t emit(__m512i acc, __mmask8 mask, size_t first_row, uint32_t* rows, uint32_t* dist,
                   size_t found) {
  alignas(64) uint64_t d[kGroupRows];
  _mm512_store_si512(d, acc);
  while (mask) {
    const unsigned i = static_cast<unsigned>(__builtin_ctz(mask));
    rows[found] = static_cast<uint32_t>(first_row + i);
    dist[found++] = static_cast<uint32_t>(d[i]);
    mask = static_cast<__mmask8>(mask & (mask - 1));
  }
  return found;
}

size_t below(const uint64_t* query, const uint64_t* packed, size_t groups, size_t words,
             uint32_t bound, uint32_t* rows, uint32_t* dist) {
  static_assert(kGroupRows == 8, "one 512-bit register per packed word");
  const __m512i limit = _mm512_set1_epi64(static_cast<long long>(bound));
  const size_t stride = words * kGroupRows;
  size_t found = 0, g = 0;
  // Two groups per step: two independent dependency chains keep the popcount unit busy.
  for (; g + 2 <= groups; g += 2) {
    const __m512i a = group_distances(query, packed + g * stride, words);
    const __m512i b = group_distances(query, packed + (g + 1) * stride, words);
    const __mmask8 ma = _mm512_cmplt_epu64_mask(a, limit);
    const __mmask8 mb = _mm512_cmplt_epu64_mask(b, limit);
    if (ma | mb) {
      found = emit(a, ma, g * kGroupRows, rows, dist, found);
      found = emit(b, mb, (g + 1) * kGroupRows, rows, dist, found);
    }
  }
  for (; g < groups; ++g) {
    const __m512i a = group_distances(query, packed + g * stride, words);
    const __mmask8 ma = _mm512_cmplt_epu64_mask(a, limit);
    if (ma) found = emit(a, ma, g * kGroupRows, rows, dist, found);
  }
  return found;
}

const HammingOps kOps{"avx512", below};

}  // namespace

const HammingOps* hamming_ops_avx512() { return &kOps; }

}  // namespace fastsbert::hamming_detail
