// AVX2 + FMA level: 6 x 16 register tile (12 accumulators of 8 floats, 2 B vectors and one
// broadcast: 15 of the 16 ymm registers). Compiled with -mavx2 -mfma for this file only.
#include <immintrin.h>

#include "topk/topk_kernel.h"

namespace fastsbert::topk_detail {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_load_ps(p); }
  static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static void store(float* p, V v) { _mm256_store_ps(p, v); }
  static uint32_t ge_mask(V a, V b) {
    return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GE_OQ)));
  }
};

}  // namespace

const KernelOps* kernel_ops_avx2() { return Kernel<Avx2, 6, 2>::ops("avx2"); }

}  // namespace fastsbert::topk_detail
