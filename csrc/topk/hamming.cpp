// Hamming top-k driver: argument checks, level choice, blocking, threads, selection and
// merging. Compiled for the baseline ISA; the distance kernels live in hamming_<level>.cpp.
#include "fastsbert/hamming.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "topk/hamming_internal.h"
#include "topk/topk_driver.h"

namespace fastsbert {
namespace {

using hamming_detail::HammingOps;
using hamming_detail::kGroupRows;

size_t words_of(size_t bytes) { return (bytes + 7) / 8; }

// Rows [0, rows) of `src` (`bytes` each) into interleaved groups (see hamming_internal.h);
// the last group's missing rows are zero.
void pack_rows(const uint8_t* src, size_t rows, size_t bytes, uint64_t* dst) {
  const size_t words = words_of(bytes);
  const size_t padded = (rows + kGroupRows - 1) / kGroupRows * kGroupRows;
  for (size_t r = 0; r < padded; ++r) {
    uint64_t* group = dst + (r / kGroupRows) * words * kGroupRows + r % kGroupRows;
    for (size_t w = 0; w < words; ++w) {
      uint64_t word = 0;
      if (r < rows) std::memcpy(&word, src + r * bytes + 8 * w, std::min<size_t>(8, bytes - 8 * w));
      group[w * kGroupRows] = word;
    }
  }
}

// ---------------------------------------------------------------- tuning constants
// The corpus is packed a super block at a time (one work item; kept in L2), and each
// super block is swept by the queries kQueryBlock at a time, in blocks of
// kCorpusBlockBytes (kept in L1). Packing thus costs one pass over the corpus per query
// chunk, and the selection state being written belongs to only kQueryBlock queries at a
// time. Measured on one Zen 4 core (1M x 48-byte rows, 500 queries): a 16 KiB L1 block
// beat 32 KiB, which shares L1 with the queries' state.
constexpr size_t kCorpusBlockBytes = 16 * 1024;
constexpr size_t kSuperBlockBytes = 256 * 1024;
constexpr size_t kQueryBlock = 64;
// Work items per thread wanted when the corpus alone has too few super blocks: enough
// that a thread slowed by other load leaves its share to the others.
constexpr size_t kItemsPerThread = 4;
// Queries are processed in chunks, so that selection memory stays bounded whatever the
// number of queries: at most this many bytes of selection state per chunk...
constexpr size_t kSelectionBytes = size_t{64} << 20;
// ...and never more than this many queries (nor fewer than one).
constexpr size_t kMaxQueryChunk = 8192;
// Selection buffers hold k + max(k, kMinSlack) candidates before compacting.
constexpr size_t kMinSlack = 64;

const HammingOps* ops_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::avx512: return hamming_detail::hamming_ops_avx512();
    case SimdLevel::avx2: return hamming_detail::hamming_ops_avx2();
    case SimdLevel::scalar: return hamming_detail::hamming_ops_scalar();
  }
  return nullptr;
}

struct Candidate {
  uint32_t distance;
  int64_t index;
  bool operator<(const Candidate& o) const {
    return distance != o.distance ? distance < o.distance : index < o.index;
  }
};

// The best `keep` candidates of one query over one corpus range, offered in increasing
// index order, so that of two candidates at the same distance the one held first wins.
// Distances are small integers (at most the bit count), so a histogram of the accepted
// ones gives the exact bound at every step: a candidate at distance d can still enter
// only while fewer than `keep` accepted ones are at d or nearer. The bound is as tight as
// a heap's, and the buffer is compacted in one linear pass, with no sorting.
class Selection {
 public:
  void init(size_t keep, size_t capacity, uint32_t max_distance) {
    keep_ = keep;
    cap_ = capacity;
    bound_ = max_distance + 1;
    nearer_ = 0;
    buf_.clear();
    buf_.reserve(capacity);
    hist_.assign(max_distance + 1, 0);
  }
  // Accept distances below this; it only falls.
  uint32_t bound() const { return bound_; }
  void offer(uint32_t distance, int64_t index) {
    if (distance >= bound_) return;
    buf_.push_back({distance, index});
    ++hist_[distance];
    // nearer_ counts the accepted candidates below the bound. Once `keep` of them are,
    // a later one at bound - 1 would lose to them all: the bound falls.
    for (++nearer_; nearer_ >= keep_;) nearer_ -= hist_[--bound_];
    if (buf_.size() == cap_) compact();
  }
  // The held candidates (at least the best `keep`, in index order).
  const std::vector<Candidate>& held() const { return buf_; }

 private:
  // Keeps those below the bound and, at the bound, the first ones up to `keep` in all:
  // the rest lost to an earlier candidate at the same distance, or to nearer ones.
  void compact() {
    size_t at_bound = keep_ - nearer_, out = 0;
    for (const Candidate& c : buf_) {
      if (c.distance < bound_ || (c.distance == bound_ && at_bound > 0 && at_bound--)) {
        buf_[out++] = c;
      }
    }
    buf_.resize(out);
  }

  std::vector<Candidate> buf_;
  std::vector<uint32_t> hist_;  // accepted candidates per distance
  uint32_t bound_ = 0;
  size_t nearer_ = 0;
  size_t keep_ = 0;
  size_t cap_ = 0;
};

}  // namespace

SimdLevel hamming_simd_level() {
  SimdLevel level = topk_detail::widest_simd_level();
  const CpuFeatures& f = cpu_features_detected();
  if (level == SimdLevel::avx512 && (!ops_for(SimdLevel::avx512) || !f.avx512_vpopcntdq)) {
    level = SimdLevel::avx2;
  }
  if (level == SimdLevel::avx2 && !ops_for(SimdLevel::avx2)) level = SimdLevel::scalar;
  return level;
}

void hamming_search(PackedView queries, PackedView corpus, size_t k, int32_t* distances,
                    int64_t* indices, const TopkOptions& options) {
  if (queries.bytes != corpus.bytes) {
    throw std::invalid_argument("dimension mismatch: queries have " + std::to_string(queries.bytes) +
                                " bytes per vector, corpus " + std::to_string(corpus.bytes));
  }
  if ((queries.rows && !queries.data) || (corpus.rows && !corpus.data)) {
    throw std::invalid_argument("hamming_search: null data with rows > 0");
  }
  const int threads = thread_count(options.threads);
  const size_t q = queries.rows, n = corpus.rows, bytes = corpus.bytes;
  const size_t cols = topk_columns(k, n);
  if (q == 0 || cols == 0) return;
  if (q > 0 && (!distances || !indices)) throw std::invalid_argument("hamming_search: null output");
  if (bytes == 0) {  // no bits: every distance is 0, and ties go to the lower index
    for (size_t i = 0; i < q * cols; ++i) {
      distances[i] = 0;
      indices[i] = static_cast<int64_t>(i % cols);
    }
    return;
  }

  const HammingOps* ops = ops_for(hamming_simd_level());
  const size_t words = words_of(bytes);
  const uint32_t max_distance = static_cast<uint32_t>(8 * bytes);
  // Corpus rows per L1 block and per super block: whole numbers of groups.
  const size_t block_rows = std::max<size_t>(
      kGroupRows, kCorpusBlockBytes / (words * 8) / kGroupRows * kGroupRows);
  const size_t super_rows = std::max<size_t>(1, kSuperBlockBytes / kCorpusBlockBytes) * block_rows;
  const size_t super_blocks = (n + super_rows - 1) / super_rows;
  const size_t cap = cols + std::max(cols, kMinSlack);
  // Work items are super blocks, handed out in increasing order, so each corpus block is
  // packed once per query chunk and swept by every query of the chunk while it is in cache.
  // Each worker keeps its own selection per query: a worker sees its rows in increasing
  // order, which is what a selection needs to break ties, and the items balance the load
  // between threads, whichever runs slower. Queries are split too, when the corpus has
  // too few super blocks to keep every thread busy.
  const size_t query_parts_wanted =
      (kItemsPerThread * static_cast<size_t>(threads) + super_blocks - 1) / super_blocks;
  const size_t workers = parallel_workers(super_blocks * query_parts_wanted, threads);
  const size_t selection_bytes = workers * (cap * sizeof(Candidate) + (max_distance + 1) * 4);
  const size_t chunk = std::clamp<size_t>(kSelectionBytes / selection_bytes, 1, kMaxQueryChunk);

  // The queries, zero-padded to whole words.
  std::vector<uint64_t> query_words(q * words, 0);
  for (size_t i = 0; i < q; ++i) {
    for (size_t w = 0; w < words; ++w) {
      std::memcpy(&query_words[i * words + w], queries.data + i * bytes + 8 * w,
                  std::min<size_t>(8, bytes - 8 * w));
    }
  }
  struct Scratch {
    std::vector<uint64_t> packed;
    std::vector<uint32_t> rows, dist;
  };
  std::vector<Scratch> scratch(workers);
  std::vector<Selection> sel;
  std::vector<std::vector<Candidate>> merged(workers);
  for (size_t c0 = 0; c0 < q; c0 += chunk) {
    const size_t cq = std::min(chunk, q - c0);
    const size_t query_parts = std::min(cq, query_parts_wanted);
    const size_t part_rows = (cq + query_parts - 1) / query_parts;
    sel.resize(workers * cq);
    for (auto& s : sel) s.init(cols, cap, max_distance);

    parallel_for(super_blocks * query_parts, workers, options.cancel,
                 [&](size_t item, size_t worker) {
      const size_t s0 = item / query_parts * super_rows, part = item % query_parts;
      const size_t q0 = part * part_rows, q1 = std::min(cq, q0 + part_rows);
      const size_t super = std::min(super_rows, n - s0);
      Scratch& sc = scratch[worker];
      sc.packed.resize(super_rows * words);
      sc.rows.resize(block_rows);
      sc.dist.resize(block_rows);
      pack_rows(corpus.data + s0 * bytes, super, bytes, sc.packed.data());
      for (size_t qb = q0; qb < q1; qb += kQueryBlock) {
        for (size_t b0 = 0; b0 < super; b0 += block_rows) {
          const size_t rows = std::min(block_rows, super - b0);
          const size_t groups = (rows + kGroupRows - 1) / kGroupRows;
          const uint64_t* block = sc.packed.data() + b0 * words;
          for (size_t i = qb; i < std::min(q1, qb + kQueryBlock); ++i) {
            Selection& s = sel[worker * cq + i];
            const size_t found = ops->below(&query_words[(c0 + i) * words], block, groups, words,
                                            s.bound(), sc.rows.data(), sc.dist.data());
            // Rows past the super block's end are zero padding.
            for (size_t f = 0; f < found && sc.rows[f] < rows; ++f) {
              s.offer(sc.dist[f], static_cast<int64_t>(s0 + b0 + sc.rows[f]));
            }
          }
        }
      }
    });

    // Every worker's candidates of a query, nearest first, ties to the lower index.
    parallel_for(cq, workers, options.cancel, [&](size_t i, size_t worker) {
      std::vector<Candidate>& all = merged[worker];
      all.clear();
      for (size_t w = 0; w < workers; ++w) {
        const auto& held = sel[w * cq + i].held();
        all.insert(all.end(), held.begin(), held.end());
      }
      const auto last = all.begin() + static_cast<std::ptrdiff_t>(cols);
      std::nth_element(all.begin(), last - 1, all.end());
      std::sort(all.begin(), last);
      const size_t row = c0 + i;
      for (size_t c = 0; c < cols; ++c) {
        distances[row * cols + c] = static_cast<int32_t>(all[c].distance);
        indices[row * cols + c] = all[c].index;
      }
    });
  }
}

}  // namespace fastsbert
