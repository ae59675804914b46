// Top-k search: every query row against a corpus, in query chunks times corpus column
// blocks, each worker selecting into its own buffers, merged row by row at the end.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/parallel.h"
#include "topk/topk_driver.h"

namespace fastsbert {
namespace topk_detail {

void search_cpu(MatrixView q, MatrixView c, size_t k, float* scores, int64_t* indices,
                const TopkOptions& opt) {
  const size_t kk = topk_columns(k, c.rows);
  if (q.rows == 0 || kk == 0) return;
  const KernelOps& ops = active_ops();
  const int threads = resolve_threads(opt.threads);
  const bool cosine = opt.metric == Metric::cosine;
  const std::vector<float> inv_q = inverse_norms(q, "queries", threads, opt.cancel);
  const std::vector<float> inv_c = inverse_norms(c, "corpus", threads, opt.cancel);
  const size_t d = q.cols;
  const size_t bc = block_cols(ops, d);
  const size_t blocks = (c.rows + bc - 1) / bc;
  const size_t chunk = std::min(kQueryChunk, q.rows);

  AlignedFloats qa = alloc_floats(ops.packed_a_size(chunk, d));
  // Per worker: its selection of the current chunk and its packed column block.
  const size_t workers = parallel_workers(blocks, threads);
  std::vector<std::unique_ptr<RowSelection>> sel(workers);
  std::vector<AlignedFloats> packed(workers);

  for (size_t q0 = 0; q0 < q.rows; q0 += chunk) {
    const size_t qr = std::min(chunk, q.rows - q0);
    ops.pack_a(q.data + q0 * d, qr, d, cosine ? inv_q.data() + q0 : nullptr, qa.get());
    const float* a = qa.get();
    for (auto& s : sel) s.reset();
    parallel_for(blocks, threads, opt.cancel, [&](size_t b, size_t worker) {
      auto& s = sel[worker];
      if (!s) s = std::make_unique<RowSelection>(qr, kk);
      if (!packed[worker]) packed[worker] = alloc_floats(ops.packed_size(bc, d));
      float* pb = packed[worker].get();
      const size_t c0 = b * bc, cn = std::min(bc, c.rows - c0);
      ops.pack_b(c.data + c0 * d, cn, d, cosine ? inv_c.data() + c0 : nullptr, pb);
      Tile tile;
      tile.a = a;
      tile.a_rows = qr;
      tile.b = pb;
      tile.b_cols = cn;
      tile.b_base = static_cast<int64_t>(c0);
      tile.d = d;
      tile.mode = TileMode::rows;
      tile.rows_sel = &s->select();
      ops.tile(tile);
    });
    // Merge the workers' candidates row by row (a worker that took no block has none).
    parallel_for(row_items(qr), threads, opt.cancel, [&](size_t item, size_t) {
      std::vector<Entry> cand;
      const size_t lo = item * kRowsPerItem, hi = std::min(qr, lo + kRowsPerItem);
      for (size_t r = lo; r < hi; ++r) {
        cand.clear();
        for (auto& s : sel) {
          if (s) s->collect(r, cand);
        }
        best_first(cand, kk);
        float* so = scores + (q0 + r) * kk;
        int64_t* io = indices + (q0 + r) * kk;
        for (size_t j = 0; j < kk; ++j) {
          so[j] = cand[j].score;
          io[j] = cand[j].index;
        }
      }
    });
  }
}

}  // namespace topk_detail

using namespace topk_detail;

void topk_search(MatrixView queries, MatrixView corpus, size_t k, float* scores,
                 int64_t* indices, const TopkOptions& options) {
  check_options(options);
  check_matrix(queries, "queries");
  check_matrix(corpus, "corpus");
  if (queries.cols != corpus.cols && queries.rows > 0 && corpus.rows > 0) {
    throw std::invalid_argument("dimension mismatch: queries have " +
                                std::to_string(queries.cols) + " columns, corpus has " +
                                std::to_string(corpus.cols));
  }
  if (is_cuda(options.device)) {
    search_cuda(queries, corpus, k, scores, indices, options);
    return;
  }
  check_cpu_only(options, "topk_search");
  search_cpu(queries, corpus, k, scores, indices, options);
}

}  // namespace fastsbert
