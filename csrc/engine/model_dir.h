// Reads and checks an exported model directory (model.onnx + fastsbert.json).
#pragma once

#include <string>
#include <vector>

#include "fastsbert/encoder.h"

namespace fastsbert::engine {

struct ModelDir {
  std::string path;
  std::string onnx_path;
  ModelConfig config;
  std::vector<std::string> inputs;  // graph input names, in order (ONNX engine only)
  // "word_tokenizer": {"type": "whitespace" | "phrase", "file": "<its config>"}: a model
  // whose first module is WordEmbeddings or BoW, tokenized by a word tokenizer in place
  // of tokenizer.json. type is empty when the key is absent.
  std::string word_tokenizer_type;
  std::string word_tokenizer_path;  // path + "/" + file
  // The static engine (config.engine == "static"): embedding-bag mean, no ONNX graph.
  std::string embeddings_path;  // path + "/" + "embeddings" (a float32 (vocab_size, dim) .npy)
  int64_t vocab_size = 0;       // rows of the embedding matrix
  int64_t max_chars = 0;        // code points kept before tokenizing (0: all)
  int64_t drop_token_id = -1;   // token id removed after tokenizing (-1: none)
};

// Graph inputs fastsbert knows how to fill.
// prompt_length: the tokens pooling leaves out (models with include_prompt=false).
inline constexpr const char* kInputNames[] = {"input_ids", "attention_mask", "token_type_ids",
                                              "prompt_length"};
bool is_known_input(const std::string& name);

// max_seq_length of a static or word-tokenizer model whose fastsbert.json sets none: a
// length no text reaches, so that callers that cut or window by it need no special case.
inline constexpr int64_t kNoLengthLimit = 2147483647;

// Reads the directory and validates fastsbert.json. "engine": "static" selects the static
// engine (keys embeddings, vocab_size, optional max_chars and drop_token_id; no model.onnx,
// inputs or pooling needed; max_seq_length optional: kNoLengthLimit when absent). Otherwise: the type of every key fastsbert reads,
// dim >= 1, 1 <= max_seq_length (<= max_positions when recorded), pad_token_id >= 0, and
// `inputs` a non-empty list of known input names without repeats. Keys it does not know
// are ignored, so newer exports stay readable. Throws MissingFile naming the missing
// directory or file, and CorruptFile naming the file, the key and the value.
ModelDir read_model_dir(const std::string& path);

}  // namespace fastsbert::engine
