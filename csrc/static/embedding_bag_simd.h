// The part of the SIMD embedding-bag kernels that does not depend on the ISA, included by
// embedding_bag_avx2.cpp and embedding_bag_avx512.cpp. Everything has internal linkage, so
// that a copy compiled for AVX-512 is never merged into code that runs without it.
//
// An ISA provides Isa::Vec, Isa::kWidth (floats per register), zero(), add(), mul(),
// load(p) / store(p, v) and the masked load_tail(p, count) / store_tail(p, v, count) for
// the last count < kWidth floats of a row.
#pragma once

#include <xmmintrin.h>

#include <cstddef>
#include <cstdint>

namespace fastsbert::static_embed {
namespace {

// Registers of accumulators per pass over a sentence's rows: 8 leaves room for the loads
// and is enough to hide the add latency.
constexpr size_t kAccumulators = 8;

// Adds the rows' columns [d0, d0 + R * kWidth) in registers, then stores their mean.
template <class Isa, size_t R>
inline void bag_block(const float* table, size_t dim, size_t d0, const int64_t* ids, size_t n,
                      typename Isa::Vec scale, float* out) {
  typename Isa::Vec acc[R];
  for (size_t r = 0; r < R; ++r) acc[r] = Isa::zero();
  for (size_t k = 0; k < n; ++k) {
    if (k + kPrefetchRowsAhead < n) {
      _mm_prefetch(reinterpret_cast<const char*>(
                       table + static_cast<size_t>(ids[k + kPrefetchRowsAhead]) * dim + d0),
                   _MM_HINT_T0);
    }
    const float* row = table + static_cast<size_t>(ids[k]) * dim + d0;
    for (size_t r = 0; r < R; ++r) acc[r] = Isa::add(acc[r], Isa::load(row + r * Isa::kWidth));
  }
  for (size_t r = 0; r < R; ++r) Isa::store(out + d0 + r * Isa::kWidth, Isa::mul(acc[r], scale));
}

template <class Isa>
void bag_mean(const float* table, size_t dim, const int64_t* ids, size_t n, float* out) {
  constexpr size_t W = Isa::kWidth;
  if (n == 0) {
    for (size_t d = 0; d < dim; ++d) out[d] = 0.0f;
    return;
  }
  const auto scale = Isa::set1(1.0f / static_cast<float>(n));
  size_t d0 = 0;
  for (; d0 + kAccumulators * W <= dim; d0 += kAccumulators * W) {
    bag_block<Isa, kAccumulators>(table, dim, d0, ids, n, scale, out);
  }
  for (; d0 + W <= dim; d0 += W) bag_block<Isa, 1>(table, dim, d0, ids, n, scale, out);
  if (d0 < dim) {
    const size_t tail = dim - d0;
    auto acc = Isa::zero();
    for (size_t k = 0; k < n; ++k) {
      acc = Isa::add(acc, Isa::load_tail(table + static_cast<size_t>(ids[k]) * dim + d0, tail));
    }
    Isa::store_tail(out + d0, Isa::mul(acc, scale), tail);
  }
}

}  // namespace
}  // namespace fastsbert::static_embed
