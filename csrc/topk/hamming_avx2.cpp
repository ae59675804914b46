// Hamming distances with the POPCNT instruction (this file is compiled with -mpopcnt;
// the driver runs it only on CPUs with AVX2, all of which have POPCNT).
#include "topk/hamming_portable.h"

namespace fastsbert::hamming_detail {
namespace {
const HammingOps kOps{"avx2", portable_below};
}  // namespace

const HammingOps* hamming_ops_avx2() { return &kOps; }

}  // namespace fastsbert::hamming_detail
