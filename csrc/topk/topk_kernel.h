// The top-k tile kernel, written once over a small SIMD vocabulary `T` and compiled once
// per ISA level (topk_scalar.cpp, topk_avx2.cpp, topk_avx512.cpp) with per-file flags.
//
// Why our own micro-kernel rather than a BLAS: the product is fused with selection. Each
// MR x NR register tile is compared against the rows' (and, for all-pairs, the columns')
// current k-th best scores while still hot, so no score block is written to memory and
// all-pairs searches feed both triangles from one product, halving the work. Measured on
// the 2-core EPYC (Zen 4, one thread, 4000 x 4000 x 384, a busy machine): OpenBLAS sgemm
// alone (numpy) 50-65 GFLOP/s; this kernel 45-54 GFLOP/s *including* top-k selection;
// FAISS (OpenBLAS sgemm + heaps) 31-40 GFLOP/s. A BLAS would buy at most the sgemm gap,
// lose the fusion and the symmetric split, and add a run-time dependency.
//
// Bit-identical levels: every score is accumulated as c = fma(a[k], b[k], c) for
// k = 0, 1, ..., d - 1 starting from +0, in every level and for every tile position, so
// levels differ only in speed. Scalar uses std::fma for the same reason.
//
// Everything here lives in an anonymous namespace: see topk_internal.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "topk/topk_internal.h"

namespace fastsbert::topk_detail {
namespace {

static inline int lowest_bit(uint64_t m) { return __builtin_ctzll(m); }

// Lanes l of a panel (columns j0 + l) that pair with row i on a diagonal tile:
// strict: j > i; otherwise j >= i.
static inline uint64_t diag_mask(int64_t i, int64_t j0, bool strict, uint64_t full) {
  const int64_t delta = i - j0 + (strict ? 1 : 0);  // first allowed lane
  if (delta <= 0) return full;
  if (delta >= 64) return 0;
  return full & ~((uint64_t{1} << delta) - 1);
}

template <class T, int MR, int NV>
struct Kernel {
  static constexpr int W = T::W;
  static constexpr int NR = NV * W;
  static_assert(NR <= 64, "masks are 64-bit");
  static_assert(kSelectPad >= static_cast<size_t>(NR), "threshold padding too small");

  static size_t packed_size(size_t cols, size_t d) { return (cols + NR - 1) / NR * NR * d; }

  // Panel p holds columns [p*NR, p*NR + NR) as d rows of NR floats.
  static void pack_b(const float* src, size_t cols, size_t d, const float* scale, float* dst) {
    const size_t panels = (cols + NR - 1) / NR;
    for (size_t p = 0; p < panels; ++p) {
      float* out = dst + p * d * NR;
      for (int l = 0; l < NR; ++l) {
        const size_t j = p * NR + static_cast<size_t>(l);
        if (j >= cols) {
          for (size_t k = 0; k < d; ++k) out[k * NR + l] = 0.0f;
        } else if (scale) {
          const float* row = src + j * d;
          const float s = scale[j];
          for (size_t k = 0; k < d; ++k) out[k * NR + l] = row[k] * s;
        } else {
          const float* row = src + j * d;
          for (size_t k = 0; k < d; ++k) out[k * NR + l] = row[k];
        }
      }
    }
  }

  static size_t packed_a_size(size_t rows, size_t d) { return (rows + MR - 1) / MR * MR * d; }

  // Strip s holds rows [s*MR, s*MR + MR) as d columns of MR floats; missing rows are 0.
  static void pack_a(const float* src, size_t rows, size_t d, const float* scale, float* dst) {
    const size_t strips = (rows + MR - 1) / MR;
    for (size_t st = 0; st < strips; ++st) {
      float* out = dst + st * d * MR;
      for (int r = 0; r < MR; ++r) {
        const size_t i = st * MR + static_cast<size_t>(r);
        if (i >= rows) {
          for (size_t k = 0; k < d; ++k) out[k * MR + r] = 0.0f;
        } else if (scale) {
          const float* row = src + i * d;
          const float s = scale[i];
          for (size_t k = 0; k < d; ++k) out[k * MR + r] = row[k] * s;
        } else {
          const float* row = src + i * d;
          for (size_t k = 0; k < d; ++k) out[k * MR + r] = row[k];
        }
      }
    }
  }

  // out[r * NR + l] = sum_k a[k * MR + r] * b[k * NR + l], accumulated in k order.
  static inline void micro(const float* a, const float* b, size_t d, float* out) {
    typename T::V c[MR][NV];
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) c[r][v] = T::zero();
    for (size_t k = 0; k < d; ++k) {
      typename T::V bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) bv[v] = T::load(b + k * NR + v * W);
#pragma GCC unroll 32
      for (int r = 0; r < MR; ++r) {
        const typename T::V av = T::set1(a[k * MR + r]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) c[r][v] = T::fma(av, bv[v], c[r][v]);
      }
    }
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) T::store(out + r * NR + v * W, c[r][v]);
  }

  // Bit l set where out[r * NR + l] >= t[l] (t: NR thresholds) or >= the scalar t0.
  static inline uint64_t ge_row(const float* row, typename T::V t0) {
    uint64_t m = 0;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      m |= static_cast<uint64_t>(T::ge_mask(T::load(row + v * W), t0)) << (v * W);
    return m;
  }
  static inline uint64_t ge_cols(const float* row, const typename T::V* t) {
    uint64_t m = 0;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v)
      m |= static_cast<uint64_t>(T::ge_mask(T::load(row + v * W), t[v])) << (v * W);
    return m;
  }

  // Loop order (BLIS-like): for each block of kStripsPerBlock row strips (L2-resident),
  // for each column panel (L1-resident across the block), for each strip: one micro-tile.
  static void tile(const Tile& t) {
    alignas(64) float out[MR * NR];
    const size_t panels = (t.b_cols + NR - 1) / NR;
    const size_t strips = (t.a_rows + MR - 1) / MR;
    const size_t per_block = strips_per_block(t.d);
    for (size_t s0 = 0; s0 < strips; s0 += per_block) {
      const size_t s1 = s0 + per_block < strips ? s0 + per_block : strips;
      for (size_t p = 0; p < panels; ++p) {
        const float* b = t.b + p * t.d * NR;
        for (size_t st = s0; st < s1; ++st) {
          const int64_t gi0 = t.a_base + static_cast<int64_t>(st * MR);
          const int64_t gj0 = t.b_base + static_cast<int64_t>(p * NR);
          // On a diagonal tile, skip micro-tiles lying wholly below the diagonal.
          if ((t.mode == TileMode::upper_diag || t.mode == TileMode::range_diag) &&
              gi0 > gj0 + NR - 1)
            continue;
          micro(t.a + st * t.d * MR, b, t.d, out);
          epilogue(t, out, st, p);
        }
      }
    }
  }

  // Strips of A kept in L2 while the column panels sweep past: about kStripBlockBytes.
  static size_t strips_per_block(size_t d) {
    const size_t bytes = static_cast<size_t>(MR) * (d ? d : 1) * sizeof(float);
    const size_t n = kStripBlockBytes / bytes;
    return n ? n : 1;
  }

  // Offers the micro-tile's scores that beat the current thresholds to selection.
  static void epilogue(const Tile& t, const float* out, size_t st, size_t p) {
    const bool diag = t.mode == TileMode::upper_diag || t.mode == TileMode::range_diag;
    const bool strict = t.mode == TileMode::upper_diag;
    const bool both = t.mode != TileMode::rows;
    const uint64_t all = NR == 64 ? ~uint64_t{0} : (uint64_t{1} << NR) - 1;
    const size_t rows = t.a_rows - st * MR < static_cast<size_t>(MR) ? t.a_rows - st * MR : MR;
    const size_t left = t.b_cols - p * NR;
    const uint64_t valid = left >= static_cast<size_t>(NR) ? all : (uint64_t{1} << left) - 1;
    const int64_t gi0 = t.a_base + static_cast<int64_t>(st * MR);
    const int64_t gj0 = t.b_base + static_cast<int64_t>(p * NR);
    Select& rs = *t.rows_sel;
    typename T::V tc[NV] = {};
    if (both) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) tc[v] = T::loadu(t.cols_sel->thr + gj0 + v * W);
    }
    for (size_t r = 0; r < rows; ++r) {
      const int64_t gi = gi0 + static_cast<int64_t>(r);
      const float* row = out + r * NR;
      uint64_t allowed = valid;
      if (diag) allowed &= diag_mask(gi, gj0, strict, all);
      uint64_t m = ge_row(row, T::set1(rs.thr[gi])) & allowed;
      while (m) {
        const int l = lowest_bit(m);
        m &= m - 1;
        select_push(rs, static_cast<size_t>(gi), row[l], static_cast<int32_t>(gj0 + l));
      }
      if (!both) continue;
      // The column side: pair (gi, gj) also competes for row gj's list; on a range
      // diagonal tile the self pair gi == gj was offered once above.
      if (t.mode == TileMode::range_diag) allowed &= diag_mask(gi, gj0, true, all);
      m = ge_cols(row, tc) & allowed;
      while (m) {
        const int l = lowest_bit(m);
        m &= m - 1;
        select_push(*t.cols_sel, static_cast<size_t>(gj0 + l), row[l], static_cast<int32_t>(gi));
      }
    }
  }

  // Rescoring (rescore.cpp): the dot product of q with row and row's squared norm, from
  // one pass over row, which is usually a cache miss away. kAcc independent accumulators of
  // W lanes hide the FMA latency. The scalar level has no FMA hardware on a baseline x86
  // build, where std::fma is a library call: it multiplies and adds, in kAcc * 8 lanes the
  // compiler vectorises.
  static void dot_norm(const float* q, const float* row, size_t d, float* dot, float* norm_sq) {
    constexpr int kAcc = 4;
    constexpr int L = W == 1 ? 8 : W;  // lanes per accumulator
    constexpr int step = kAcc * L;
    size_t k = 0;
    float s = 0.0f, n = 0.0f;
    if constexpr (W == 1) {
      float acc[step] = {}, sq[step] = {};
      for (; k + step <= d; k += step) {
        for (int l = 0; l < step; ++l) {
          acc[l] += q[k + l] * row[k + l];
          sq[l] += row[k + l] * row[k + l];
        }
      }
      for (int l = 0; l < step; ++l) {
        s += acc[l];
        n += sq[l];
      }
    } else {
      typename T::V acc[kAcc], sq[kAcc];
#pragma GCC unroll 4
      for (int u = 0; u < kAcc; ++u) acc[u] = sq[u] = T::zero();
      for (; k + step <= d; k += step) {
#pragma GCC unroll 4
        for (int u = 0; u < kAcc; ++u) {
          const typename T::V r = T::loadu(row + k + u * W);
          acc[u] = T::fma(T::loadu(q + k + u * W), r, acc[u]);
          sq[u] = T::fma(r, r, sq[u]);
        }
      }
      for (; k + W <= d; k += W) {
        const typename T::V r = T::loadu(row + k);
        acc[0] = T::fma(T::loadu(q + k), r, acc[0]);
        sq[0] = T::fma(r, r, sq[0]);
      }
      alignas(64) float lanes[2 * kAcc * W];
#pragma GCC unroll 4
      for (int u = 0; u < kAcc; ++u) {
        T::store(lanes + u * W, acc[u]);
        T::store(lanes + (kAcc + u) * W, sq[u]);
      }
      for (int l = 0; l < kAcc * W; ++l) {
        s += lanes[l];
        n += lanes[kAcc * W + l];
      }
    }
    for (; k < d; ++k) {
      s += q[k] * row[k];
      n += row[k] * row[k];
    }
    *dot = s;
    *norm_sq = n;
  }

  static const KernelOps* ops(const char* name) {
    static const KernelOps o{name,        static_cast<size_t>(MR), static_cast<size_t>(NR),
                             &packed_a_size, &pack_a,  &packed_size, &pack_b, &tile, &dot_norm};
    return &o;
  }
};

}  // namespace
}  // namespace fastsbert::topk_detail
