// Embedding-bag mean with AVX2 (8 floats per register). Compiled with -mavx2 only.
#include <immintrin.h>

#include "static/embedding_bag.h"
#include "static/embedding_bag_simd.h"

namespace fastsbert::static_embed {
namespace {

struct Avx2 {
  using Vec = __m256;
  static constexpr size_t kWidth = 8;
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec set1(float x) { return _mm256_set1_ps(x); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static __m256i mask(size_t count) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), lanes);
  }
  static Vec load_tail(const float* p, size_t count) { return _mm256_maskload_ps(p, mask(count)); }
  static void store_tail(float* p, Vec v, size_t count) { _mm256_maskstore_ps(p, mask(count), v); }
};

}  // namespace

BagMeanFn bag_mean_avx2() { return &bag_mean<Avx2>; }

}  // namespace fastsbert::static_embed
