// Embedding-bag mean with AVX-512 F (16 floats per register). Compiled with -mavx512f.
#include <immintrin.h>

#include "static/embedding_bag.h"
#include "static/embedding_bag_simd.h"

namespace fastsbert::static_embed {
namespace {

struct Avx512 {
  using Vec = __m512;
  static constexpr size_t kWidth = 16;
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec set1(float x) { return _mm512_set1_ps(x); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static __mmask16 mask(size_t count) { return static_cast<__mmask16>((1u << count) - 1); }
  static Vec load_tail(const float* p, size_t count) { return _mm512_maskz_loadu_ps(mask(count), p); }
  static void store_tail(float* p, Vec v, size_t count) { _mm512_mask_storeu_ps(p, mask(count), v); }
};

}  // namespace

BagMeanFn bag_mean_avx512() { return &bag_mean<Avx512>; }

}  // namespace fastsbert::static_embed
