// C ABI of the optional CUDA top-k library (libfastsbert_topk_cuda.so). Plain C types only:
// the CPU library opens it with dlopen and never includes CUDA headers.
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Same contract as fastsbert::topk_search on host arrays: queries (nq, d), corpus (nc, d),
// results (nq, min(k, nc)) best first, ties to the lower index. cosine != 0 normalises rows.
// Returns 0, or non-zero with a message in err.
typedef int (*fastsbert_topk_cuda_search_fn)(const float* queries, size_t nq,
                                             const float* corpus, size_t nc, size_t d,
                                             size_t k, int cosine, int device, float* scores,
                                             int64_t* indices, char* err, size_t err_size);
typedef int (*fastsbert_topk_cuda_device_count_fn)(void);

int fastsbert_topk_cuda_search(const float* queries, size_t nq, const float* corpus, size_t nc,
                               size_t d, size_t k, int cosine, int device, float* scores,
                               int64_t* indices, char* err, size_t err_size);
int fastsbert_topk_cuda_device_count(void);

#ifdef __cplusplus
}
#endif
