#include "engine/batcher.h"

#include <algorithm>
#include <numeric>

namespace fastsbert::engine {

BatchPlan plan_batches(const int64_t* offsets, size_t count, size_t batch_size,
                       int64_t max_batch_tokens) {
  BatchPlan plan;
  plan.order.resize(count);
  std::iota(plan.order.begin(), plan.order.end(), size_t{0});
  auto len = [offsets](size_t i) { return offsets[i + 1] - offsets[i]; };
  std::stable_sort(plan.order.begin(), plan.order.end(),
                   [&](size_t a, size_t b) { return len(a) > len(b); });

  batch_size = std::max<size_t>(batch_size, 1);
  size_t i = 0;
  while (i < count) {
    // Longest first: the first sequence of a batch fixes its padded length.
    const int64_t max_len = std::max<int64_t>(len(plan.order[i]), 1);
    const auto by_tokens = static_cast<size_t>(std::max<int64_t>(max_batch_tokens / max_len, 1));
    const size_t rows = std::min({batch_size, by_tokens, count - i});
    plan.batches.push_back(Batch{i, i + rows, max_len});
    i += rows;
  }
  return plan;
}

}  // namespace fastsbert::engine
