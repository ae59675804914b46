// Internal interface between the top-k driver files, all compiled for the baseline ISA:
//   topk_dispatch.cpp     SIMD level choice, threads, argument checks, norms, buffers
//   topk_select.cpp       per-row candidate selection
//   topk_search.cpp       queries against a corpus (topk_search)
//   topk_all_pairs.cpp    every pair within one set (topk_self)
//   topk_mining.cpp       paraphrase mining and community detection over all pairs
//   topk_cuda_loader.cpp  the optional CUDA library, opened at run time
//
// Never include this from a kernel file (topk_<level>.cpp): the inline functions here have
// external linkage, and a copy compiled with AVX-512 flags could be the one the linker
// keeps (see topk_internal.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fastsbert/topk.h"
#include "topk/topk_internal.h"

namespace fastsbert::topk_detail {

// ---------------------------------------------------------------- tuning constants
// Packed column block: sized to stay in a core's L2 while every row strip of the tile
// streams past it.
constexpr size_t kBlockBytes = 512 * 1024;
constexpr size_t kMinBlockCols = 64;
// All-pairs tiles are kAllPairsBlockFactor column blocks wide: large enough that packing
// and normalising (O(block * d)) is small next to the tile product (O(block^2 * d)).
constexpr size_t kAllPairsBlockFactor = 3;
// All-pairs sets whose two packed copies fit in this many bytes are packed once up front
// instead of once per tile (64 MiB: about 21k rows of 384 floats).
constexpr size_t kAllPairsPrepackBytes = 64u << 20;
// Search processes queries in chunks of this many rows; each thread keeps a selection for
// one chunk, so memory stays bounded whatever the number of queries.
constexpr size_t kQueryChunk = 8192;
// Top-k selection buffers hold k + max(k / 2, kMinSlack) candidates before compacting.
constexpr size_t kMinSlack = 32;
// Range selection (community detection) stages this many candidates per row.
constexpr uint32_t kRangeStage = 32;
// Rows per work item when a pass handles rows independently (norms, merging).
constexpr size_t kRowsPerItem = 256;

// ---------------------------------------------------------------- dispatch (topk_dispatch.cpp)
// The kernels of the level topk_simd_level() picks (by measured speed).
const KernelOps& active_ops();
// FASTSBERT_SIMD, else the widest level this machine runs: for the kernels whose level is
// not measured (rescoring, whose sums differ by level in the last bit, and Hamming
// distances), so that their results never hang on a timing.
SimdLevel widest_simd_level();
const KernelOps& widest_ops();
// Columns per packed block for dimension d: a multiple of ops.nr.
size_t block_cols(const KernelOps& ops, size_t d);
// Worker threads for a request (0: all available CPUs); throws for negative counts.
int resolve_threads(int requested);
inline size_t row_items(size_t rows) { return (rows + kRowsPerItem - 1) / kRowsPerItem; }

// Argument checks every entry point makes first, whatever the shapes.
void check_options(const TopkOptions& opt);
void check_cpu_only(const TopkOptions& opt, const char* what);
void check_matrix(const MatrixView& m, const char* name);
// Inverse L2 norms of m's rows (0 for a zero row); throws naming `name` and the first row
// holding NaN or infinity.
std::vector<float> inverse_norms(const MatrixView& m, const char* name, int threads,
                                 const CancelToken* cancel);

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;
// n floats, 64-byte aligned (for the kernels' aligned loads).
AlignedFloats alloc_floats(size_t n);

// ---------------------------------------------------------------- selection (topk_select.cpp)
// Candidate order: higher score first, then lower index. A function object, not a
// function: the standard algorithms inline it, where a function pointer costs a call per
// comparison (12% of all-pairs time at 10k rows, in selection compaction).
struct Better {
  bool operator()(const Entry& a, const Entry& b) const {
    return a.score > b.score || (a.score == b.score && a.index < b.index);
  }
};
inline constexpr Better better{};

// Candidate buffers for `rows` rows: top-k mode (keep the k best) or range mode (keep all
// with score >= threshold).
class RowSelection {
 public:
  RowSelection(size_t rows, size_t k);
  RowSelection(size_t rows, float threshold);
  RowSelection(const RowSelection&) = delete;
  RowSelection& operator=(const RowSelection&) = delete;
  Select& select() { return sel_; }

  // Appends row `row`'s candidates (unsorted) to `out`.
  void collect(size_t row, std::vector<Entry>& out) const;
  size_t count(size_t row) const { return size_[row] + (range_ ? spill_[row].size() : 0); }

 private:
  void init(uint32_t cap, float thr);
  static void on_full(void* owner, size_t row);

  size_t rows_, k_;
  bool range_;
  Select sel_;
  std::vector<float> thr_;
  std::vector<Entry> buf_;
  std::vector<uint32_t> size_;
  std::vector<std::vector<Entry>> spill_;
};

// Sorts the best `keep` of `cand` to the front and drops the rest.
void best_first(std::vector<Entry>& cand, size_t keep);

// ---------------------------------------------------------------- search (topk_search.cpp)
void search_cpu(MatrixView q, MatrixView c, size_t k, float* scores, int64_t* indices,
                const TopkOptions& opt);

// ---------------------------------------------------------------- all pairs (topk_all_pairs.cpp)
// Scores every unordered pair of x's rows once and offers it to both rows' selections
// (`range`: sel is in range mode, and the self pair i == i counts once).
void all_pairs(MatrixView x, RowSelection& sel, bool range, const TopkOptions& opt);

// ---------------------------------------------------------------- CUDA (topk_cuda_loader.cpp)
inline bool is_cuda(const std::string& device) { return device.rfind("cuda", 0) == 0; }
void search_cuda(MatrixView q, MatrixView c, size_t k, float* scores, int64_t* indices,
                 const TopkOptions& opt);

}  // namespace fastsbert::topk_detail
