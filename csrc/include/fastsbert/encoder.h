// fastsbert: sentence embeddings from an exported model directory.
//
// A model directory (written by `fastsbert export`) holds model.onnx, whose single output
// is the final sentence embedding (encoder + pooling [+ Dense] [+ Normalize] fused),
// fastsbert.json (dim, max_seq_length, pooling, ...) and the tokenizer files.
//
// This header is the C++ API for services: it exposes no ONNX Runtime or Python types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fastsbert {

// Raised for a missing or corrupt model directory, a bad argument, or a runtime failure.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EncoderOptions {
  // "cpu", "cuda" or "cuda:N". CUDA needs an onnxruntime build with the CUDA execution
  // provider; asking for it otherwise raises fastsbert::Error.
  std::string device = "cpu";
  // Threads used for inference; 0 means all cores of this machine.
  int threads = 0;
  // Model precision: "float32" (or "fp32"), "int8" (CPU), "float16" (or "fp16", CUDA), or
  // "auto": int8 on a CPU with VNNI or AMX, float16 on CUDA, each only when the model
  // directory holds that variant and it passed its accuracy guard; float32 otherwise.
  // dtype() reports the precision that runs.
  std::string dtype = "float32";
  // Path of libonnxruntime.so; empty means $FASTSBERT_ORT_LIBRARY, then "libonnxruntime.so.1"
  // from the loader's search path. The first Encoder in a process fixes the library.
  std::string ort_library;
};

// The contents of fastsbert.json.
struct ModelConfig {
  int64_t dim = 0;
  int64_t max_seq_length = 0;
  std::string pooling;
  bool normalize = false;
  int64_t pad_token_id = 0;
};

// n token sequences in CSR form: the ids of sequence i are ids[offsets[i] .. offsets[i+1]).
// `offsets` has n + 1 entries, offsets[0] == 0. Special tokens are already in place and
// each sequence is at most max_seq_length long.
struct TokenSequences {
  const int64_t* ids = nullptr;
  const int64_t* offsets = nullptr;
  size_t count = 0;
};

struct EncodeOptions {
  // At most this many sequences in one model call.
  int batch_size = 32;
  // Called from the calling thread with the number of sequences finished so far.
  std::function<void(size_t done)> progress;
};

class Encoder {
 public:
  explicit Encoder(const std::string& model_dir, const EncoderOptions& options = {});
  ~Encoder();
  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  const ModelConfig& config() const;
  int64_t dim() const { return config().dim; }
  int64_t max_seq_length() const { return config().max_seq_length; }
  const std::string& model_dir() const;
  // The precision that runs: "float32", "int8" or "float16" (never "auto").
  const std::string& dtype() const;

  // Embeds every sequence; writes row i (dim floats) of `out` for sequence i.
  // `out` must hold sequences.count * dim() floats. Safe to call from several threads.
  void encode_ids(const TokenSequences& sequences, float* out,
                  const EncodeOptions& options = {}) const;

  // Whether encode() can take raw text: the directory's tokenizer.json loaded into the
  // native tokenizer. When false, tokenizer_unavailable_reason() says why (for example
  // the unsupported component), and callers tokenize elsewhere and use encode_ids().
  bool has_tokenizer() const;
  const std::string& tokenizer_unavailable_reason() const;

  // Tokenizes UTF-8 texts (special tokens added, truncated to max_seq_length) and embeds
  // them; writes row i of `out` for text i. Throws fastsbert::Error for invalid UTF-8
  // (naming the text) or when has_tokenizer() is false.
  void encode(const std::vector<std::string_view>& texts, float* out,
              const EncodeOptions& options = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Version of the ONNX Runtime library in use ("" before the first Encoder is created).
std::string onnxruntime_version();

}  // namespace fastsbert
