// Hamming top-k driver: argument checks, level choice, blocking, threads, selection and
// merging. Compiled for the baseline ISA; the distance kernels live in hamming_<level>.cpp.
#include "fastsbert/hamming.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "topk/hamming_internal.h"

namespace fastsbert {
namespace {

using hamming_detail::HammingOps;
using hamming_detail::kGroupRows;

size_t words_of(size_t bytes) { return (bytes + 7) / 8; }

// Rows [0, rows) of `src` (`bytes` each) into interleaved groups (see hamming_internal.h).
void pack_rows(const uint8_t* src, size_t rows, size_t bytes, uint64_t* dst) {
  const size_t words = words_of(bytes);
  const size_t groups = (rows + kGroupRows - 1) / kGroupRows;
  std::fill(dst, dst + groups * words * kGroupRows, uint64_t{0});
  for (size_t r = 0; r < rows; ++r) {
    uint64_t* group = dst + (r / kGroupRows) * words * kGroupRows + r % kGroupRows;
    for (size_t w = 0; w < words; ++w) {
      uint64_t word = 0;
      std::memcpy(&word, src + r * bytes + 8 * w, std::min<size_t>(8, bytes - 8 * w));
      group[w * kGroupRows] = word;
    }
  }
}

// ---------------------------------------------------------------- tuning constants
// Queries that share one packed corpus block: packing costs one pass over the block, and
// each query costs one pass too, so the packing is a small share of the work.
constexpr size_t kQueryBlock = 64;
// Packed corpus block, in bytes: stays in L1 while a query block sweeps it. Measured on
// one Zen 4 core (1M x 48-byte rows, 256 queries, k 10): 16 KiB 0.186 s, 32 KiB 0.183 s,
// 64 KiB 0.23 s, 256 KiB 0.20 s.
constexpr size_t kCorpusBlockBytes = 32 * 1024;
// Queries are processed in chunks of this many rows, so selection memory stays bounded
// whatever the number of queries.
constexpr size_t kQueryChunk = 8192;
// Selection buffers hold k + max(k / 2, kMinSlack) candidates before compacting.
constexpr size_t kMinSlack = 32;

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

// The best `keep` candidates of one query over one corpus range. The range is scanned in
// increasing index order, so once `keep` are held a candidate at the worst kept distance
// has a higher index than every kept one at that distance and loses the tie: only strictly
// smaller distances are accepted.
struct Selection {
  std::vector<Candidate> buf;
  uint32_t bound = std::numeric_limits<uint32_t>::max();  // accept distance < bound
  size_t keep = 0;
  size_t cap = 0;

  void init(size_t k, size_t capacity) {
    keep = k;
    cap = capacity;
    buf.reserve(capacity);
  }
  void push(uint32_t distance, int64_t index) {
    if (distance >= bound) return;
    buf.push_back({distance, index});
    if (buf.size() == cap) compact();
  }
  void compact() {
    if (buf.size() <= keep) return;
    std::nth_element(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(keep - 1), buf.end());
    buf.resize(keep);
    // The worst kept candidate: any later candidate at its distance loses the tie.
    bound = std::max_element(buf.begin(), buf.end())->distance;
  }
};

}  // namespace

SimdLevel hamming_simd_level() {
  SimdLevel level = topk_simd_level();
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

  const HammingOps* ops = ops_for(hamming_simd_level());
  const size_t words = words_of(bytes);
  // Corpus rows per block: a whole number of groups whose packed form stays in L2.
  const size_t block_rows = std::max<size_t>(
      64, kCorpusBlockBytes / (words * 8) / kGroupRows * kGroupRows);
  const size_t corpus_blocks = (n + block_rows - 1) / block_rows;
  const size_t cap = cols + std::max(cols / 2, kMinSlack);
  // The queries, zero-padded to whole words.
  std::vector<uint64_t> query_words(q * words, 0);
  for (size_t i = 0; i < q; ++i) {
    for (size_t w = 0; w < words; ++w) {
      std::memcpy(&query_words[i * words + w], queries.data + i * bytes + 8 * w,
                  std::min<size_t>(8, bytes - 8 * w));
    }
  }
  // With more than one query block, every block of the corpus would be packed once per
  // query block: pack it all once instead (as large as the corpus itself).
  std::vector<uint64_t> prepacked;
  if (q > kQueryBlock) {
    prepacked.resize(corpus_blocks * block_rows * words);
    parallel_for(corpus_blocks, threads, options.cancel, [&](size_t b, size_t) {
      const size_t b0 = b * block_rows;
      pack_rows(corpus.data + b0 * bytes, std::min(block_rows, n - b0), bytes,
                prepacked.data() + b0 * words);
    });
  }
  std::vector<Selection> sel;
  std::vector<Candidate> merged;
  for (size_t c0 = 0; c0 < q; c0 += kQueryChunk) {
    const size_t cq = std::min(kQueryChunk, q - c0);
    const size_t query_blocks = (cq + kQueryBlock - 1) / kQueryBlock;
    // Too few queries to keep every thread busy: split the corpus too, and merge after.
    const size_t busy = std::min(query_blocks, static_cast<size_t>(threads));
    const size_t splits = std::max<size_t>(1, std::min(corpus_blocks, threads / busy));
    const size_t blocks_per_split = (corpus_blocks + splits - 1) / splits;
    sel.assign(cq * splits, Selection{});
    for (auto& s : sel) s.init(cols, cap);
    struct Scratch {
      std::vector<uint64_t> packed;
      std::vector<uint32_t> rows, dist;
    };
    std::vector<Scratch> scratch(parallel_workers(query_blocks * splits, threads));

    parallel_for(query_blocks * splits, threads, options.cancel, [&](size_t item, size_t worker) {
      const size_t qb = item / splits, split = item % splits;
      const size_t q0 = qb * kQueryBlock, q1 = std::min(cq, q0 + kQueryBlock);
      const size_t r0 = std::min(n, split * blocks_per_split * block_rows);
      const size_t r1 = std::min(n, (split + 1) * blocks_per_split * block_rows);
      Scratch& sc = scratch[worker];
      sc.rows.resize(block_rows);
      sc.dist.resize(block_rows);
      for (size_t b0 = r0; b0 < r1; b0 += block_rows) {
        const size_t rows = std::min(block_rows, r1 - b0);
        const size_t groups = (rows + kGroupRows - 1) / kGroupRows;
        const uint64_t* block;
        if (!prepacked.empty()) {
          block = prepacked.data() + (b0 / kGroupRows) * words * kGroupRows;
        } else {
          sc.packed.resize(block_rows * words);
          pack_rows(corpus.data + b0 * bytes, rows, bytes, sc.packed.data());
          block = sc.packed.data();
        }
        for (size_t i = q0; i < q1; ++i) {
          Selection& s = sel[i * splits + split];
          const size_t found = ops->below(&query_words[(c0 + i) * words], block, groups, words,
                                          s.bound, sc.rows.data(), sc.dist.data());
          for (size_t f = 0; f < found && sc.rows[f] < rows; ++f) {
            s.push(sc.dist[f], static_cast<int64_t>(b0 + sc.rows[f]));
          }
        }
      }
    });

    for (size_t i = 0; i < cq; ++i) {
      merged.clear();
      for (size_t s = 0; s < splits; ++s) {
        const auto& buf = sel[i * splits + s].buf;
        merged.insert(merged.end(), buf.begin(), buf.end());
      }
      std::partial_sort(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(cols),
                        merged.end());
      const size_t row = c0 + i;
      for (size_t c = 0; c < cols; ++c) {
        distances[row * cols + c] = static_cast<int32_t>(merged[c].distance);
        indices[row * cols + c] = merged[c].index;
      }
    }
  }
}

}  // namespace fastsbert
