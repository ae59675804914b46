// Embedding-bag mean, portable reference level (compiled without contraction: the other
// levels are checked against it bit for bit).
#include <cstring>

#include "static/embedding_bag.h"

namespace fastsbert::static_embed {
namespace {

void bag_mean(const float* table, size_t dim, const int64_t* ids, size_t n, float* out) {
  std::memset(out, 0, dim * sizeof(float));
  if (n == 0) return;
  for (size_t k = 0; k < n; ++k) {
    const float* row = table + static_cast<size_t>(ids[k]) * dim;
    for (size_t d = 0; d < dim; ++d) out[d] += row[d];
  }
  const float scale = 1.0f / static_cast<float>(n);
  for (size_t d = 0; d < dim; ++d) out[d] *= scale;
}

}  // namespace

BagMeanFn bag_mean_scalar() { return &bag_mean; }

}  // namespace fastsbert::static_embed
