// Targets without the x86 kernels: only the portable embedding-bag level exists.
#include "static/embedding_bag.h"

namespace fastsbert::static_embed {
BagMeanFn bag_mean_avx2() { return nullptr; }
BagMeanFn bag_mean_avx512() { return nullptr; }
}  // namespace fastsbert::static_embed
