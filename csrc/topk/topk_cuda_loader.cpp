// The optional CUDA top-k: libfastsbert_topk_cuda.so opened on first use, so the CPU build
// never links CUDA and one build serves machines with and without a GPU.
#include <stdexcept>
#include <string>

#if defined(__linux__)
#include <dlfcn.h>
#endif

#include "topk/cuda/topk_cuda_api.h"
#include "topk/topk_driver.h"

namespace fastsbert {
namespace topk_detail {
namespace {

// libfastsbert_topk_cuda.so is opened on first use, from $FASTSBERT_TOPK_CUDA_LIBRARY or
// the folder of the binary holding this code; the CPU build never links CUDA.
struct CudaLib {
  fastsbert_topk_cuda_search_fn search = nullptr;
  fastsbert_topk_cuda_device_count_fn device_count = nullptr;
  std::string error;
  CudaLib() {
#if defined(__linux__)
    std::string path;
    if (const char* env = std::getenv("FASTSBERT_TOPK_CUDA_LIBRARY")) {
      path = env;
    } else {
      Dl_info info;
      if (dladdr(reinterpret_cast<void*>(&topk_cuda_available), &info) && info.dli_fname) {
        path = info.dli_fname;
        path = path.substr(0, path.find_last_of('/') + 1);
      }
      path += "libfastsbert_topk_cuda.so";
    }
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      error = e ? e : path + ": cannot be opened";
      return;
    }
    search = reinterpret_cast<fastsbert_topk_cuda_search_fn>(
        dlsym(h, "fastsbert_topk_cuda_search"));
    device_count = reinterpret_cast<fastsbert_topk_cuda_device_count_fn>(
        dlsym(h, "fastsbert_topk_cuda_device_count"));
    if (!search || !device_count) {
      search = nullptr;
      error = path + ": not a fastsbert CUDA top-k library";
    }
#else
    error = "CUDA top-k is only built on Linux";
#endif
  }
};
const CudaLib& cuda_lib() {
  static const CudaLib lib;
  return lib;
}

}  // namespace

void search_cuda(MatrixView q, MatrixView c, size_t k, float* scores, int64_t* indices,
                 const TopkOptions& opt) {
  const CudaLib& lib = cuda_lib();
  if (!lib.search) {
    throw std::runtime_error("device \"" + opt.device +
                             "\": the CUDA top-k kernel is not available (" + lib.error + ")");
  }
  int dev = 0;
  if (opt.device.size() > 4) {
    if (opt.device[4] != ':') throw std::invalid_argument("device: expected cuda or cuda:N");
    dev = std::stoi(opt.device.substr(5));
  }
  const int threads = resolve_threads(opt.threads);
  inverse_norms(q, "queries", threads, opt.cancel);  // rejects NaN / infinity as on the CPU
  inverse_norms(c, "corpus", threads, opt.cancel);
  char err[512] = {0};
  if (lib.search(q.data, q.rows, c.data, c.rows, q.cols, k,
                 opt.metric == Metric::cosine ? 1 : 0, dev, scores, indices, err,
                 sizeof(err)) != 0) {
    throw std::runtime_error(std::string("CUDA top-k: ") + err);
  }
}

}  // namespace topk_detail

bool topk_cuda_available() {
  const topk_detail::CudaLib& lib = topk_detail::cuda_lib();
  return lib.search && lib.device_count() > 0;
}

}  // namespace fastsbert
