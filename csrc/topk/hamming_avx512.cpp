// Hamming distances with AVX-512 VPOPCNTDQ: one register holds word w of a group's eight
// rows (see hamming_internal.h), so each word costs an XOR with the broadcast query word,
// one VPOPCNTQ and one add. The rest of the kernel is in hamming_kernel.h.
#include <immintrin.h>

#include "topk/hamming_kernel.h"

namespace fastsbert::hamming_detail {
namespace {

struct Avx512 {
  // 16 query words and the bound fit in the 32 registers with room for the sums.
  static constexpr size_t kMaxFixedWords = 16;

  static uint32_t finish(__m512i sums, __m512i limit, uint32_t* dist) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dist), _mm512_maskz_cvtepi64_epi32(0xFF, sums));
    return _mm512_cmplt_epu64_mask(sums, limit);
  }
  static __m512i word(__m512i q, const uint64_t* group, size_t w) {
    return _mm512_popcnt_epi64(_mm512_xor_si512(q, _mm512_loadu_si512(group + w * kGroupRows)));
  }

  template <size_t W>
  struct Fixed {
    __m512i q[W];
    __m512i limit;
    Fixed(const uint64_t* query, uint32_t bound)
        : limit(_mm512_set1_epi64(static_cast<long long>(bound))) {
#pragma GCC unroll 16
      for (size_t w = 0; w < W; ++w) q[w] = _mm512_set1_epi64(static_cast<long long>(query[w]));
    }
    uint32_t operator()(const uint64_t* group, uint32_t* dist) const {
      __m512i sums = word(q[0], group, 0);
#pragma GCC unroll 16
      for (size_t w = 1; w < W; ++w) sums = _mm512_add_epi64(sums, word(q[w], group, w));
      return finish(sums, limit, dist);
    }
  };

  struct Any {
    const uint64_t* query;
    size_t words;
    __m512i limit;
    Any(const uint64_t* query, size_t words, uint32_t bound)
        : query(query), words(words), limit(_mm512_set1_epi64(static_cast<long long>(bound))) {}
    uint32_t operator()(const uint64_t* group, uint32_t* dist) const {
      __m512i sums = _mm512_setzero_si512();
      for (size_t w = 0; w < words; ++w) {
        sums = _mm512_add_epi64(
            sums, word(_mm512_set1_epi64(static_cast<long long>(query[w])), group, w));
      }
      return finish(sums, limit, dist);
    }
  };
};

const HammingOps kOps{"avx512", below<Avx512>};

}  // namespace

const HammingOps* hamming_ops_avx512() { return &kOps; }

}  // namespace fastsbert::hamming_detail
