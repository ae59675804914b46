// AVX-512 level: 12 x 32 register tile (24 accumulators of 16 floats, 2 B vectors and one
// broadcast, of the 32 zmm registers). Compiled with -mavx512f for this file only.
#include <immintrin.h>

#include "topk/topk_kernel.h"

namespace fastsbert::topk_detail {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_load_ps(p); }
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static void store(float* p, V v) { _mm512_store_ps(p, v); }
  static uint32_t ge_mask(V a, V b) {
    return static_cast<uint32_t>(_mm512_cmp_ps_mask(a, b, _CMP_GE_OQ));
  }
};

}  // namespace

const KernelOps* kernel_ops_avx512() { return Kernel<Avx512, 12, 2>::ops("avx512"); }

}  // namespace fastsbert::topk_detail
