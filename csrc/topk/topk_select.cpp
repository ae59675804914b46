// Per-row candidate selection for the top-k driver: the buffers the kernels push into
// (topk_internal.h's Select), their compaction when full, and the final ordering.
#include <algorithm>
#include <limits>

#include "topk/topk_driver.h"

namespace fastsbert::topk_detail {

RowSelection::RowSelection(size_t rows, size_t k) : rows_(rows), k_(k), range_(false) {
  init(static_cast<uint32_t>(k + std::max(k / 2, kMinSlack)),
       -std::numeric_limits<float>::infinity());
}

RowSelection::RowSelection(size_t rows, float threshold) : rows_(rows), k_(0), range_(true) {
  init(kRangeStage, threshold);
  spill_.resize(rows);
}

void RowSelection::collect(size_t row, std::vector<Entry>& out) const {
  if (range_) out.insert(out.end(), spill_[row].begin(), spill_[row].end());
  const Entry* b = buf_.data() + row * sel_.cap;
  out.insert(out.end(), b, b + size_[row]);
}

void RowSelection::init(uint32_t cap, float thr) {
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

void RowSelection::on_full(void* owner, size_t row) {
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

void best_first(std::vector<Entry>& cand, size_t keep) {
  keep = std::min(keep, cand.size());
  std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(keep), cand.end(),
                    better);
  cand.resize(keep);
}

}  // namespace fastsbert::topk_detail
