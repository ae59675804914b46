// Concurrent Encoder::encode: kThreads threads share one Encoder and each embeds its own
// list of texts several times; every result must equal, bit for bit, the same call made
// alone beforehand. scripts/sanitizers.sh runs it under ThreadSanitizer.
// Needs FASTSBERT_TEST_MODEL (and FASTSBERT_ORT_LIBRARY unless libonnxruntime.so.1 is on
// the loader path); exits 77 (skipped) without a model.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "check.h"
#include "fastsbert/encoder.h"

namespace {

using fastsbert_test::check;

constexpr int kThreads = 8;
constexpr int kTextsPerThread = 6;
constexpr int kRounds = 3;

// Texts of varied lengths and scripts, different for every thread.
std::vector<std::string> texts_for(int thread) {
  static const char* const kWords[] = {"flute", "Mann", "café", "déjà", "東京", "quick",
                                       "brown", "fox",   "naïve", "vu",   "plays", "x"};
  std::vector<std::string> out;
  for (int i = 0; i < kTextsPerThread; ++i) {
    std::string t;
    const int words = 1 + (thread * 7 + i * 5) % 23;
    for (int w = 0; w < words; ++w) {
      if (w) t += ' ';
      t += kWords[(thread + i * 3 + w) % 12];
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<float> embed(const fastsbert::Encoder& enc, const std::vector<std::string>& texts) {
  std::vector<std::string_view> views(texts.begin(), texts.end());
  std::vector<float> out(texts.size() * static_cast<size_t>(enc.dim()));
  fastsbert::EncodeOptions options;
  options.batch_size = 4;  // several model calls per encode
  enc.encode(views, out.data(), options);
  return out;
}

}  // namespace

int main() {
  const char* model = fastsbert_test::test_model();
  if (!model) return fastsbert_test::kSkipped;
  fastsbert::EncoderOptions options;
  options.threads = 2;  // fastsbert's tokenizer threads and ONNX Runtime's pool both run
  const fastsbert::Encoder enc(model, options);
  check(enc.has_tokenizer(), "the test model has a native tokenizer");

  std::vector<std::vector<std::string>> texts(kThreads);
  std::vector<std::vector<float>> serial(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    texts[t] = texts_for(t);
    serial[t] = embed(enc, texts[t]);
  }

  // results[t][r]: thread t's embeddings in round r; errors[t]: what it caught, if anything.
  std::vector<std::vector<std::vector<float>>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      try {
        for (int r = 0; r < kRounds; ++r) results[t].push_back(embed(enc, texts[t]));
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (std::thread& th : pool) th.join();

  for (int t = 0; t < kThreads; ++t) {
    check(errors[t].empty(), "thread " + std::to_string(t) + " threw: " + errors[t]);
    check(results[t].size() == static_cast<size_t>(kRounds),
          "thread " + std::to_string(t) + " finished every round");
    for (size_t r = 0; r < results[t].size(); ++r) {
      const std::vector<float>& got = results[t][r];
      check(got.size() == serial[t].size() &&
                std::memcmp(got.data(), serial[t].data(), got.size() * sizeof(float)) == 0,
            "thread " + std::to_string(t) + " round " + std::to_string(r) +
                " equals the serial result");
    }
  }
  return fastsbert_test::report("test_concurrent_encode");
}
