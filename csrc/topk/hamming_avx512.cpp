// Hamming distances with AVX-512 VPOPCNTDQ: eight corpus rows at a time, 64 bytes of each
// per step (masked loads for the tail, so any byte width works), then the eight per-row
// vectors of partial counts are summed in one transposing reduction.
#include <immintrin.h>

#include "topk/hamming_internal.h"

namespace fastsbert::hamming_detail {
namespace {

constexpr size_t kRows = 8;

// Lane r of the result: the sum of the eight 64-bit lanes of v[r].
__m512i sum_lanes8(const __m512i v[kRows]) {
  // Step 1: block k of a[i] = (row 2i, row 2i+1) sums of their lanes 2k, 2k+1.
  // Step 2: block j of b[i] = rows (4i + 2(j%2), +1), sums over half of their lanes.
  // Step 3: block j = rows (2j, 2j+1), all lanes.
  __m512i a[4], b[2];
  for (int i = 0; i < 4; ++i) {
    const __m512i lo = _mm512_unpacklo_epi64(v[2 * i], v[2 * i + 1]);
    const __m512i hi = _mm512_unpackhi_epi64(v[2 * i], v[2 * i + 1]);
    a[i] = _mm512_add_epi64(lo, hi);
  }
  for (int i = 0; i < 2; ++i) {
    const __m512i x = _mm512_shuffle_i64x2(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0));
    const __m512i y = _mm512_shuffle_i64x2(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1));
    b[i] = _mm512_add_epi64(x, y);
  }
  const __m512i x = _mm512_shuffle_i64x2(b[0], b[1], _MM_SHUFFLE(2, 0, 2, 0));
  const __m512i y = _mm512_shuffle_i64x2(b[0], b[1], _MM_SHUFFLE(3, 1, 3, 1));
  return _mm512_add_epi64(x, y);  // lane r: row r's total
}

void distances(const uint8_t* query, const uint8_t* corpus, size_t rows, size_t bytes,
               uint32_t* out) {
  const size_t steps = (bytes + 63) / 64;
  const size_t tail = bytes - 64 * (steps - 1);
  const __mmask64 tail_mask = tail == 64 ? ~__mmask64{0} : ((__mmask64{1} << tail) - 1);
  size_t r = 0;
  for (; r + kRows <= rows; r += kRows) {
    __m512i acc[kRows];
    for (size_t i = 0; i < kRows; ++i) acc[i] = _mm512_setzero_si512();
    for (size_t s = 0; s < steps; ++s) {
      const __mmask64 m = s + 1 == steps ? tail_mask : ~__mmask64{0};
      const __m512i q = _mm512_maskz_loadu_epi8(m, query + 64 * s);
      for (size_t i = 0; i < kRows; ++i) {
        const __m512i c = _mm512_maskz_loadu_epi8(m, corpus + (r + i) * bytes + 64 * s);
        acc[i] = _mm512_add_epi64(acc[i], _mm512_popcnt_epi64(_mm512_xor_si512(q, c)));
      }
    }
    const __m256i sums = _mm512_cvtepi64_epi32(sum_lanes8(acc));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r), sums);
  }
  for (; r < rows; ++r) {
    __m512i acc = _mm512_setzero_si512();
    for (size_t s = 0; s < steps; ++s) {
      const __mmask64 m = s + 1 == steps ? tail_mask : ~__mmask64{0};
      const __m512i q = _mm512_maskz_loadu_epi8(m, query + 64 * s);
      const __m512i c = _mm512_maskz_loadu_epi8(m, corpus + r * bytes + 64 * s);
      acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(q, c)));
    }
    out[r] = static_cast<uint32_t>(_mm512_reduce_add_epi64(acc));
  }
}

const HammingOps kOps{"avx512", distances};

}  // namespace

const HammingOps* hamming_ops_avx512() { return &kOps; }

}  // namespace fastsbert::hamming_detail
