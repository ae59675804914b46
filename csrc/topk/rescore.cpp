// Rescoring of Hamming candidates with float vectors: per query, the exact cosine of each
// candidate row, then the best k. The candidate rows are scattered over a corpus that may
// be far larger than memory bandwidth likes (a memory map, gigabytes), so the time goes into
// fetching them: each row is read once, its dot product and squared norm in the same pass,
// with the next candidate's row prefetched while this one is summed.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/parallel.h"
#include "fastsbert/hamming.h"

namespace fastsbert {
namespace {

constexpr size_t kLanes = 8;  // independent partial sums: lets the compiler vectorise
constexpr size_t kCacheLine = 64;

struct DotNorm {
  float dot;
  float norm_sq;
};

DotNorm dot_and_norm(const float* q, const float* row, size_t dim) {
  float dot[kLanes] = {}, sq[kLanes] = {};
  size_t k = 0;
  for (; k + kLanes <= dim; k += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      dot[l] += q[k + l] * row[k + l];
      sq[l] += row[k + l] * row[k + l];
    }
  }
  for (size_t l = 0; k < dim; ++k, ++l) {
    dot[l] += q[k] * row[k];
    sq[l] += row[k] * row[k];
  }
  float d = 0.0f, s = 0.0f;
  for (size_t l = 0; l < kLanes; ++l) {
    d += dot[l];
    s += sq[l];
  }
  return {d, s};
}

void prefetch_row(const float* row, size_t dim) {
  const char* p = reinterpret_cast<const char*>(row);
  for (size_t off = 0; off < dim * sizeof(float); off += kCacheLine) __builtin_prefetch(p + off);
}

struct Scored {
  float score;
  int64_t index;
};

}  // namespace

void rescore_candidates(MatrixView queries, MatrixView corpus, const int64_t* candidates,
                        size_t per_query, size_t k, float* scores, int64_t* indices,
                        const TopkOptions& options) {
  if (queries.cols != corpus.cols) {
    throw std::invalid_argument("dimension mismatch: rescore queries have " +
                                std::to_string(queries.cols) + " values per vector, corpus " +
                                std::to_string(corpus.cols));
  }
  const size_t q = queries.rows, dim = corpus.cols, keep = std::min(k, per_query);
  if (q == 0 || keep == 0) return;
  if (!queries.data || !candidates || !scores || !indices || (corpus.rows && !corpus.data)) {
    throw std::invalid_argument("rescore_candidates: null data");
  }
  for (size_t i = 0; i < q * per_query; ++i) {
    if (candidates[i] < 0 || static_cast<size_t>(candidates[i]) >= corpus.rows) {
      throw std::invalid_argument("rescore_candidates: candidate " +
                                  std::to_string(candidates[i]) + " is not a corpus row (0.." +
                                  std::to_string(corpus.rows) + ")");
    }
  }
  const int threads = thread_count(options.threads);
  std::vector<std::vector<Scored>> scratch(parallel_workers(q, threads));
  parallel_for(q, threads, options.cancel, [&](size_t i, size_t worker) {
    const float* query = queries.data + i * dim;
    const int64_t* cand = candidates + i * per_query;
    const float query_norm = std::sqrt(dot_and_norm(query, query, dim).dot);
    std::vector<Scored>& row_scores = scratch[worker];
    row_scores.resize(per_query);
    for (size_t j = 0; j < per_query; ++j) {
      if (j + 1 < per_query) prefetch_row(corpus.data + static_cast<size_t>(cand[j + 1]) * dim, dim);
      const DotNorm r = dot_and_norm(query, corpus.data + static_cast<size_t>(cand[j]) * dim, dim);
      const float norms = query_norm * std::sqrt(r.norm_sq);
      row_scores[j] = {norms > 0.0f ? r.dot / norms : 0.0f, cand[j]};
    }
    // Best first; ties to the lower index, as every search here.
    std::partial_sort(row_scores.begin(), row_scores.begin() + static_cast<std::ptrdiff_t>(keep),
                      row_scores.end(), [](const Scored& a, const Scored& b) {
                        return a.score != b.score ? a.score > b.score : a.index < b.index;
                      });
    for (size_t c = 0; c < keep; ++c) {
      scores[i * keep + c] = row_scores[c].score;
      indices[i * keep + c] = row_scores[c].index;
    }
  });
}

}  // namespace fastsbert
