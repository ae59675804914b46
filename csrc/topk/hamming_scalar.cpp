// Hamming distances in portable code: the reference every other level must equal.
#include "topk/hamming_portable.h"

namespace fastsbert::hamming_detail {
namespace {
const HammingOps kOps{"scalar", portable_below};
}  // namespace

const HammingOps* hamming_ops_scalar() { return &kOps; }

}  // namespace fastsbert::hamming_detail
