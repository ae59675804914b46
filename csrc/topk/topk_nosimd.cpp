// Targets without the x86 SIMD kernels: only the scalar level exists.
#include "topk/topk_internal.h"

namespace fastsbert::topk_detail {

const KernelOps* kernel_ops_avx2() { return nullptr; }
const KernelOps* kernel_ops_avx512() { return nullptr; }

}  // namespace fastsbert::topk_detail
