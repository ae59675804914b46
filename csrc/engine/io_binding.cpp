#include "engine/io_binding.h"

namespace fastsbert::engine {

std::vector<Ort::Value> run_bound(Ort::Session& session, const Ort::RunOptions& run,
                                  const std::vector<const char*>& input_names,
                                  const std::vector<Ort::Value>& inputs, const char* output_name) {
  Ort::IoBinding binding(session);
  for (size_t i = 0; i < inputs.size(); ++i) binding.BindInput(input_names[i], inputs[i]);
  // The embedding goes to host memory: the provider copies it there once after the run.
  const Ort::MemoryInfo host_output = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  binding.BindOutput(output_name, host_output);
  binding.SynchronizeInputs();
  session.Run(run, binding);
  binding.SynchronizeOutputs();
  return binding.GetOutputValues();
}

}  // namespace fastsbert::engine
