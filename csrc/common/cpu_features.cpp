#include "common/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define FASTSBERT_X86 1
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace fastsbert {

namespace {

#ifdef FASTSBERT_X86
uint64_t xgetbv0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

// Linux hands out AMX tile state only to processes that ask for it (arch_prctl); until
// then XCR0 shows the tile bits but using the tiles faults. ONNX Runtime's kernels ask
// for themselves; asking here just tells us whether the kernel would grant it.
bool os_grants_amx() {
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtileData = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtileData) == 0;
#else
  return true;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28), fma = c & (1u << 12);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = xgetbv0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;      // SSE and AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;    // plus opmask and ZMM state
  const bool os_tiles = (xcr0 & 0x60000) == 0x60000;  // XTILECFG and XTILEDATA
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = os_ymm && fma && (b & (1u << 5));
  f.avx512 = f.avx2 && os_zmm && (b & (1u << 16));
  f.avx512_vnni = f.avx512 && (c & (1u << 11));
  f.avx512_vpopcntdq = f.avx512 && (c & (1u << 14));
  const bool amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
  f.amx = os_tiles && amx_tile && amx_int8 && os_grants_amx();
  unsigned a1, b1, c1, d1;
  if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) f.avx_vnni = f.avx2 && (a1 & (1u << 4));
  return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

struct Flag {
  const char* name;
  bool CpuFeatures::*field;
};
constexpr Flag kFlags[] = {
    {"avx2", &CpuFeatures::avx2},
    {"avx512", &CpuFeatures::avx512},
    {"avx512_vnni", &CpuFeatures::avx512_vnni},
    {"avx_vnni", &CpuFeatures::avx_vnni},
    {"amx", &CpuFeatures::amx},
};

void set_named(CpuFeatures& f, const std::string& name, bool value, const std::string& spec) {
  if (name == "vnni") {
    f.avx512_vnni = f.avx_vnni = value;
    return;
  }
  for (const Flag& flag : kFlags) {
    if (name == flag.name) {
      f.*flag.field = value;
      return;
    }
  }
  throw std::invalid_argument("FASTSBERT_CPU_FEATURES=" + spec + ": unknown feature '" + name +
                              "' (expected avx2, avx512, avx512_vnni, avx_vnni, vnni or amx)");
}

}  // namespace

const CpuFeatures& cpu_features_detected() {
  static const CpuFeatures f = detect();
  return f;
}

CpuFeatures cpu_features() {
  CpuFeatures f = cpu_features_detected();
  const char* env = std::getenv("FASTSBERT_CPU_FEATURES");
  if (!env || !*env) return f;
  const std::string spec = env;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    std::string item = spec.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) {
      if (item[0] != '+' && item[0] != '-') {
        throw std::invalid_argument("FASTSBERT_CPU_FEATURES=" + spec + ": '" + item +
                                    "' must start with + (add) or - (mask)");
      }
      set_named(f, item.substr(1), item[0] == '+', spec);
    }
    start = end + 1;
  }
  return f;
}

std::vector<std::string> cpu_feature_names(const CpuFeatures& f) {
  std::vector<std::string> out;
  for (const Flag& flag : kFlags) {
    if (f.*flag.field) out.emplace_back(flag.name);
  }
  return out;
}

bool int8_is_fast(const CpuFeatures& f) { return f.avx512_vnni || f.avx_vnni || f.amx; }

}  // namespace fastsbert
