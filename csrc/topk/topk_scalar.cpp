// Scalar reference level: runs anywhere. std::fma keeps it bit-identical to the SIMD
// levels (glibc's fma uses the FMA instruction where the CPU has one).
#include <cmath>

#include "topk/topk_kernel.h"

namespace fastsbert::topk_detail {
namespace {

struct Scalar {
  using V = float;
  static constexpr int W = 1;
  static V zero() { return 0.0f; }
  static V load(const float* p) { return *p; }
  static V loadu(const float* p) { return *p; }
  static V set1(float x) { return x; }
  static V fma(V a, V b, V c) { return std::fma(a, b, c); }
  static void store(float* p, V v) { *p = v; }
  static uint32_t ge_mask(V a, V b) { return a >= b ? 1u : 0u; }
};

}  // namespace

const KernelOps* kernel_ops_scalar() { return Kernel<Scalar, 4, 4>::ops("scalar"); }

}  // namespace fastsbert::topk_detail
