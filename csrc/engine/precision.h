// Model precision (dtype): which graph of an exported directory the engine loads.
//
// An exported directory holds the float32 graph (model.onnx) and, optionally, variants
// listed in fastsbert.json under "variants": {"int8": {"file": ..., "passed": ...}, ...},
// each with the agreement figures its export measured against float32 (the guard).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace fastsbert::engine {

// The canonical name for a user's spelling: "float32" (or "fp32"), "int8", "float16"
// (or "fp16"), "auto". Throws fastsbert::Error listing the choices for anything else.
std::string canonical_dtype(const std::string& dtype);

struct PrecisionChoice {
  std::string dtype;      // the precision that runs: float32, int8 or float16
  std::string onnx_path;  // the graph file to load
  // ONNX Runtime session config entries (key, value) this precision runs with.
  std::vector<std::pair<std::string, std::string>> session_config;
};

// Picks the graph for `dtype` on the CPU (cuda false) or a CUDA device.
//  - float32: model.onnx.
//  - int8 (CPU only) / float16 (CUDA only): the variant's file; a directory without it,
//    or whose variant was refused by the guard, throws an Error saying how to create it.
//  - auto: int8 on a CPU whose features (after FASTSBERT_CPU_FEATURES) make int8 fast,
//    float16 on CUDA, each only when the variant exists and passed its guard; otherwise
//    float32.
PrecisionChoice choose_precision(const std::string& model_dir, const std::string& dtype,
                                 bool cuda);

}  // namespace fastsbert::engine
