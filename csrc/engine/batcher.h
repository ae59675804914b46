// Groups sequences into model calls with minimal padding: sort by token length, then cut
// consecutive runs by a sequence count and a padded-token budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fastsbert::engine {

// Upper bound on batch_rows * padded_length in one CPU model call. A BERT layer's
// activations for ~512 tokens stay in the core's caches; bigger batches spill and run
// slower (all-MiniLM-L6-v2, 2 cores, 19-token sentences: 425 sentences/s at 512 tokens,
// 399 at 16k with batch_size 32, and 397 against 282 with batch_size 128).
inline constexpr int64_t kCpuBatchTokens = 512;
// On CUDA large batches keep the device busy; the bound only limits attention memory.
inline constexpr int64_t kCudaBatchTokens = 16384;

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
                       int64_t max_batch_tokens);

}  // namespace fastsbert::engine
