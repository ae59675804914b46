// Top-k kernel tests without Python: every SIMD level this machine runs against a
// brute-force double-precision reference and against the scalar level (bit-identical).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastsbert/hamming.h"
#include "fastsbert/topk.h"

using fastsbert::MatrixView;
using fastsbert::Metric;
using fastsbert::SimdLevel;

namespace {

int failures = 0;
#define CHECK(cond, ...)                                       \
  do {                                                         \
    if (!(cond)) {                                             \
      ++failures;                                              \
      std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                       \
      std::fprintf(stderr, "\n");                              \
    }                                                          \
  } while (0)

std::vector<float> random_matrix(size_t rows, size_t d, unsigned seed, int dup_every = 0) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> m(rows * d);
  for (auto& v : m) v = dist(gen);
  if (dup_every > 0)  // exact duplicates make exact ties
    for (size_t i = static_cast<size_t>(dup_every); i < rows; i += static_cast<size_t>(dup_every))
      std::copy_n(m.begin() + static_cast<std::ptrdiff_t>((i - 1) * d), d,
                  m.begin() + static_cast<std::ptrdiff_t>(i * d));
  return m;
}

double ref_score(const float* a, const float* b, size_t d, bool cosine) {
  double s = 0, na = 0, nb = 0;
  for (size_t k = 0; k < d; ++k) {
    s += double(a[k]) * b[k];
    na += double(a[k]) * a[k];
    nb += double(b[k]) * b[k];
  }
  if (!cosine) return s;
  return (na > 0 && nb > 0) ? s / std::sqrt(na * nb) : 0.0;
}

// Each returned row must be a valid top-k of the reference up to `tol`.
void check_against_reference(const std::vector<float>& q, const std::vector<float>& c,
                             size_t nq, size_t nc, size_t d, size_t k, bool cosine,
                             const std::vector<float>& s, const std::vector<int64_t>& idx,
                             bool exclude_self, const char* what) {
  const double tol = 1e-4 * (cosine ? 1.0 : double(d));
  const size_t kk = idx.size() / std::max<size_t>(nq, 1);
  for (size_t i = 0; i < nq; ++i) {
    std::vector<double> ref;
    for (size_t j = 0; j < nc; ++j)
      if (!(exclude_self && i == j)) ref.push_back(ref_score(&q[i * d], &c[j * d], d, cosine));
    std::sort(ref.rbegin(), ref.rend());
    CHECK(kk == std::min(k, ref.size()), "%s: %zu columns, expected %zu", what, kk,
          std::min(k, ref.size()));
    for (size_t r = 0; r < kk; ++r) {
      const int64_t j = idx[i * kk + r];
      CHECK(j >= 0 && size_t(j) < nc, "%s: index out of range", what);
      if (j < 0 || size_t(j) >= nc) return;
      CHECK(!(exclude_self && size_t(j) == i), "%s: self pair", what);
      const double truth = ref_score(&q[i * d], &c[size_t(j) * d], d, cosine);
      CHECK(std::fabs(truth - s[i * kk + r]) <= tol, "%s: score %g vs %g", what,
            double(s[i * kk + r]), truth);
      CHECK(std::fabs(ref[r] - s[i * kk + r]) <= tol, "%s: rank %zu score %g vs ref %g", what,
            r, double(s[i * kk + r]), ref[r]);
      if (r > 0) {
        const bool ordered = s[i * kk + r - 1] > s[i * kk + r] ||
                             (s[i * kk + r - 1] == s[i * kk + r] && idx[i * kk + r - 1] < j);
        CHECK(ordered, "%s: row %zu not sorted at %zu", what, i, r);
      }
    }
  }
}

void set_level(SimdLevel l) { setenv("FASTSBERT_SIMD", fastsbert::simd_level_name(l), 1); }

void test_levels() {
  const size_t d = 37, nq = 53, nc = 301;
  auto q = random_matrix(nq, d, 1), c = random_matrix(nc, d, 2, 7);
  for (Metric metric : {Metric::cosine, Metric::dot}) {
    for (size_t k : {size_t(1), size_t(5), size_t(64), nc, nc + 10}) {
      const size_t kk = fastsbert::topk_columns(k, nc);
      std::vector<float> s0, s1(nq * kk), ss(nc * std::min(k, nc - 1));
      std::vector<int64_t> i0, i1(nq * kk), is(ss.size());
      std::vector<float> self0;
      std::vector<int64_t> selfi0;
      for (SimdLevel l : fastsbert::topk_supported_simd_levels()) {
        set_level(l);
        fastsbert::TopkOptions o;
        o.metric = metric;
        o.threads = 3;
        fastsbert::topk_search({q.data(), nq, d}, {c.data(), nc, d}, k, s1.data(), i1.data(), o);
        fastsbert::topk_self({c.data(), nc, d}, k, ss.data(), is.data(), o);
        std::string what = std::string(fastsbert::simd_level_name(l)) + " k=" + std::to_string(k);
        check_against_reference(q, c, nq, nc, d, k, metric == Metric::cosine, s1, i1, false,
                                what.c_str());
        check_against_reference(c, c, nc, nc, d, k, metric == Metric::cosine, ss, is, true,
                                (what + " self").c_str());
        if (l == SimdLevel::scalar) {
          s0 = s1, i0 = i1, self0 = ss, selfi0 = is;
        } else {
          CHECK(s0 == s1 && i0 == i1, "%s differs from scalar (search)", what.c_str());
          CHECK(self0 == ss && selfi0 == is, "%s differs from scalar (self)", what.c_str());
        }
      }
    }
  }
  unsetenv("FASTSBERT_SIMD");
}

// Without FASTSBERT_SIMD the level is the measured choice: one of the SIMD levels timed,
// the widest unless a narrower one was at least 8% faster, the same on every call.
void test_measured_level() {
  unsetenv("FASTSBERT_SIMD");
  const auto levels = fastsbert::topk_supported_simd_levels();
  const auto rates = fastsbert::topk_simd_rates();
  const SimdLevel chosen = fastsbert::topk_simd_level();
  if (rates.size() < 2) {
    CHECK(chosen == levels.back(), "no choice to make, yet %s runs",
          fastsbert::simd_level_name(chosen));
    return;
  }
  SimdLevel expect = rates.back().level;
  double to_beat = rates.back().gflops * 1.08;
  for (size_t i = rates.size() - 1; i-- > 0;) {
    CHECK(rates[i].gflops > 0, "rate of %s is %g", fastsbert::simd_level_name(rates[i].level),
          rates[i].gflops);
    if (rates[i].gflops > to_beat) {
      expect = rates[i].level;
      to_beat = rates[i].gflops * 1.08;
    }
  }
  CHECK(chosen == expect, "chose %s, the rates say %s", fastsbert::simd_level_name(chosen),
        fastsbert::simd_level_name(expect));
  CHECK(fastsbert::topk_simd_level() == chosen, "the choice changed between calls");
  std::printf("measured:");
  for (const auto& r : rates) std::printf(" %s %.0f GFLOP/s", fastsbert::simd_level_name(r.level), r.gflops);
  std::printf(" -> %s\n", fastsbert::simd_level_name(chosen));
}

// Hamming top-k against brute force, (distance, index) order, every level and thread count.
// Widths cover the one-word vectors, the loops specialised per word count (up to 16
// words) and the generic loop past them; 1-byte vectors make nearly every row a tie.
void test_hamming() {
  std::mt19937 rng(11);
  for (size_t bytes : {size_t(1), size_t(6), size_t(48), size_t(65), size_t(130)}) {
    const size_t nq = 5, nc = 40000 / bytes + 700;
    std::vector<uint8_t> q(nq * bytes), c(nc * bytes);
    for (auto& b : q) b = static_cast<uint8_t>(rng());
    for (auto& b : c) b = static_cast<uint8_t>(rng());
    for (size_t k : {size_t(1), size_t(7), size_t(600)}) {
      const size_t kk = fastsbert::topk_columns(k, nc);
      std::vector<std::pair<int32_t, int64_t>> want(nq * kk);
      for (size_t i = 0; i < nq; ++i) {
        std::vector<std::pair<int32_t, int64_t>> all(nc);
        for (size_t j = 0; j < nc; ++j) {
          int32_t dist = 0;
          for (size_t b = 0; b < bytes; ++b) {
            dist += __builtin_popcount(q[i * bytes + b] ^ c[j * bytes + b]);
          }
          all[j] = {dist, static_cast<int64_t>(j)};
        }
        std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kk), all.end());
        std::copy(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kk),
                  want.begin() + static_cast<std::ptrdiff_t>(i * kk));
      }
      for (SimdLevel l : fastsbert::topk_supported_simd_levels()) {
        set_level(l);
        for (int threads : {1, 3}) {
          fastsbert::TopkOptions o;
          o.threads = threads;
          std::vector<int32_t> d(nq * kk);
          std::vector<int64_t> idx(nq * kk);
          fastsbert::hamming_search({q.data(), nq, bytes}, {c.data(), nc, bytes}, k, d.data(),
                                    idx.data(), o);
          bool same = true;
          for (size_t r = 0; r < nq * kk; ++r) {
            same = same && d[r] == want[r].first && idx[r] == want[r].second;
          }
          CHECK(same, "hamming %s bytes=%zu k=%zu threads=%d differs from brute force",
                fastsbert::simd_level_name(fastsbert::hamming_simd_level()), bytes, k, threads);
        }
      }
    }
  }
  unsetenv("FASTSBERT_SIMD");
}

// Rescoring against double-precision cosine over the same candidates, every level.
void test_rescore() {
  const size_t d = 45, nq = 6, nc = 900, per_query = 40, k = 9;
  auto q = random_matrix(nq, d, 3), c = random_matrix(nc, d, 4);
  std::vector<int64_t> cand(nq * per_query);
  std::mt19937 rng(5);
  for (auto& x : cand) x = static_cast<int64_t>(rng() % nc);
  for (SimdLevel l : fastsbert::topk_supported_simd_levels()) {
    set_level(l);
    std::vector<float> s(nq * k);
    std::vector<int64_t> idx(nq * k);
    fastsbert::rescore_candidates({q.data(), nq, d}, {c.data(), nc, d}, cand.data(), per_query,
                                  k, s.data(), idx.data());
    for (size_t i = 0; i < nq; ++i) {
      for (size_t r = 0; r < k; ++r) {
        const int64_t j = idx[i * k + r];
        double dot = 0, nqq = 0, ncc = 0;
        for (size_t t = 0; t < d; ++t) {
          dot += double(q[i * d + t]) * c[j * d + t];
          nqq += double(q[i * d + t]) * q[i * d + t];
          ncc += double(c[j * d + t]) * c[j * d + t];
        }
        const double want = dot / std::sqrt(nqq * ncc);
        CHECK(std::abs(s[i * k + r] - want) < 1e-5, "rescore %s: score %f, want %f",
              fastsbert::simd_level_name(l), s[i * k + r], want);
        const bool candidate =
            std::find(cand.begin() + static_cast<std::ptrdiff_t>(i * per_query),
                      cand.begin() + static_cast<std::ptrdiff_t>((i + 1) * per_query), j) !=
            cand.begin() + static_cast<std::ptrdiff_t>((i + 1) * per_query);
        CHECK(candidate, "rescore %s: row %lld is not a candidate", fastsbert::simd_level_name(l),
              static_cast<long long>(j));
        if (r > 0) CHECK(s[i * k + r - 1] >= s[i * k + r], "rescore: not best first");
      }
    }
  }
  unsetenv("FASTSBERT_SIMD");
}

void test_errors() {
  std::vector<float> a(4 * 3, 1.0f), b(5 * 2, 1.0f);
  std::vector<float> s(8);
  std::vector<int64_t> i(8);
  bool threw = false;
  try {
    fastsbert::topk_search({a.data(), 4, 3}, {b.data(), 5, 2}, 2, s.data(), i.data());
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "dimension mismatch accepted");
  a[5] = std::nanf("");
  threw = false;
  try {
    fastsbert::topk_self({a.data(), 4, 3}, 1, s.data(), i.data());
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "NaN accepted");
}

}  // namespace

int main() {
  test_measured_level();
  test_levels();
  test_hamming();
  test_rescore();
  test_errors();
  std::printf("simd levels:");
  for (auto l : fastsbert::topk_supported_simd_levels())
    std::printf(" %s", fastsbert::simd_level_name(l));
  std::printf("\n%s\n", failures ? "FAILED" : "OK");
  return failures ? 1 : 0;
}
