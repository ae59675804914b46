// Loads the ONNX Runtime shared library at run time and owns the process-wide Ort::Env.
//
// fastsbert is compiled against the C/C++ API headers only; the library comes from
// whichever onnxruntime (or onnxruntime-gpu) is installed, so one binary serves both.
#pragma once

#include <onnxruntime_cxx_api.h>

#include <string>
#include <vector>

namespace fastsbert::engine {

class OrtRuntime {
 public:
  // Loads the library on first use (later calls reuse it whatever path they pass).
  // Empty path: $FASTSBERT_ORT_LIBRARY, then "libonnxruntime.so.1". Throws fastsbert::Error.
  static OrtRuntime& get(const std::string& library_path);
  // The runtime if already loaded, else nullptr.
  static OrtRuntime* loaded();

  Ort::Env& env() { return env_; }
  const std::string& version() const { return version_; }
  const std::string& library_path() const { return library_path_; }
  bool has_provider(const std::string& name) const;

 private:
  OrtRuntime(std::string library_path, std::string version);
  std::string library_path_;
  std::string version_;
  std::vector<std::string> providers_;
  Ort::Env env_{nullptr};
};

}  // namespace fastsbert::engine
