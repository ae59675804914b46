// Internal interface between the driver (the topk_*.cpp files topk_driver.h lists,
// compiled for the baseline ISA) and the SIMD kernels (topk_<level>.cpp, each compiled
// with its own ISA flags).
//
// Everything a kernel file compiles must have internal linkage (static or an anonymous
// namespace): an inline function or template instantiated in an AVX-512 file and merged by
// the linker with the baseline copy could otherwise run on a CPU without AVX-512. This
// header therefore holds only plain data and `static inline` helpers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fastsbert::topk_detail {

// One candidate of a row: score and global column index.
struct Entry {
  float score;
  int32_t index;
};

// Per-row candidate buffers. A row accepts a candidate whose score is >= thr[row]; when
// its buffer reaches `cap` entries, `full(owner, row)` runs (out of line, baseline code):
// in top-k mode it keeps the best k and raises thr[row] to the k-th best score; in range
// mode (fixed threshold) it moves the buffer to unbounded storage.
struct Select {
  float* thr = nullptr;      // one per row, then +inf padding (see kSelectPad)
  Entry* buf = nullptr;      // rows * cap
  uint32_t* size = nullptr;  // one per row
  uint32_t cap = 0;
  void* owner = nullptr;
  void (*full)(void* owner, size_t row) = nullptr;
};

// Threshold arrays are padded with +inf by this many entries so that kernels may load a
// full vector of column thresholds past the last row: padding never accepts anything.
constexpr size_t kSelectPad = 64;

static inline void select_push(Select& s, size_t row, float score, int32_t index) {
  if (!(score >= s.thr[row])) return;  // thresholds only rise: re-check against the latest
  uint32_t n = s.size[row];
  Entry& e = s.buf[row * s.cap + n];
  e.score = score;
  e.index = index;
  s.size[row] = ++n;
  if (n == s.cap) s.full(s.owner, row);
}

// Which pairs of a tile are offered to selection.
enum class TileMode : int {
  rows,        // search: every (row, column) pair to the row's selection
  upper,       // all pairs, off-diagonal tile: (i, j) to row i and to row j
  upper_diag,  // all pairs, diagonal tile: only i < j, to row i and to row j
  range_diag,  // range, diagonal tile: i <= j; i == j only once
};

// Bytes of packed A swept by each column panel while that panel stays in L1.
constexpr size_t kStripBlockBytes = 96 * 1024;

// One tile: a block of rows times a packed block of columns.
struct Tile {
  const float* a = nullptr;  // packed by the same kernel's pack_a: a_rows rows
  size_t a_rows = 0;
  int64_t a_base = 0;         // global index of row 0 (selection row for `rows_sel`)
  const float* b = nullptr;  // packed by the same kernel's pack_b: b_cols columns
  size_t b_cols = 0;
  int64_t b_base = 0;         // global index of column 0
  size_t d = 0;
  TileMode mode = TileMode::rows;
  Select* rows_sel = nullptr;  // selection indexed by global row (a_base + r)
  Select* cols_sel = nullptr;  // all-pairs modes: selection indexed by global column
};

// The functions one SIMD level provides.
struct KernelOps {
  const char* name;
  size_t mr;  // packed strip height (rows)
  size_t nr;  // packed panel width (columns)
  size_t (*packed_a_size)(size_t rows, size_t d);
  // Packs src rows [0, rows) (stride d) into strips of mr, scaled like pack_b.
  void (*pack_a)(const float* src, size_t rows, size_t d, const float* scale, float* dst);
  // Size in floats of the packed form of `cols` columns of dimension d.
  size_t (*packed_size)(size_t cols, size_t d);
  // Packs src rows [0, cols) (stride d) into panels of nr, multiplying row j by
  // scale[j] when scale is not null; pads the last panel with zeros.
  void (*pack_b)(const float* src, size_t cols, size_t d, const float* scale, float* dst);
  void (*tile)(const Tile& t);
  // q . row and row . row (rescoring binary search candidates with float vectors).
  void (*dot_norm)(const float* q, const float* row, size_t d, float* dot, float* norm_sq);
};

const KernelOps* kernel_ops_scalar();
const KernelOps* kernel_ops_avx2();    // null when not compiled in
const KernelOps* kernel_ops_avx512();  // null when not compiled in

}  // namespace fastsbert::topk_detail
