// Model calls on a CUDA session through ONNX Runtime's I/O binding.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <vector>

namespace fastsbert::engine {

// Runs `session` (CUDA execution provider on device `device_id`) on host input tensors and
// returns the single output in page-locked host memory. The inputs are copied to the
// device once, every intermediate stays there, and the embedding comes back with one
// copy made by the provider itself instead of a device tensor ONNX Runtime would copy
// again for a plain Run.
std::vector<Ort::Value> run_bound(Ort::Session& session, const std::vector<const char*>& input_names,
                                  const std::vector<Ort::Value>& inputs, const char* output_name,
                                  int device_id);

}  // namespace fastsbert::engine
