// Which embedding-bag level runs. Compiled for the baseline ISA.
#include "static/embedding_bag.h"

#include "common/cpu_features.h"

namespace fastsbert::static_embed {

BagMeanFn bag_mean_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar: return bag_mean_scalar();
    case SimdLevel::avx2: return cpu_features_detected().avx2 ? bag_mean_avx2() : nullptr;
    case SimdLevel::avx512: return cpu_features_detected().avx512 ? bag_mean_avx512() : nullptr;
  }
  return nullptr;
}

std::vector<SimdLevel> embedding_bag_levels() {
  std::vector<SimdLevel> out;
  for (SimdLevel l : {SimdLevel::scalar, SimdLevel::avx2, SimdLevel::avx512}) {
    if (bag_mean_for(l)) out.push_back(l);
  }
  return out;
}

SimdLevel embedding_bag_level() {
  if (auto forced = forced_simd_level([](SimdLevel l) { return bag_mean_for(l) != nullptr; })) {
    return *forced;
  }
  return embedding_bag_levels().back();
}

}  // namespace fastsbert::static_embed
