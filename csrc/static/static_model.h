// The static engine: a sentence's vector is the mean of its tokens' rows of an embedding
// matrix (sentence-transformers' StaticEmbedding, model2vec's StaticModel), optionally
// L2-normalised. No ONNX Runtime: tokenizing and the SIMD embedding-bag mean run together,
// block by block of texts, over the shared thread pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model_dir.h"
#include "fastsbert/encoder.h"
#include "fastsbert/tokenizer.h"
#include "static/embedding_bag.h"
#include "static/npy_matrix.h"

namespace fastsbert::static_embed {

class StaticModel {
 public:
  // Loads the directory's tokenizer.json and maps its embedding matrix. Throws MissingFile /
  // CorruptFile naming the file when one is absent or they disagree (rows != vocab_size,
  // columns != dim, a tokenizer vocabulary larger than the matrix).
  explicit StaticModel(const engine::ModelDir& model);

  // Token ids of each text as the model averages them (the text cut to max_chars code
  // points, no special tokens, at most max_length tokens (0: the model's max_seq_length),
  // drop_token_id removed), in CSR form.
  void tokenize(const std::vector<std::string_view>& texts, std::vector<int64_t>& ids,
                std::vector<int64_t>& offsets, size_t max_length, int threads,
                const CancelToken* cancel) const;

  // Row i of `out` (dim floats) = the mean of sequence i's rows (zeros when it is empty),
  // L2-normalised when the model normalises. Throws InvalidArgument for an id outside the
  // matrix, naming the sequence.
  void embed_ids(const TokenSequences& seqs, float* out, int threads, const CancelToken* cancel,
                 const std::function<void(size_t)>& progress) const;

  // tokenize + embed_ids, one block of texts at a time (no CSR of the whole input).
  void encode(const std::vector<std::string_view>& texts, float* out, int threads,
              const CancelToken* cancel, const std::function<void(size_t)>& progress) const;

 private:
  struct Scratch;
  void tokenize_block(const std::vector<std::string_view>& texts, size_t lo, size_t hi,
                      size_t max_length, Scratch& scratch) const;
  void embed_row(BagMeanFn bag_mean, const int64_t* ids, size_t n, size_t row, float* out) const;

  engine::ModelDir model_;
  Tokenizer tokenizer_;
  NpyMatrix table_;
  size_t dim_;
};

// Texts per work item: enough to amortise a hand-out, few enough to balance threads.
inline constexpr size_t kTextsPerBlock = 256;

}  // namespace fastsbert::static_embed
