// fastsbert: sentence embeddings from an exported model directory.
//
// A model directory (written by `fastsbert export`) holds model.onnx, whose single output
// is the final sentence embedding (encoder + pooling [+ Dense] [+ Normalize] fused) or, for
// a cross-encoder, the scores of text pairs (encoder + classification head + activation),
// fastsbert.json (dim, max_seq_length, pooling, ...) and the tokenizer files.
//
// This header is the C++ API for services: it exposes no ONNX Runtime or Python types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fastsbert/cancel.h"
#include "fastsbert/errors.h"
#include "fastsbert/threads.h"

namespace fastsbert {

// Errors (fastsbert/errors.h): the constructor throws InvalidArgument for a bad option,
// MissingFile for a missing directory or file, CorruptFile for a malformed one, and Error
// when ONNX Runtime cannot be loaded or cannot load the model.

struct EncoderOptions {
  // "cpu", "cuda" or "cuda:N". CUDA needs an onnxruntime build with the CUDA execution
  // provider; asking for it otherwise raises fastsbert::Error.
  std::string device = "cpu";
  // Threads used for inference (tokenizing included); 0 means available_cpus(), and
  // larger counts are capped at it. Negative counts raise InvalidArgument.
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
  // "onnx" (model.onnx through ONNX Runtime) or "static" (a static embedding model: the mean
  // of its tokens' rows of an embedding matrix, no ONNX Runtime).
  std::string engine = "onnx";
  int64_t dim = 0;
  // Longest token sequence fed to the model; 2^31 - 1 for a static or word-tokenizer model
  // whose fastsbert.json sets no limit (sentence-transformers: no limit).
  int64_t max_seq_length = 0;
  // Longest token sequence the model's position embeddings take; 0 when the export did not
  // record it (older exports).
  int64_t max_positions = 0;
  std::string pooling;
  bool normalize = false;
  int64_t pad_token_id = 0;
};

// n token sequences in CSR form: the ids of sequence i are ids[offsets[i] .. offsets[i+1]).
// `offsets` has n + 1 entries, offsets[0] == 0. Special tokens are already in place and
// each sequence is at most max_seq_length long.
// `type_ids`, when set, holds the token type id of every entry of `ids` (pairs encoded for
// a cross-encoder: 0 for the first text, 1 for the second, on models that take them); when
// null every token has type 0.
struct TokenSequences {
  const int64_t* ids = nullptr;
  const int64_t* offsets = nullptr;
  size_t count = 0;
  const int64_t* type_ids = nullptr;
};

struct EncodeOptions {
  // At most this many sequences in one model call.
  int batch_size = 32;
  // Called from the calling thread with the number of sequences finished so far.
  std::function<void(size_t done)> progress;
  // When set and cancelled (from another thread), the call stops between batches, stops
  // the model calls in flight, and throws fastsbert::Cancelled. Not owned.
  const CancelToken* cancel = nullptr;
  // Tokens at the start of every sequence (the special tokens before the text and a prompt
  // put before it) that pooling leaves out, for a model exported from a Pooling with
  // include_prompt=false (its graph has a "prompt_length" input). 0: pool every token.
  // std::invalid_argument when nonzero for a model without that input.
  int64_t prompt_length = 0;
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
  // Throws InvalidArgument for malformed sequences (naming the first), Cancelled when
  // options.cancel stops it, and Error when a model call fails.
  void encode_ids(const TokenSequences& sequences, float* out,
                  const EncodeOptions& options = {}) const;

  // Whether encode() can take raw text: the directory's tokenizer.json loaded into the
  // native tokenizer. When false, tokenizer_unavailable_reason() says why (for example
  // the unsupported component), and callers tokenize elsewhere and use encode_ids().
  bool has_tokenizer() const;
  const std::string& tokenizer_unavailable_reason() const;

  // Tokenizes UTF-8 texts (special tokens added, truncated to max_seq_length) and embeds
  // them; writes row i of `out` for text i. Throws InvalidArgument for invalid UTF-8
  // (naming the text), Error when has_tokenizer() is false, and as encode_ids otherwise.
  void encode(const std::vector<std::string_view>& texts, float* out,
              const EncodeOptions& options = {}) const;

  // Token ids of UTF-8 texts as the model sees them (special tokens added), in CSR form:
  // text i is ids[offsets[i] .. offsets[i+1]). Each is cut to max_length tokens, special
  // tokens included; 0 means max_seq_length (what encode() runs). Throws like encode().
  void tokenize(const std::vector<std::string_view>& texts, std::vector<int64_t>& ids,
                std::vector<int64_t>& offsets, size_t max_length = 0,
                const CancelToken* cancel = nullptr) const;

  // Text pairs (cross-encoders): token ids and type ids of (first[i], second[i]) in CSR
  // form, cut together to max_length tokens (0: max_seq_length) as Tokenizer::
  // encode_pair_batch_csr does. Throws like tokenize(), and InvalidArgument when the lists
  // differ in length.
  void tokenize_pairs(const std::vector<std::string_view>& first,
                      const std::vector<std::string_view>& second, std::vector<int64_t>& ids,
                      std::vector<int64_t>& type_ids, std::vector<int64_t>& offsets,
                      size_t max_length = 0, const CancelToken* cancel = nullptr) const;

  // Tokenizes the pairs and runs them: writes row i (dim() floats: a cross-encoder's
  // scores) of `out` for pair i. Throws like tokenize_pairs() and encode_ids().
  void encode_pairs(const std::vector<std::string_view>& first,
                    const std::vector<std::string_view>& second, float* out,
                    const EncodeOptions& options = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Version of the ONNX Runtime library in use ("" before the first Encoder is created).
std::string onnxruntime_version();

}  // namespace fastsbert
