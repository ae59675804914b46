// All pairs within one set: tiles of the upper triangle scheduled so that no two threads
// share a row's selection (topk_self, and the base of mining and communities).
#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/parallel.h"
#include "topk/topk_driver.h"

namespace fastsbert {
namespace topk_detail {

namespace {
// kAllPairsPrepackBytes, or FASTSBERT_TOPK_PREPACK_BYTES (tests set 0 to run the per-tile
// packing on small sets).
size_t prepack_bytes() {
  const char* env = std::getenv("FASTSBERT_TOPK_PREPACK_BYTES");
  if (env == nullptr || *env == '\0') return kAllPairsPrepackBytes;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(env, &end, 10);
  if (*end != '\0' || env[0] == '-')
    throw std::invalid_argument(std::string("FASTSBERT_TOPK_PREPACK_BYTES must be a byte count, got '") +
                                env + "'");
  return static_cast<size_t>(v);
}
}  // namespace

// Scores every unordered pair {i, j} of x once (i == j too when `with_self`) and offers it
// to both rows' selections. Tiles are scheduled in rounds of disjoint block pairs (the
// circle method of round-robin tournaments), so no two threads touch one row's selection
// at the same time and no locks are needed.
void all_pairs(MatrixView x, RowSelection& sel, bool range, const TopkOptions& opt) {
  const size_t n = x.rows, d = x.cols;
  if (n == 0) return;
  const KernelOps& ops = active_ops();
  const int threads = resolve_threads(opt.threads);
  const bool cosine = opt.metric == Metric::cosine;
  const std::vector<float> inv = inverse_norms(x, "embeddings", threads, opt.cancel);

  // Block count: a multiple of 2 * threads, so every round splits evenly.
  const size_t target = block_cols(ops, d) * kAllPairsBlockFactor;
  const size_t unit = 2 * static_cast<size_t>(threads);
  size_t nb = (n + target - 1) / target;
  nb = (nb + unit - 1) / unit * unit;
  // Block b covers rows [start[b], start[b + 1]): n / nb rows each, the boundaries rounded
  // to the panel width. Equal blocks keep every tile of a round the same size; a short
  // last block (n rounded up to whole blocks) left one worker idle for part of each round
  // (12% of a 10k-row call on 2 threads).
  std::vector<size_t> start(nb + 1, n);
  for (size_t b = 0; b < nb; ++b)
    start[b] = std::min(n, (b * n / nb + ops.nr / 2) / ops.nr * ops.nr);
  size_t bs = 0;  // the largest block, which sizes the packing buffers
  for (size_t b = 0; b < nb; ++b) bs = std::max(bs, start[b + 1] - start[b]);

  struct Pair {
    size_t i, j;
  };
  std::vector<std::vector<Pair>> rounds;
  const size_t m = nb % 2 == 0 ? nb : nb + 1;  // odd counts get a dummy block (a bye)
  for (size_t r = 0; r + 1 < m; ++r) {
    std::vector<Pair> round;
    auto add = [&](size_t a, size_t b) {
      if (a < nb && b < nb) round.push_back({std::min(a, b), std::max(a, b)});
    };
    add(r, m - 1);
    for (size_t i = 1; i < m / 2; ++i) add((r + i) % (m - 1), (r + (m - 1) - i) % (m - 1));
    if (!round.empty()) rounds.push_back(std::move(round));
  }
  std::vector<Pair> diag;
  for (size_t b = 0; b < nb; ++b) diag.push_back({b, b});
  rounds.push_back(std::move(diag));

  // A round is one parallel_for over its tiles: the rounds' order is the only ordering
  // the selections need, and a worker that fails or cannot start blocks nobody.
  const size_t max_tiles = std::max<size_t>(1, nb / 2);
  const int t = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), max_tiles));
  const size_t workers = parallel_workers(nb, t);  // the widest round is the diagonal
  std::vector<AlignedFloats> packed_a(workers), packed_b(workers);
  const size_t sub = block_cols(ops, d);
  const float* scale = cosine ? inv.data() : nullptr;

  // A set small enough is packed once, each block in both layouts, before the rounds:
  // packing per tile reads every block nb times from memory, which was 11% of a 10k-row
  // call. Larger sets pack per tile, so memory stays at a few blocks per worker.
  const auto aligned = [](size_t floats) { return (floats + 15) / 16 * 16; };  // 64 bytes
  std::vector<size_t> a_at(nb + 1, 0), b_at(nb + 1, 0);
  AlignedFloats all_a, all_b;
  if (2 * n * d * sizeof(float) <= prepack_bytes()) {
    for (size_t b = 0; b < nb; ++b) {
      a_at[b + 1] = a_at[b] + aligned(ops.packed_a_size(start[b + 1] - start[b], d));
      b_at[b + 1] = b_at[b] + aligned(ops.packed_size(start[b + 1] - start[b], d));
    }
    all_a = alloc_floats(a_at[nb]);
    all_b = alloc_floats(b_at[nb]);
    parallel_for(nb, threads, opt.cancel, [&](size_t b, size_t) {
      const size_t r0 = start[b], rn = start[b + 1] - r0;
      if (rn == 0) return;
      ops.pack_a(x.data + r0 * d, rn, d, scale ? scale + r0 : nullptr, all_a.get() + a_at[b]);
      ops.pack_b(x.data + r0 * d, rn, d, scale ? scale + r0 : nullptr, all_b.get() + b_at[b]);
    });
  }

  for (const std::vector<Pair>& round : rounds) {
    parallel_for(round.size(), t, opt.cancel, [&](size_t item, size_t worker) {
      const Pair p = round[item];
      const size_t r0 = start[p.i], rn = start[p.i + 1] - r0;
      const size_t c0 = start[p.j], cn = start[p.j + 1] - c0;
      if (rn == 0 || cn == 0) return;  // fewer rows than blocks of a panel each
      const float* a = all_a ? all_a.get() + a_at[p.i] : nullptr;
      const float* b = all_b ? all_b.get() + b_at[p.j] : nullptr;
      if (!all_a) {
        AlignedFloats& pa = packed_a[worker];
        AlignedFloats& pb = packed_b[worker];
        if (!pa) pa = alloc_floats(ops.packed_a_size(bs, d));
        if (!pb) pb = alloc_floats(ops.packed_size(bs, d));
        ops.pack_a(x.data + r0 * d, rn, d, scale ? scale + r0 : nullptr, pa.get());
        ops.pack_b(x.data + c0 * d, cn, d, scale ? scale + c0 : nullptr, pb.get());
        a = pa.get();
        b = pb.get();
      }
      // Column sub-blocks keep the packed operand L2-resident.
      for (size_t s0 = 0; s0 < cn; s0 += sub) {
        Tile tile;
        tile.a = a;
        tile.a_rows = rn;
        tile.a_base = static_cast<int64_t>(r0);
        tile.b = b + s0 * d;  // panels are contiguous; sub is a multiple of nr
        tile.b_cols = std::min(sub, cn - s0);
        tile.b_base = static_cast<int64_t>(c0 + s0);
        tile.d = d;
        tile.mode = p.i != p.j ? TileMode::upper
                               : (range ? TileMode::range_diag : TileMode::upper_diag);
        tile.rows_sel = &sel.select();
        tile.cols_sel = &sel.select();
        ops.tile(tile);
      }
    });
  }
}

}  // namespace topk_detail

using namespace topk_detail;

void topk_self(MatrixView x, size_t k, float* scores, int64_t* indices,
               const TopkOptions& options) {
  check_options(options);
  check_matrix(x, "embeddings");
  check_cpu_only(options, "topk_self");
  const size_t n = x.rows;
  const size_t kk = n == 0 ? 0 : topk_columns(k, n - 1);
  if (kk == 0) return;
  RowSelection sel(n, kk);
  all_pairs(x, sel, false, options);
  parallel_for(row_items(n), options.threads, options.cancel, [&](size_t item, size_t) {
    std::vector<Entry> cand;
    const size_t lo = item * kRowsPerItem, hi = std::min(n, lo + kRowsPerItem);
    for (size_t r = lo; r < hi; ++r) {
      cand.clear();
      sel.collect(r, cand);
      best_first(cand, kk);
      for (size_t j = 0; j < kk; ++j) {
        scores[r * kk + j] = cand[j].score;
        indices[r * kk + j] = cand[j].index;
      }
    }
  });
}

}  // namespace fastsbert
