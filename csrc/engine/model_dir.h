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
  std::vector<std::string> inputs;  // graph input names, in order
};

// Graph inputs fastsbert knows how to fill.
// prompt_length: the tokens pooling leaves out (models with include_prompt=false).
inline constexpr const char* kInputNames[] = {"input_ids", "attention_mask", "token_type_ids",
                                              "prompt_length"};
bool is_known_input(const std::string& name);

// Reads the directory and validates fastsbert.json: the type of every key fastsbert reads,
// dim >= 1, 1 <= max_seq_length (<= max_positions when recorded), pad_token_id >= 0, and
// `inputs` a non-empty list of known input names without repeats. Keys it does not know
// are ignored, so newer exports stay readable. Throws MissingFile naming the missing
// directory or file, and CorruptFile naming the file, the key and the value.
ModelDir read_model_dir(const std::string& path);

}  // namespace fastsbert::engine
