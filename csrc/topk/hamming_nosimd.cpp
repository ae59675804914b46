// Targets without the x86 kernels: only the portable Hamming level exists.
#include "topk/hamming_internal.h"

namespace fastsbert::hamming_detail {
const HammingOps* hamming_ops_avx2() { return nullptr; }
const HammingOps* hamming_ops_avx512() { return nullptr; }
}  // namespace fastsbert::hamming_detail
