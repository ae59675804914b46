#include "engine/ort_runtime.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "fastsbert/encoder.h"

#ifndef FASTSBERT_ORT_API_VERSION
#error "FASTSBERT_ORT_API_VERSION must be defined by the build (cmake/fastsbert_ort_headers.cmake)"
#endif
static_assert(ORT_API_VERSION >= FASTSBERT_ORT_API_VERSION,
              "the ONNX Runtime headers are older than the API fastsbert asks the runtime for");

namespace fastsbert::engine {

namespace {
std::mutex g_mutex;
std::unique_ptr<OrtRuntime> g_runtime;

using GetApiBaseFn = const OrtApiBase* (*)();
}  // namespace

OrtRuntime::OrtRuntime(std::string library_path, std::string version)
    : library_path_(std::move(library_path)), version_(std::move(version)) {
  env_ = Ort::Env(ORT_LOGGING_LEVEL_ERROR, "fastsbert");
  providers_ = Ort::GetAvailableProviders();
}

bool OrtRuntime::has_provider(const std::string& name) const {
  return std::find(providers_.begin(), providers_.end(), name) != providers_.end();
}

OrtRuntime* OrtRuntime::loaded() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_runtime.get();
}

OrtRuntime& OrtRuntime::get(const std::string& requested_path) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_runtime) return *g_runtime;

  std::string path = requested_path;
  if (path.empty()) {
    const char* env = std::getenv("FASTSBERT_ORT_LIBRARY");
    path = (env && *env) ? env : "libonnxruntime.so.1";
  }
  // The handle is never closed: ONNX Runtime's threads and allocators live until exit.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw Error("cannot load the ONNX Runtime library '" + path + "': " +
                (why ? why : "unknown error") +
                " (install the onnxruntime or onnxruntime-gpu package, or set "
                "FASTSBERT_ORT_LIBRARY to the path of libonnxruntime.so)");
  }
  auto get_api_base = reinterpret_cast<GetApiBaseFn>(dlsym(handle, "OrtGetApiBase"));
  if (!get_api_base) throw Error("'" + path + "' does not export OrtGetApiBase");
  const OrtApiBase* base = get_api_base();
  // The pinned minimum API (FASTSBERT_ORT_API_VERSION, onnxruntime 1.<API>), not the
  // headers' ORT_API_VERSION: headers may be newer than the oldest runtime supported.
  const OrtApi* api = base->GetApi(FASTSBERT_ORT_API_VERSION);
  if (!api) {
    const std::string needed = std::to_string(FASTSBERT_ORT_API_VERSION);
    throw Error("the ONNX Runtime library '" + path + "' is version " +
                base->GetVersionString() + ", which does not provide API version " + needed +
                "; fastsbert needs onnxruntime 1." + needed + " or newer");
  }
  Ort::InitApi(api);
  g_runtime.reset(new OrtRuntime(path, base->GetVersionString()));
  return *g_runtime;
}

}  // namespace fastsbert::engine

namespace fastsbert {
std::string onnxruntime_version() {
  auto* rt = engine::OrtRuntime::loaded();
  return rt ? rt->version() : std::string();
}
}  // namespace fastsbert
