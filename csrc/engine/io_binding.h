// Model calls on a CUDA session through ONNX Runtime's I/O binding.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <vector>

namespace fastsbert::engine {

// Runs `session` (CUDA execution provider) on host input tensors and
// returns the single output in host memory. Binding says where each tensor lives before
// the run, so the inputs go to the device once (synchronised before the run), every
// intermediate stays there, and the provider copies only the (batch, dim) embedding
// back, into memory ONNX Runtime allocates for it.
std::vector<Ort::Value> run_bound(Ort::Session& session, const Ort::RunOptions& run,
                                  const std::vector<const char*>& input_names,
                                  const std::vector<Ort::Value>& inputs, const char* output_name);

}  // namespace fastsbert::engine
