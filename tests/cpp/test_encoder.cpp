// C++ API checks for fastsbert::Encoder, linked against libfastsbert without Python.
// Needs FASTSBERT_TEST_MODEL (an exported model directory) and, unless libonnxruntime.so.1
// is on the loader path, FASTSBERT_ORT_LIBRARY. Exits 77 (skipped) without a model.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "fastsbert/encoder.h"

namespace {

using fastsbert_test::check;

template <typename E = fastsbert::Error, typename Fn>
void expect_error(Fn fn, const std::string& needle, const std::string& what) {
  try {
    fn();
    check(false, what + ": no exception");
  } catch (const E& e) {
    check(std::string(e.what()).find(needle) != std::string::npos,
          what + ": message '" + e.what() + "' lacks '" + needle + "'");
  } catch (const std::exception& e) {
    check(false, what + ": unexpected exception type: " + e.what());
  }
}

}  // namespace

int main() {
  const char* model = fastsbert_test::test_model();
  if (!model) return fastsbert_test::kSkipped;
  fastsbert::Encoder enc(model);
  const int64_t dim = enc.dim();
  check(dim > 0, "dim is positive");
  check(!fastsbert::onnxruntime_version().empty(), "ONNX Runtime version is known");

  // Three sequences of different lengths (ids below 1000 exist in every test vocabulary).
  const std::vector<int64_t> ids = {101, 2023, 2003, 1037, 3231, 102,  // 6 tokens
                                    101, 7592, 102,                    // 3 tokens
                                    101, 2204, 2154, 2000, 102};       // 5 tokens
  const std::vector<int64_t> offsets = {0, 6, 9, 14};
  std::vector<float> all(3 * dim);
  fastsbert::EncodeOptions opts;
  size_t last_progress = 0;
  opts.progress = [&](size_t done) { last_progress = done; };
  enc.encode_ids({ids.data(), offsets.data(), 3}, all.data(), opts);
  check(last_progress == 3, "progress reports every sequence");

  // Each row equals the sequence embedded alone: batching and order do not leak.
  for (size_t i = 0; i < 3; ++i) {
    const std::vector<int64_t> one(ids.begin() + offsets[i], ids.begin() + offsets[i + 1]);
    const std::vector<int64_t> one_off = {0, static_cast<int64_t>(one.size())};
    std::vector<float> row(dim);
    enc.encode_ids({one.data(), one_off.data(), 1}, row.data());
    double max_diff = 0;
    for (int64_t d = 0; d < dim; ++d) {
      max_diff = std::fmax(max_diff, std::fabs(row[d] - all[i * dim + d]));
      check(std::isfinite(row[d]), "finite output");
    }
    check(max_diff < 1e-4, "row " + std::to_string(i) + " matches its single encoding");
  }

  // Bad input: too long, decreasing offsets, missing directory.
  std::vector<int64_t> long_ids(enc.max_seq_length() + 1, 1000);
  const std::vector<int64_t> long_off = {0, static_cast<int64_t>(long_ids.size())};
  expect_error([&] { enc.encode_ids({long_ids.data(), long_off.data(), 1}, all.data()); },
               "more than max_seq_length", "too-long sequence");
  const std::vector<int64_t> bad_off = {0, 6, 3, 14};
  expect_error([&] { enc.encode_ids({ids.data(), bad_off.data(), 3}, all.data()); },
               "must not decrease", "decreasing offsets");
  expect_error<fastsbert::MissingFile>([] { fastsbert::Encoder missing("/nonexistent/model"); },
                                       "/nonexistent/model", "missing directory");
  expect_error<fastsbert::InvalidArgument>(
      [&] {
        fastsbert::EncoderOptions o;
        o.device = "tpu";
        fastsbert::Encoder e(model, o);
      },
      "unknown device", "unknown device");
  expect_error<fastsbert::InvalidArgument>(
      [&] {
        fastsbert::EncoderOptions o;
        o.threads = -2;
        fastsbert::Encoder e(model, o);
      },
      "-2", "negative threads");

  // Cancellation: an already cancelled token stops the call before any model call; the
  // encoder stays usable.
  {
    fastsbert::CancelToken cancel;
    cancel.cancel();
    fastsbert::EncodeOptions o;
    o.cancel = &cancel;
    expect_error<fastsbert::Cancelled>(
        [&] { enc.encode_ids({ids.data(), offsets.data(), 3}, all.data(), o); }, "cancelled",
        "cancelled token");
    std::vector<float> again(3 * dim);
    enc.encode_ids({ids.data(), offsets.data(), 3}, again.data());
    check(again == all, "usable after a cancelled call");
  }

  // A model call in flight is terminated: one batch holding every sequence (no batch left to
  // skip), so only ONNX Runtime's run termination can make this call throw Cancelled.
  {
    setenv("FASTSBERT_BATCH_TOKENS", "100000000", 1);
    fastsbert::EncoderOptions single;
    single.threads = 1;
    fastsbert::Encoder one_batch(model, single);
    const size_t n = 32, len = static_cast<size_t>(one_batch.max_seq_length());
    std::vector<int64_t> many(n * len, 1000), many_off(n + 1);
    for (size_t i = 0; i <= n; ++i) many_off[i] = static_cast<int64_t>(i * len);
    std::vector<float> big(n * dim);
    fastsbert::CancelToken cancel;
    fastsbert::EncodeOptions o;
    o.batch_size = static_cast<int>(n);
    o.cancel = &cancel;
    bool cancelled = false;
    std::thread call([&] {
      try {
        one_batch.encode_ids({many.data(), many_off.data(), n}, big.data(), o);
      } catch (const fastsbert::Cancelled&) {
        cancelled = true;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel.cancel();
    call.join();
    check(cancelled, "a model call in flight is terminated");
    std::vector<float> row(dim);
    one_batch.encode_ids({ids.data(), offsets.data(), 1}, row.data());
    double max_diff = 0;
    for (int64_t d = 0; d < dim; ++d) max_diff = std::fmax(max_diff, std::fabs(row[d] - all[d]));
    check(max_diff < 1e-4, "usable after a terminated model call");
  }

  return fastsbert_test::report("test_encoder");
}
