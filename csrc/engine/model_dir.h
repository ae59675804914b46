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

// Throws fastsbert::Error naming the directory and the missing or corrupt file.
ModelDir read_model_dir(const std::string& path);

}  // namespace fastsbert::engine
