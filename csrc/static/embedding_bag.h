// Embedding-bag mean: the kernel of static embedding models (a sentence's vector is the
// mean of its tokens' rows). One implementation per SIMD level, each in its own file
// compiled with its own ISA flags; embedding_bag_level() picks one at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fastsbert/topk.h"  // SimdLevel, FASTSBERT_SIMD

namespace fastsbert::static_embed {

// out[0..dim) = mean over k < n of table[ids[k] * dim .. + dim); zeros when n == 0.
// Every level adds the rows in the order given, lane by lane, then multiplies by 1/n, so
// all levels give the same floats. ids must be valid rows (checked by the caller).
using BagMeanFn = void (*)(const float* table, size_t dim, const int64_t* ids, size_t n,
                           float* out);

BagMeanFn bag_mean_scalar();
BagMeanFn bag_mean_avx2();    // null when the build has no x86 kernels
BagMeanFn bag_mean_avx512();  // null when the build has no x86 kernels

// The level static models run with: FASTSBERT_SIMD when set (std::invalid_argument if this
// machine or build cannot run it), else the best level the CPU and OS support.
SimdLevel embedding_bag_level();
// Levels this build carries and this machine runs, lowest first.
std::vector<SimdLevel> embedding_bag_levels();
BagMeanFn bag_mean_for(SimdLevel level);

// Rows ahead of the one being added whose cache lines are requested early: rows of a large
// vocabulary are scattered in memory, and each miss would otherwise stall the adds.
inline constexpr size_t kPrefetchRowsAhead = 4;

}  // namespace fastsbert::static_embed
