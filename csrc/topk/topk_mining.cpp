// Mining over all pairs: paraphrase mining (the best pairs overall) and community
// detection (sentence-transformers' community_detection semantics).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "common/parallel.h"
#include "topk/topk_driver.h"

namespace fastsbert {

using namespace topk_detail;

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
