// Thread counts. Every fastsbert call that takes a thread count (EncoderOptions::threads,
// TopkOptions::threads, Tokenizer::encode_batch_csr) reads 0 as available_cpus() and caps
// larger requests at it: threads beyond the CPUs this process may use add memory and
// switching, never speed. Negative counts are rejected.
//
// This header exposes no ONNX Runtime or Python types.
#pragma once

namespace fastsbert {

// CPUs this process may run on: the size of its affinity mask (taskset, cgroup cpusets),
// else std::thread::hardware_concurrency(); at least 1.
int available_cpus();

}  // namespace fastsbert
