// Groups sequences into model calls with minimal padding: sort by token length, then cut
// consecutive runs by a sequence count and a padded-token budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fastsbert::engine {

// Upper bound on batch_rows * padded_length in one model call. Large enough that short
// sentences fill whole batches; small enough to bound attention memory for long inputs.
inline constexpr int64_t kMaxBatchTokens = 16384;

struct Batch {
  size_t begin = 0;       // range [begin, end) of BatchPlan::order
  size_t end = 0;
  int64_t max_len = 0;    // padded length of this batch
};

struct BatchPlan {
  std::vector<size_t> order;  // sequence indices, longest first (ties: lower index first)
  std::vector<Batch> batches;
};

BatchPlan plan_batches(const int64_t* offsets, size_t count, size_t batch_size,
                       int64_t max_batch_tokens = kMaxBatchTokens);

}  // namespace fastsbert::engine
