// Top-k driver: argument checks, normalisation, blocking, threads, selection, merging and
// SIMD dispatch. Compiled for the baseline ISA; the kernels live in topk_<level>.cpp.
#include "fastsbert/topk.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__linux__)
#include <dlfcn.h>
#endif

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "topk/topk_internal.h"
#include "topk/cuda/topk_cuda_api.h"

namespace fastsbert {
namespace topk_detail {
namespace {

// ---------------------------------------------------------------- tuning constants
// Packed column block: sized to stay in a core's L2 while every row strip of the tile
// streams past it.
constexpr size_t kBlockBytes = 512 * 1024;
constexpr size_t kMinBlockCols = 64;
// All-pairs tiles are kAllPairsBlockFactor column blocks wide: large enough that packing
// and normalising (O(block * d)) is small next to the tile product (O(block^2 * d)).
constexpr size_t kAllPairsBlockFactor = 3;
// Search processes queries in chunks of this many rows; each thread keeps a selection for
// one chunk, so memory stays bounded whatever the number of queries.
constexpr size_t kQueryChunk = 8192;
// Top-k selection buffers hold k + max(k / 2, kMinSlack) candidates before compacting.
constexpr size_t kMinSlack = 32;
// Range selection (community detection) stages this many candidates per row.
constexpr uint32_t kRangeStage = 32;

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

// ---------------------------------------------------------------- threads
int resolve_threads(int requested) {
  if (requested < 0) {
    throw std::invalid_argument("threads must be >= 0 (0: all available CPUs), got " +
                                std::to_string(requested));
  }
  return thread_count(requested);
}

// Rows per work item when a pass handles rows independently (norms, merging).
constexpr size_t kRowsPerItem = 256;
size_t row_items(size_t rows) { return (rows + kRowsPerItem - 1) / kRowsPerItem; }

// ---------------------------------------------------------------- buffers
struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;
AlignedFloats alloc_floats(size_t n) {
  const size_t bytes = std::max<size_t>(64, (n * sizeof(float) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw std::bad_alloc();
  return AlignedFloats(static_cast<float*>(p));
}

// ---------------------------------------------------------------- selection
inline bool better(const Entry& a, const Entry& b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

// Candidate buffers for `rows` rows: top-k mode (keep the k best) or range mode (keep all
// with score >= threshold).
class RowSelection {
 public:
  RowSelection(size_t rows, size_t k) : rows_(rows), k_(k), range_(false) {
    init(static_cast<uint32_t>(k + std::max(k / 2, kMinSlack)),
         -std::numeric_limits<float>::infinity());
  }
  RowSelection(size_t rows, float threshold) : rows_(rows), k_(0), range_(true) {
    init(kRangeStage, threshold);
    spill_.resize(rows);
  }
  Select& select() { return sel_; }

  // Appends row `row`'s candidates (unsorted) to `out`.
  void collect(size_t row, std::vector<Entry>& out) const {
    if (range_) out.insert(out.end(), spill_[row].begin(), spill_[row].end());
    const Entry* b = buf_.data() + row * sel_.cap;
    out.insert(out.end(), b, b + size_[row]);
  }
  size_t count(size_t row) const {
    return size_[row] + (range_ ? spill_[row].size() : 0);
  }

 private:
  void init(uint32_t cap, float thr) {
    thr_.assign(rows_ + kSelectPad, std::numeric_limits<float>::infinity());
    std::fill(thr_.begin(), thr_.begin() + static_cast<std::ptrdiff_t>(rows_), thr);
    buf_.resize(rows_ * cap);
    size_.assign(rows_, 0);
    sel_.thr = thr_.data();
    sel_.buf = buf_.data();
    sel_.size = size_.data();
    sel_.cap = cap;
    sel_.owner = this;
    sel_.full = &RowSelection::on_full;
  }
  static void on_full(void* owner, size_t row) {
    auto* self = static_cast<RowSelection*>(owner);
    Entry* b = self->buf_.data() + row * self->sel_.cap;
    if (self->range_) {
      self->spill_[row].insert(self->spill_[row].end(), b, b + self->sel_.cap);
      self->size_[row] = 0;
      return;
    }
    const size_t k = self->k_;
    std::nth_element(b, b + (k - 1), b + self->sel_.cap, better);
    self->size_[row] = static_cast<uint32_t>(k);
    self->thr_[row] = b[k - 1].score;
  }

  size_t rows_, k_;
  bool range_;
  Select sel_;
  std::vector<float> thr_;
  std::vector<Entry> buf_;
  std::vector<uint32_t> size_;
  std::vector<std::vector<Entry>> spill_;
};

// Sorts the best `keep` of `cand` to the front.
void best_first(std::vector<Entry>& cand, size_t keep) {
  keep = std::min(keep, cand.size());
  std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(keep), cand.end(),
                    better);
  cand.resize(keep);
}

// ---------------------------------------------------------------- inputs
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

size_t block_cols(const KernelOps& ops, size_t d) {
  size_t c = std::max(kMinBlockCols, kBlockBytes / (std::max<size_t>(d, 1) * sizeof(float)));
  return (c + ops.nr - 1) / ops.nr * ops.nr;
}

const KernelOps& active_ops() { return *ops_for(topk_simd_level()); }

// ---------------------------------------------------------------- search
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

// ---------------------------------------------------------------- all pairs
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
  size_t bs = (n + nb - 1) / nb;
  bs = (bs + ops.nr - 1) / ops.nr * ops.nr;
  nb = (n + bs - 1) / bs;

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

  for (const std::vector<Pair>& round : rounds) {
    parallel_for(round.size(), t, opt.cancel, [&](size_t item, size_t worker) {
      AlignedFloats& pa = packed_a[worker];
      AlignedFloats& pb = packed_b[worker];
      if (!pa) pa = alloc_floats(ops.packed_a_size(bs, d));
      if (!pb) pb = alloc_floats(ops.packed_size(bs, d));
      const Pair p = round[item];
      const size_t r0 = p.i * bs, rn = std::min(bs, n - r0);
      const size_t c0 = p.j * bs, cn = std::min(bs, n - c0);
      ops.pack_a(x.data + r0 * d, rn, d, cosine ? inv.data() + r0 : nullptr, pa.get());
      ops.pack_b(x.data + c0 * d, cn, d, cosine ? inv.data() + c0 : nullptr, pb.get());
      // Column sub-blocks keep the packed operand L2-resident.
      for (size_t s0 = 0; s0 < cn; s0 += sub) {
        Tile tile;
        tile.a = pa.get();
        tile.a_rows = rn;
        tile.a_base = static_cast<int64_t>(r0);
        tile.b = pb.get() + s0 * d;  // panels are contiguous; sub is a multiple of nr
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

}  // namespace
}  // namespace topk_detail

using namespace topk_detail;

// ---------------------------------------------------------------- public API
const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar: return "scalar";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::avx512: return "avx512";
  }
  return "unknown";
}

std::vector<SimdLevel> topk_supported_simd_levels() {
  std::vector<SimdLevel> out;
  for (SimdLevel l : {SimdLevel::scalar, SimdLevel::avx2, SimdLevel::avx512})
    if (level_runs(l)) out.push_back(l);
  return out;
}

SimdLevel topk_simd_level() {
  const char* env = std::getenv("FASTSBERT_SIMD");
  if (env && *env) {
    for (SimdLevel l : {SimdLevel::scalar, SimdLevel::avx2, SimdLevel::avx512}) {
      if (std::strcmp(env, simd_level_name(l)) == 0) {
        if (!level_runs(l)) {
          throw std::invalid_argument(std::string("FASTSBERT_SIMD=") + env +
                                      ": this machine or build cannot run that level");
        }
        return l;
      }
    }
    throw std::invalid_argument(std::string("FASTSBERT_SIMD=") + env +
                                ": expected scalar, avx2 or avx512");
  }
  return topk_supported_simd_levels().back();
}


namespace {
bool is_cuda(const std::string& device) { return device.rfind("cuda", 0) == 0; }

// ---------------------------------------------------------------- CUDA (optional)
// libfastsbert_topk_cuda.so is opened on first use, from $FASTSBERT_TOPK_CUDA_LIBRARY or
// the folder of the binary holding this code; the CPU build never links CUDA.
struct CudaLib {
  fastsbert_topk_cuda_search_fn search = nullptr;
  fastsbert_topk_cuda_device_count_fn device_count = nullptr;
  std::string error;
  CudaLib() {
#if defined(__linux__)
    std::string path;
    if (const char* env = std::getenv("FASTSBERT_TOPK_CUDA_LIBRARY")) {
      path = env;
    } else {
      Dl_info info;
      if (dladdr(reinterpret_cast<void*>(&topk_cuda_available), &info) && info.dli_fname) {
        path = info.dli_fname;
        path = path.substr(0, path.find_last_of('/') + 1);
      }
      path += "libfastsbert_topk_cuda.so";
    }
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      error = e ? e : path + ": cannot be opened";
      return;
    }
    search = reinterpret_cast<fastsbert_topk_cuda_search_fn>(dlsym(h, "fastsbert_topk_cuda_search"));
    device_count = reinterpret_cast<fastsbert_topk_cuda_device_count_fn>(
        dlsym(h, "fastsbert_topk_cuda_device_count"));
    if (!search || !device_count) {
      search = nullptr;
      error = path + ": not a fastsbert CUDA top-k library";
    }
#else
    error = "CUDA top-k is only built on Linux";
#endif
  }
};
const CudaLib& cuda_lib() {
  static const CudaLib lib;
  return lib;
}

void search_cuda(MatrixView q, MatrixView c, size_t k, float* scores, int64_t* indices,
                 const TopkOptions& opt) {
  const CudaLib& lib = cuda_lib();
  if (!lib.search) {
    throw std::runtime_error("device \"" + opt.device +
                             "\": the CUDA top-k kernel is not available (" + lib.error + ")");
  }
  int dev = 0;
  if (opt.device.size() > 4) {
    if (opt.device[4] != ':') throw std::invalid_argument("device: expected cuda or cuda:N");
    dev = std::stoi(opt.device.substr(5));
  }
  const int threads = resolve_threads(opt.threads);
  inverse_norms(q, "queries", threads, opt.cancel);  // rejects NaN / infinity as on the CPU
  inverse_norms(c, "corpus", threads, opt.cancel);
  char err[512] = {0};
  if (lib.search(q.data, q.rows, c.data, c.rows, q.cols, k,
                 opt.metric == Metric::cosine ? 1 : 0, dev, scores, indices, err,
                 sizeof(err)) != 0) {
    throw std::runtime_error(std::string("CUDA top-k: ") + err);
  }
}
// Argument checks every entry point makes first, whatever the shapes.
void check_options(const TopkOptions& opt) { resolve_threads(opt.threads); }

void check_cpu_only(const TopkOptions& opt, const char* what) {
  if (opt.device != "cpu") {
    throw std::invalid_argument(std::string(what) + ": device must be \"cpu\", got \"" +
                                opt.device + "\"");
  }
}
}  // namespace

bool topk_cuda_available() {
  const CudaLib& lib = cuda_lib();
  return lib.search && lib.device_count() > 0;
}

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

ScoredPairs topk_pairs(MatrixView x, size_t k, size_t max_pairs, const TopkOptions& options) {
  check_options(options);
  ScoredPairs out;
  const size_t n = x.rows;
  const size_t kk = n == 0 ? 0 : topk_columns(k, n - 1);
  if (kk == 0 || max_pairs == 0) {
    check_matrix(x, "embeddings");
    if (n > 0) inverse_norms(x, "embeddings", 1, options.cancel);
    return out;
  }
  std::vector<float> s(n * kk);
  std::vector<int64_t> idx(n * kk);
  topk_self(x, kk, s.data(), idx.data(), options);
  // Pair {i, j} is listed by row i and perhaps by row j, with the same score (it was
  // computed once). Row i > j emits it only when row j's list lacks i; because each list
  // is the exact top-kk under (score desc, index asc), that is one comparison with row j's
  // last entry.
  struct P {
    float s;
    int32_t i, j;
  };
  std::vector<P> pairs;
  pairs.reserve(n * kk);
  for (size_t i = 0; i < n; ++i) {
    for (size_t c = 0; c < kk; ++c) {
      const float sc = s[i * kk + c];
      const size_t j = static_cast<size_t>(idx[i * kk + c]);
      if (i > j) {
        const float last_s = s[j * kk + kk - 1];
        const int64_t last_i = idx[j * kk + kk - 1];
        const bool in_j = sc > last_s || (sc == last_s && static_cast<int64_t>(i) <= last_i);
        if (in_j) continue;
      }
      pairs.push_back({sc, static_cast<int32_t>(std::min(i, j)),
                       static_cast<int32_t>(std::max(i, j))});
    }
  }
  auto order = [](const P& a, const P& b) {
    if (a.s != b.s) return a.s > b.s;
    if (a.i != b.i) return a.i < b.i;
    return a.j < b.j;
  };
  const size_t keep = std::min(max_pairs, pairs.size());
  if (keep < pairs.size()) {
    std::nth_element(pairs.begin(), pairs.begin() + static_cast<std::ptrdiff_t>(keep),
                     pairs.end(), order);
    pairs.resize(keep);
  }
  std::sort(pairs.begin(), pairs.end(), order);
  out.scores.resize(keep);
  out.pairs.resize(2 * keep);
  for (size_t p = 0; p < keep; ++p) {
    out.scores[p] = pairs[p].s;
    out.pairs[2 * p] = pairs[p].i;
    out.pairs[2 * p + 1] = pairs[p].j;
  }
  return out;
}

Communities topk_communities(MatrixView x, float threshold, size_t min_size,
                             const TopkOptions& options) {
  check_options(options);
  check_matrix(x, "embeddings");
  check_cpu_only(options, "topk_communities");
  if (std::isnan(threshold)) throw std::invalid_argument("threshold is NaN");
  Communities out;
  out.offsets.push_back(0);
  const size_t n = x.rows;
  if (n == 0 || n < min_size) {
    if (n > 0) inverse_norms(x, "embeddings", 1, options.cancel);
    return out;
  }
  TopkOptions opt = options;
  opt.metric = Metric::cosine;
  RowSelection sel(n, threshold);
  all_pairs(x, sel, true, opt);

  // Candidate communities: rows with at least min_size neighbours, members best first.
  struct Candidate {
    size_t center;
    std::vector<Entry> members;
  };
  std::vector<Candidate> cands;
  constexpr size_t kRowsBetweenCancelChecks = 1024;
  for (size_t r = 0; r < n; ++r) {
    if (r % kRowsBetweenCancelChecks == 0) throw_if_cancelled(options.cancel);
    if (sel.count(r) < std::max<size_t>(min_size, 1)) continue;
    Candidate c{r, {}};
    sel.collect(r, c.members);
    std::sort(c.members.begin(), c.members.end(), better);
    cands.push_back(std::move(c));
  }
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    return a.members.size() > b.members.size();
  });
  // Greedy removal of overlaps, largest first.
  std::vector<char> used(n, 0);
  std::vector<std::vector<int64_t>> comms;
  for (const Candidate& c : cands) {
    if (used[c.center]) continue;
    std::vector<int64_t> free;
    for (const Entry& e : c.members)
      if (!used[static_cast<size_t>(e.index)]) free.push_back(e.index);
    if (free.size() < min_size) continue;
    std::vector<int64_t> comm{static_cast<int64_t>(c.center)};
    for (int64_t m : free)
      if (m != static_cast<int64_t>(c.center)) comm.push_back(m);
    for (int64_t m : comm) used[static_cast<size_t>(m)] = 1;
    comms.push_back(std::move(comm));
  }
  std::stable_sort(comms.begin(), comms.end(),
                   [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& c : comms) {
    out.members.insert(out.members.end(), c.begin(), c.end());
    out.offsets.push_back(static_cast<int64_t>(out.members.size()));
  }
  return out;
}

}  // namespace fastsbert
