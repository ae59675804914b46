// Top-k dispatch: which SIMD level runs, thread counts, the argument checks every entry
// point makes, row norms and aligned buffers. Compiled for the baseline ISA; the kernels
// live in topk_<level>.cpp.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "topk/topk_driver.h"

namespace fastsbert {
namespace topk_detail {
namespace {

const KernelOps* ops_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar: return kernel_ops_scalar();
    case SimdLevel::avx2: return kernel_ops_avx2();
    case SimdLevel::avx512: return kernel_ops_avx512();
  }
  return nullptr;
}

bool level_runs(SimdLevel level) {
  if (!ops_for(level)) return false;
  // Off x86 the features read false and only scalar has kernels.
  if (level == SimdLevel::avx2) return cpu_features_detected().avx2;
  if (level == SimdLevel::avx512) return cpu_features_detected().avx512;
  return level == SimdLevel::scalar;
}

// A narrower level replaces the widest only when it measures this much faster, so that
// timing noise between two equal kernels never moves the choice.
constexpr double kNarrowerMargin = 1.08;

struct LevelChoice {
  std::vector<SimdRate> rates;  // empty when there was nothing to choose
  SimdLevel level = SimdLevel::scalar;
};

// Times each SIMD level's tile kernel on one thread: a 96 x 256 tile of dimension 384
// (a typical sentence vector) whose packed operands stay in L2, as in a real tile. Rounds
// alternate between the levels and keep each level's fastest round, so a burst of other
// load hits both or neither. No candidate is ever accepted (thresholds are +inf), which
// leaves the multiply-adds and the compares a real tile spends nearly all its time on.
// About 3 ms in all on a current core.
LevelChoice measure_levels() {
  LevelChoice out;
  const std::vector<SimdLevel> supported = topk_supported_simd_levels();
  out.level = supported.back();
  std::vector<SimdLevel> simd;
  for (SimdLevel l : supported)
    if (l != SimdLevel::scalar) simd.push_back(l);
  if (simd.size() < 2) return out;

  constexpr size_t kRows = 96, kCols = 256, kDim = 384, kTilesPerRound = 2, kRounds = 5;
  std::vector<float> src((kRows + kCols) * kDim);
  uint32_t state = 12345;
  for (float& v : src) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(state >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
  std::vector<float> thr(kRows + kSelectPad, std::numeric_limits<float>::infinity());
  std::vector<Entry> buf(1);
  std::vector<uint32_t> size(kRows, 0);
  Select sel;
  sel.thr = thr.data();
  sel.buf = buf.data();
  sel.size = size.data();
  sel.cap = 1;
  sel.owner = size.data();
  sel.full = [](void* owner, size_t row) { static_cast<uint32_t*>(owner)[row] = 0; };

  struct Candidate {
    const KernelOps* ops;
    AlignedFloats a, b;
    Tile tile;
    double best = std::numeric_limits<double>::infinity();
  };
  std::vector<Candidate> cands;
  for (SimdLevel l : simd) {
    const KernelOps* ops = ops_for(l);
    Candidate c{ops, alloc_floats(ops->packed_a_size(kRows, kDim)),
                alloc_floats(ops->packed_size(kCols, kDim)), Tile{}};
    ops->pack_a(src.data(), kRows, kDim, nullptr, c.a.get());
    ops->pack_b(src.data() + kRows * kDim, kCols, kDim, nullptr, c.b.get());
    c.tile.a = c.a.get();
    c.tile.a_rows = kRows;
    c.tile.b = c.b.get();
    c.tile.b_cols = kCols;
    c.tile.d = kDim;
    c.tile.mode = TileMode::rows;
    c.tile.rows_sel = &sel;
    ops->tile(c.tile);  // warm the caches (and, on some CPUs, the wide units' power state)
    cands.push_back(std::move(c));
  }
  using Clock = std::chrono::steady_clock;
  for (size_t round = 0; round < kRounds; ++round) {
    for (Candidate& c : cands) {
      const auto t0 = Clock::now();
      for (size_t t = 0; t < kTilesPerRound; ++t) c.ops->tile(c.tile);
      c.best = std::min(c.best, std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  constexpr double kFlops = 2.0 * kRows * kCols * kDim * kTilesPerRound;
  for (size_t i = 0; i < cands.size(); ++i) {
    out.rates.push_back(SimdRate{simd[i], kFlops / std::max(cands[i].best, 1e-9) / 1e9});
  }
  // The widest level, unless a narrower one beats the current pick by the margin.
  const SimdRate* pick = &out.rates.back();
  for (size_t i = out.rates.size() - 1; i-- > 0;) {
    if (out.rates[i].gflops > pick->gflops * kNarrowerMargin) pick = &out.rates[i];
  }
  out.level = pick->level;
  return out;
}

const LevelChoice& measured_choice() {
  static const LevelChoice choice = measure_levels();
  return choice;
}

}  // namespace

const KernelOps& active_ops() { return *ops_for(topk_simd_level()); }

SimdLevel widest_simd_level() {
  if (auto forced = forced_simd_level(level_runs)) return *forced;
  return topk_supported_simd_levels().back();
}

const KernelOps& widest_ops() { return *ops_for(widest_simd_level()); }

size_t block_cols(const KernelOps& ops, size_t d) {
  size_t c = std::max(kMinBlockCols, kBlockBytes / (std::max<size_t>(d, 1) * sizeof(float)));
  return (c + ops.nr - 1) / ops.nr * ops.nr;
}

int resolve_threads(int requested) {
  if (requested < 0) {
    throw std::invalid_argument("threads must be >= 0 (0: all available CPUs), got " +
                                std::to_string(requested));
  }
  return thread_count(requested);
}

void check_options(const TopkOptions& opt) { resolve_threads(opt.threads); }

void check_cpu_only(const TopkOptions& opt, const char* what) {
  if (opt.device != "cpu") {
    throw std::invalid_argument(std::string(what) + ": device must be \"cpu\", got \"" +
                                opt.device + "\"");
  }
}

void check_matrix(const MatrixView& m, const char* name) {
  if (m.rows > 0 && m.cols > 0 && !m.data) {
    throw std::invalid_argument(std::string(name) + ": null data");
  }
  if (m.rows > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw std::invalid_argument(std::string(name) + ": more than 2^31 - 1 rows");
  }
}

// Inverse L2 norms (cosine) and the finiteness check, which the norm gives for free: a
// row's sum of squares is finite exactly when all its values are finite (values beyond
// ~1e154 would overflow it and are rejected too). Zero rows get 0: they score 0.
std::vector<float> inverse_norms(const MatrixView& m, const char* name, int threads,
                                 const CancelToken* cancel) {
  std::vector<float> inv(m.rows);
  std::atomic<size_t> bad{m.rows};
  // Small inputs stay on one thread: starting threads would cost more than the work.
  constexpr size_t kValuesPerThread = 65536;
  const int t = static_cast<int>(std::min<size_t>(
      static_cast<size_t>(threads), std::max<size_t>(1, m.rows * m.cols / kValuesPerThread)));
  parallel_for(row_items(m.rows), t, cancel, [&](size_t item, size_t) {
    const size_t lo = item * kRowsPerItem, hi = std::min(m.rows, lo + kRowsPerItem);
    for (size_t i = lo; i < hi; ++i) {
      const float* r = m.data + i * m.cols;
      double s = 0.0;
      for (size_t k = 0; k < m.cols; ++k) s += static_cast<double>(r[k]) * r[k];
      if (!std::isfinite(s)) {
        size_t cur = bad.load();
        while (i < cur && !bad.compare_exchange_weak(cur, i)) {
        }
        return;
      }
      inv[i] = s > 0.0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0.0f;
    }
  });
  if (bad.load() < m.rows) {
    throw std::invalid_argument(std::string(name) + " contains NaN or infinity (row " +
                                std::to_string(bad.load()) + ")");
  }
  return inv;
}

AlignedFloats alloc_floats(size_t n) {
  const size_t bytes = std::max<size_t>(64, (n * sizeof(float) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  return AlignedFloats(static_cast<float*>(p));
}

}  // namespace topk_detail

using namespace topk_detail;

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar: return "scalar";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::avx512: return "avx512";
  }
  return "unknown";
}

std::optional<SimdLevel> forced_simd_level(bool (*runs)(SimdLevel)) {
  const char* env = std::getenv("FASTSBERT_SIMD");
  if (!env || !*env) return std::nullopt;
  for (SimdLevel l : {SimdLevel::scalar, SimdLevel::avx2, SimdLevel::avx512}) {
    if (std::strcmp(env, simd_level_name(l)) == 0) {
      if (!runs(l)) {
        throw std::invalid_argument(std::string("FASTSBERT_SIMD=") + env +
                                    ": this machine or build cannot run that level");
      }
      return l;
    }
  }
  throw std::invalid_argument(std::string("FASTSBERT_SIMD=") + env +
                              ": expected scalar, avx2 or avx512");
}

std::vector<SimdLevel> topk_supported_simd_levels() {
  std::vector<SimdLevel> out;
  for (SimdLevel l : {SimdLevel::scalar, SimdLevel::avx2, SimdLevel::avx512})
    if (level_runs(l)) out.push_back(l);
  return out;
}

SimdLevel topk_simd_level() {
  if (auto forced = forced_simd_level(level_runs)) return *forced;
  return measured_choice().level;
}

std::vector<SimdRate> topk_simd_rates() { return measured_choice().rates; }

}  // namespace fastsbert
