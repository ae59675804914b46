// fastsbert top-k: exact nearest neighbours by cosine similarity or inner product.
//
// The score matrix is never stored whole: blocks of rows x columns are multiplied by a
// SIMD micro-kernel and fed straight into per-row selection, so the memory used beyond the
// inputs stays O(q * d + q * k + one block per thread) whatever the corpus size n is.
//
// Every SIMD level computes each score with the same sequence of fused multiply-adds
// (k = 0, 1, ..., d - 1), so all levels return bit-identical results; the scalar level is
// the reference. Ties are broken by the lower index.
//
// Errors: std::invalid_argument for bad arguments (shapes, NaN/inf values, unknown level,
// negative thread counts), std::runtime_error for a missing backend (CUDA not built or no
// device), fastsbert::Cancelled when TopkOptions::cancel stops a call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fastsbert/cancel.h"
#include "fastsbert/errors.h"
#include "fastsbert/threads.h"

namespace fastsbert {

enum class Metric {
  cosine,  // rows are L2-normalised first; an all-zero row scores 0 against everything
  dot,     // plain inner product
};

enum class SimdLevel { scalar, avx2, avx512 };

// A read-only view of a row-major, C-contiguous float32 matrix.
struct MatrixView {
  const float* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;
};

struct TopkOptions {
  Metric metric = Metric::cosine;
  // Worker threads; 0 means available_cpus() (the CPUs this process may run on), and
  // larger counts are capped at it. Negative counts raise std::invalid_argument.
  int threads = 0;
  // "cpu", "cuda" or "cuda:N". Only topk_search runs on CUDA.
  std::string device = "cpu";
  // When set and cancelled (from another thread), a CPU call stops between tiles and throws
  // fastsbert::Cancelled (fastsbert/errors.h); outputs are then partly written. Not owned.
  const CancelToken* cancel = nullptr;
};

// Number of result columns for k neighbours among n candidates.
inline size_t topk_columns(size_t k, size_t n) { return k < n ? k : n; }

// For every query row, the topk_columns(k, corpus.rows) best corpus rows, best first.
// `scores` and `indices` are (queries.rows, topk_columns(k, corpus.rows)), row-major.
void topk_search(MatrixView queries, MatrixView corpus, size_t k, float* scores,
                 int64_t* indices, const TopkOptions& options = {});

// All pairs within one set: for every row i of x, the topk_columns(k, x.rows - 1) best
// rows j != i. Each pair is scored once (the product is symmetric), which halves the work
// of topk_search(x, x, k + 1). Output shapes as in topk_search.
void topk_self(MatrixView x, size_t k, float* scores, int64_t* indices,
               const TopkOptions& options = {});

// Paraphrase mining: the union over rows i of the pairs {i, j} with j among the k best
// neighbours of i (j != i), each pair once as (i < j), sorted by descending score (ties:
// lower i, then lower j) and cut to max_pairs.
struct ScoredPairs {
  std::vector<float> scores;   // (count,)
  std::vector<int64_t> pairs;  // (count, 2) row-major: i, j with i < j
};
ScoredPairs topk_pairs(MatrixView x, size_t k, size_t max_pairs,
                       const TopkOptions& options = {});

// Community detection with the semantics of sentence-transformers' community_detection:
// every row whose neighbourhood {j : cos(i, j) >= threshold} (itself included) has at
// least min_size members is a candidate community, members ordered by descending score;
// candidates are taken largest first, each keeps the members not yet claimed, and is kept
// when it still has min_size members (its centre first). Always uses cosine similarity.
// Memory grows with the number of pairs above the threshold.
struct Communities {
  std::vector<int64_t> offsets;  // (count + 1,): community c is members[offsets[c]:offsets[c+1]]
  std::vector<int64_t> members;
};
Communities topk_communities(MatrixView x, float threshold, size_t min_size,
                             const TopkOptions& options = {});

// The level a call made now would use: the one forced by the environment variable
// FASTSBERT_SIMD (scalar, avx2 or avx512; forcing a level this machine cannot run raises
// std::invalid_argument), else the fastest this CPU runs. The widest level is assumed
// fastest only until measured: the first call times each level's kernel on one thread
// (a few ms, once per process) and takes a narrower level only when it is at least 8%
// faster, as it can be where 512-bit multiply-adds run as two 256-bit halves (AMD Zen 4).
// Levels return bit-identical results, so the choice changes speed only.
SimdLevel topk_simd_level();
// The kernel rates that choice was made from: GFLOP/s on one thread for each SIMD level,
// narrowest first; empty when this machine runs at most one SIMD level.
struct SimdRate {
  SimdLevel level;
  double gflops;
};
std::vector<SimdRate> topk_simd_rates();
// Levels this binary carries and this machine can run, scalar first.
std::vector<SimdLevel> topk_supported_simd_levels();
const char* simd_level_name(SimdLevel level);
// The level the environment variable FASTSBERT_SIMD forces, or std::nullopt when it is unset
// or empty; std::invalid_argument when it names no level, or a level `runs` says this
// machine or build cannot run. Every SIMD dispatcher (top-k, Hamming, static models)
// reads the variable through this.
std::optional<SimdLevel> forced_simd_level(bool (*runs)(SimdLevel));

// Whether topk_search can run with device "cuda" (built with CUDA and a device is present).
bool topk_cuda_available();

}  // namespace fastsbert
