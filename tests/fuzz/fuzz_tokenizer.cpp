// Fuzz target for the native tokenizer.
//
// Each input is used twice: as text for every tokenizer named in
// $FASTSBERT_FUZZ_TOKENIZERS (colon-separated tokenizer.json paths), and as a
// tokenizer.json document itself. Any exception is an accepted outcome; crashes,
// sanitizer reports and ids out of the vocabulary range are not.
//
// Built with libFuzzer (clang -fsanitize=fuzzer) or, without it, with the small
// random-input driver below (FASTSBERT_FUZZ_STANDALONE).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fastsbert/tokenizer.h"

namespace {

std::vector<std::unique_ptr<fastsbert::Tokenizer>>& tokenizers() {
  static std::vector<std::unique_ptr<fastsbert::Tokenizer>> t;
  return t;
}

void load_tokenizers() {
  const char* env = std::getenv("FASTSBERT_FUZZ_TOKENIZERS");
  if (!env) return;
  std::string list(env);
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(':', start);
    if (end == std::string::npos) end = list.size();
    const std::string path = list.substr(start, end - start);
    if (!path.empty()) {
      tokenizers().push_back(std::make_unique<fastsbert::Tokenizer>(fastsbert::Tokenizer::from_file(path)));
    }
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  load_tokenizers();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const auto& tok : tokenizers()) {
    try {
      const size_t max_length = size ? data[0] % 8 : 0;  // exercises truncation too
      for (int64_t id : tok->encode(text, max_length)) {
        if (id < 0 || id > INT32_MAX) std::abort();
      }
      std::vector<int64_t> ids, offsets;
      tok->encode_batch_csr({text, text.substr(size / 2)}, ids, offsets, 0, 2);
      if (offsets.size() != 3 || size_t(offsets.back()) != ids.size()) std::abort();
      // The input split into a pair, cut together to a small limit.
      std::vector<int64_t> types;
      tok->encode_pair_batch_csr({text.substr(0, size / 3)}, {text.substr(size / 3)}, ids, types,
                                 offsets, max_length, 1);
      if (types.size() != ids.size() || size_t(offsets.back()) != ids.size()) std::abort();
      if (max_length > tok->num_special_tokens_pair() && ids.size() > max_length) std::abort();
    } catch (const std::exception&) {
    }
  }
  try {
    auto t = fastsbert::Tokenizer::from_json(text);
    (void)t.encode("Hello world, ça va? 中文 <s>");
  } catch (const std::exception&) {
  }
  return 0;
}

#ifdef FASTSBERT_FUZZ_STANDALONE
// Without libFuzzer: random inputs built from seeds (files given on the command line)
// by byte flips, splices and UTF-8 fragments, for a fixed number of seconds.
#include <chrono>
#include <fstream>
#include <iterator>
#include <random>

int main(int argc, char** argv) {
  LLVMFuzzerInitialize(&argc, &argv);
  double seconds = 30;
  std::vector<std::string> seeds = {"", "Hello, World!", "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}"};
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "-max_total_time=", 16) == 0) {
      seconds = std::atof(argv[i] + 16);
      continue;
    }
    std::ifstream f(argv[i], std::ios::binary);
    seeds.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  static const char* fragments[] = {"\xC3\xA9", "e\xCC\x81", "\xE4\xB8\xAD", "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
                                    "\xE2\x80\x8D", "\xC2\xA0", "\xE3\x80\x80", "\xEF\xAC\x81", "\x80", "\xC0\xAF",
                                    "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x96\x81", " ", "'s", "[SEP]", "<s>",
                                    "<mask>", "\t\n", "\x00", "\xFF", "\"", "{", "}", "[", "]", ",", ":", "1e999"};
  std::mt19937_64 rng(12345);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  size_t runs = 0;
  while (std::chrono::steady_clock::now() < until) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + int(rng() % 16);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 5) {
        case 0: s.insert(pos, fragments[rng() % (sizeof fragments / sizeof *fragments)]); break;
        case 1: if (!s.empty() && pos < s.size()) s[pos] = char(rng()); break;
        case 2: if (pos < s.size()) s.erase(pos, 1 + rng() % 8); break;
        case 3: { const std::string& o = seeds[rng() % seeds.size()];
                  if (!o.empty()) { size_t a = rng() % o.size(); s.insert(pos, o.substr(a, rng() % 64)); } break; }
        default: s.insert(pos, std::string(1 + rng() % 300, char('a' + rng() % 26))); break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    ++runs;
  }
  std::printf("fuzz_tokenizer: %zu inputs in %.0f s, no failures\n", runs, seconds);
  return 0;
}
#endif
