// Run-time CPU feature detection (cpuid + xgetbv), the one place fastsbert asks the CPU
// what it can run: the top-k kernels pick their SIMD level from it and the engine decides
// whether int8 inference is worth it.
#pragma once

#include <string>
#include <vector>

namespace fastsbert {

struct CpuFeatures {
  bool avx2 = false;         // AVX2 + FMA, with the OS saving YMM state
  bool avx512 = false;       // AVX-512 F, with the OS saving ZMM and opmask state
  bool avx512_vnni = false;  // AVX-512 VNNI: int8 dot products (VPDPBUSD)
  bool avx_vnni = false;     // AVX-VNNI: the same on 256-bit registers
  bool amx = false;          // AMX tiles with int8 support, enabled by the OS
  // For the Hamming top-k kernel (detected only: FASTSBERT_CPU_FEATURES does not name it,
  // since claiming it would run instructions the CPU lacks).
  bool avx512_vpopcntdq = false;  // AVX-512 VPOPCNTDQ: popcount of 64-bit lanes
};

// What the CPU and OS support, detected once.
const CpuFeatures& cpu_features_detected();

// The detected features after FASTSBERT_CPU_FEATURES, a comma-separated list of
// "-name" (mask a feature) and "+name" (claim one) with names avx2, avx512,
// avx512_vnni, avx_vnni, vnni (both VNNI kinds) and amx. Read on every call so tests
// can change it; an unknown name throws std::invalid_argument naming it.
CpuFeatures cpu_features();

// Names of the features set in `f`, in the order above.
std::vector<std::string> cpu_feature_names(const CpuFeatures& f);

// Whether int8 matrix products run fast here: VNNI (either kind) or AMX.
bool int8_is_fast(const CpuFeatures& f);

}  // namespace fastsbert
