// C++ API checks for a static embedding model (no ONNX Runtime is loaded for it).
// Needs FASTSBERT_TEST_STATIC_MODEL (an exported static model directory),
// FASTSBERT_TEST_STATIC_TEXTS (UTF-8 texts, one per line) and FASTSBERT_TEST_STATIC_EXPECTED
// (the reference vectors: raw little-endian float32, texts x dim). Exits 77 (skipped)
// without them.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "check.h"
#include "fastsbert/encoder.h"

namespace {

using fastsbert_test::check;

std::vector<std::string> read_lines(const char* path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<float> read_floats(const char* path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> out(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.begin() + out.size() * sizeof(float),
            reinterpret_cast<char*>(out.data()));
  return out;
}

}  // namespace

int main() {
  const char* model = std::getenv("FASTSBERT_TEST_STATIC_MODEL");
  const char* texts_path = std::getenv("FASTSBERT_TEST_STATIC_TEXTS");
  const char* expected_path = std::getenv("FASTSBERT_TEST_STATIC_EXPECTED");
  if (!model || !texts_path || !expected_path) {
    std::fprintf(stderr, "FASTSBERT_TEST_STATIC_* not set; skipping\n");
    return fastsbert_test::kSkipped;
  }
  fastsbert::Encoder enc(model);
  check(enc.config().engine == "static", "the directory runs on the static engine");
  check(enc.dtype() == "float32", "static models run in float32");
  const std::vector<std::string> lines = read_lines(texts_path);
  const std::vector<float> expected = read_floats(expected_path);
  const size_t dim = static_cast<size_t>(enc.dim());
  check(expected.size() == lines.size() * dim, "reference has texts x dim floats");
  std::vector<std::string_view> texts(lines.begin(), lines.end());
  std::vector<float> out(lines.size() * dim);
  enc.encode(texts, out.data());
  double min_cos = 1.0;
  for (size_t i = 0; i < lines.size() && expected.size() == out.size(); ++i) {
    double dot = 0, na = 0, nb = 0;
    for (size_t d = 0; d < dim; ++d) {
      dot += double(out[i * dim + d]) * expected[i * dim + d];
      na += double(out[i * dim + d]) * out[i * dim + d];
      nb += double(expected[i * dim + d]) * expected[i * dim + d];
    }
    if (na == 0 && nb == 0) continue;  // a text without tokens: zero in both
    min_cos = std::min(min_cos, dot / std::sqrt(na * nb + 1e-300));
  }
  check(min_cos >= 0.99999, "cosine to the reference >= 0.99999, got " + std::to_string(min_cos));

  // tokenize + encode_ids gives the same vectors as encode.
  std::vector<int64_t> ids, offsets;
  enc.tokenize(texts, ids, offsets);
  std::vector<float> again(out.size());
  enc.encode_ids({ids.data(), offsets.data(), texts.size()}, again.data());
  check(again == out, "encode_ids(tokenize(texts)) == encode(texts)");

  // An id outside the matrix is refused, naming the sequence.
  const std::vector<int64_t> bad_ids = {1, 1 << 30};
  const std::vector<int64_t> bad_offsets = {0, 1, 2};
  try {
    enc.encode_ids({bad_ids.data(), bad_offsets.data(), 2}, again.data());
    check(false, "an id outside the matrix throws");
  } catch (const fastsbert::InvalidArgument& e) {
    check(std::string(e.what()).find("sequence 1") != std::string::npos, e.what());
  }

  // A cancelled token stops the call.
  fastsbert::CancelToken cancel;
  cancel.cancel();
  fastsbert::EncodeOptions opts;
  opts.cancel = &cancel;
  try {
    enc.encode(texts, out.data(), opts);
    check(false, "a cancelled call throws");
  } catch (const fastsbert::Cancelled&) {
  }
  return fastsbert_test::report("test_static_encoder");
}
