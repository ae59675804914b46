// CUDA top-k: cuBLAS SGEMM over tiles of queries x corpus chunks, each score tile reduced
// on the device to its per-row best candidates by a radix-select kernel; two streams so
// the product of one query tile overlaps the selection of the other. The host merges the
// chunks' candidates and orders every row (score desc, index asc), as the CPU kernel does.
//
// Agreement with the CPU kernel (the oracle): cuBLAS sums in its own order (fp32, no TF32:
// the handle is set to pedantic math), so scores of unit-norm rows differ by at most ~1e-6
// and indices agree except between scores that close.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cub/block/block_scan.cuh>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "topk/cuda/topk_cuda_api.h"

namespace {

constexpr int kThreads = 256;             // threads per selection block (one block per row)
constexpr size_t kMaxChunkCols = 65536;   // corpus columns per score tile
constexpr size_t kMaxTileRows = 4096;     // query rows per score tile
constexpr int kStreams = 2;

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw CudaError(std::string(what) + ": " + cudaGetErrorString(e));
}
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    throw CudaError(std::string(what) + ": cuBLAS status " + std::to_string(static_cast<int>(s)));
  }
}

template <typename T>
struct DeviceBuffer {
  T* p = nullptr;
  explicit DeviceBuffer(size_t n) {
    if (n) check(cudaMalloc(&p, n * sizeof(T)), "cudaMalloc");
  }
  ~DeviceBuffer() {
    if (p) cudaFree(p);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

struct Handle {
  cublasHandle_t h = nullptr;
  Handle() {
    check(cublasCreate(&h), "cublasCreate");
    check(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
  }
  ~Handle() { cublasDestroy(h); }
};

struct Stream {
  cudaStream_t s = nullptr;
  Stream() { check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"); }
  ~Stream() { cudaStreamDestroy(s); }
};

// Scales each row to unit L2 norm (rows of zeros stay zero). One warp per row.
__global__ void normalise_rows(float* x, size_t rows, size_t d) {
  const size_t row = (static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  float* r = x + row * d;
  double s = 0.0;
  for (size_t k = lane; k < d; k += 32) s += static_cast<double>(r[k]) * r[k];
  for (int off = 16; off; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
  const float inv = s > 0.0 ? static_cast<float>(1.0 / sqrt(s)) : 0.0f;
  for (size_t k = lane; k < d; k += 32) r[k] *= inv;
}

// Order-preserving map of a float to an unsigned key (larger float -> larger key).
__device__ __forceinline__ unsigned key_of(float f) {
  const unsigned u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// For each row of the score tile (rows x cols, row-major, leading dimension ld), writes its
// kk best (score, column + col_base) to out_s/out_i[row * out_ld + slot], unordered; ties
// at the k-th score go to the lowest columns. One block per row: a 4-pass radix select
// finds the k-th largest key, then one ordered pass collects the winners.
__global__ void select_rows(const float* scores, size_t cols, size_t ld, int kk, int col_base,
                            float* out_s, int32_t* out_i, size_t out_ld) {
  using Scan = cub::BlockScan<int, kThreads>;
  __shared__ typename Scan::TempStorage scan_tmp;
  __shared__ unsigned hist[256];
  __shared__ unsigned s_prefix, s_mask;
  __shared__ int s_need, s_taken_gt, s_taken_eq;
  const float* row = scores + static_cast<size_t>(blockIdx.x) * ld;
  float* os = out_s + static_cast<size_t>(blockIdx.x) * out_ld;
  int32_t* oi = out_i + static_cast<size_t>(blockIdx.x) * out_ld;
  const int tid = threadIdx.x;
  if (tid == 0) {
    s_prefix = 0;
    s_mask = 0;
    s_need = kk;
  }
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int b = tid; b < 256; b += kThreads) hist[b] = 0;
    __syncthreads();
    const unsigned prefix = s_prefix, mask = s_mask;
    for (size_t i = tid; i < cols; i += kThreads) {
      const unsigned key = key_of(row[i]);
      if ((key & mask) == prefix) atomicAdd(&hist[(key >> shift) & 255u], 1u);
    }
    __syncthreads();
    if (tid == 0) {
      int need = s_need;
      int b = 255;
      for (; b > 0; --b) {
        if (static_cast<int>(hist[b]) >= need) break;
        need -= static_cast<int>(hist[b]);
      }
      s_need = need;  // how many of the bucket-b keys are still wanted
      s_prefix = prefix | (static_cast<unsigned>(b) << shift);
      s_mask = mask | (255u << shift);
    }
    __syncthreads();
  }
  // s_prefix is now the k-th largest key; s_need of the keys equal to it are wanted.
  const unsigned kth = s_prefix;
  const int eq_wanted = s_need;
  if (tid == 0) {
    s_taken_gt = 0;
    s_taken_eq = 0;
  }
  __syncthreads();
  const int gt_total = kk - eq_wanted;
  for (size_t base = 0; base < cols; base += kThreads) {
    const size_t i = base + tid;
    const unsigned key = i < cols ? key_of(row[i]) : 0u;
    const int gt = i < cols && key > kth;
    const int eq = i < cols && key == kth;
    int gt_rank, eq_rank, gt_sum, eq_sum;
    Scan(scan_tmp).ExclusiveSum(gt, gt_rank, gt_sum);
    __syncthreads();
    Scan(scan_tmp).ExclusiveSum(eq, eq_rank, eq_sum);
    const int gt_pos = s_taken_gt + gt_rank;
    const int eq_pos = s_taken_eq + eq_rank;
    if (gt) {
      os[gt_pos] = row[i];
      oi[gt_pos] = static_cast<int32_t>(i) + col_base;
    } else if (eq && eq_pos < eq_wanted) {
      os[gt_total + eq_pos] = row[i];
      oi[gt_total + eq_pos] = static_cast<int32_t>(i) + col_base;
    }
    __syncthreads();
    if (tid == 0) {
      s_taken_gt += gt_sum;
      s_taken_eq += eq_sum;
    }
    __syncthreads();
  }
}

void search(const float* q, size_t nq, const float* c, size_t nc, size_t d, size_t k,
            bool cosine, int device, float* scores, int64_t* indices) {
  const size_t kk = std::min(k, nc);
  if (nq == 0 || kk == 0) return;
  if (nc > 0x7fffffffu) throw CudaError("corpus has more than 2^31 - 1 rows");
  check(cudaSetDevice(device), "cudaSetDevice");
  Handle handle;
  Stream streams[kStreams];

  DeviceBuffer<float> dq(nq * d), dc(nc * d);
  check(cudaMemcpy(dq.p, q, nq * d * sizeof(float), cudaMemcpyHostToDevice), "upload queries");
  check(cudaMemcpy(dc.p, c, nc * d * sizeof(float), cudaMemcpyHostToDevice), "upload corpus");
  if (cosine) {
    normalise_rows<<<static_cast<unsigned>((nq * 32 + 255) / 256), 256>>>(dq.p, nq, d);
    normalise_rows<<<static_cast<unsigned>((nc * 32 + 255) / 256), 256>>>(dc.p, nc, d);
    check(cudaGetLastError(), "normalise_rows");
    check(cudaDeviceSynchronize(), "normalise_rows");
  }

  const size_t chunk = std::min(nc, kMaxChunkCols);
  const size_t chunks = (nc + chunk - 1) / chunk;
  const size_t per_chunk = std::min(kk, chunk);   // candidates kept per row and chunk
  const size_t cand_ld = chunks * per_chunk;      // candidates per row, all chunks
  size_t free_b = 0, total_b = 0;
  check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  // Score tiles: at most a quarter of the free memory, both streams together.
  size_t tile = std::min(nq, kMaxTileRows);
  while (tile > 1 && kStreams * tile * chunk * sizeof(float) > free_b / 4) tile /= 2;

  DeviceBuffer<float> tile0(tile * chunk), tile1(tile * chunk);
  DeviceBuffer<float> cand_s(nq * cand_ld);
  DeviceBuffer<int32_t> cand_i(nq * cand_ld);
  float* tile_buf[kStreams] = {tile0.p, tile1.p};

  const float one = 1.0f, zero = 0.0f;
  size_t t = 0;
  for (size_t q0 = 0; q0 < nq; q0 += tile, ++t) {
    const size_t qr = std::min(tile, nq - q0);
    cudaStream_t s = streams[t % kStreams].s;
    check(cublasSetStream(handle.h, s), "cublasSetStream");
    for (size_t ch = 0; ch < chunks; ++ch) {
      const size_t c0 = ch * chunk, cn = std::min(chunk, nc - c0);
      // Row-major S (qr x cn) = Q C^T is column-major S^T = C Q^T: m = cn, n = qr.
      check(cublasSgemm(handle.h, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(cn),
                        static_cast<int>(qr), static_cast<int>(d), &one, dc.p + c0 * d,
                        static_cast<int>(d), dq.p + q0 * d, static_cast<int>(d), &zero,
                        tile_buf[t % kStreams], static_cast<int>(cn)),
            "cublasSgemm");
      const size_t take = std::min(kk, cn);
      select_rows<<<static_cast<unsigned>(qr), kThreads, 0, s>>>(
          tile_buf[t % kStreams], cn, cn, static_cast<int>(take), static_cast<int>(c0),
          cand_s.p + q0 * cand_ld + ch * per_chunk, cand_i.p + q0 * cand_ld + ch * per_chunk,
          cand_ld);
      check(cudaGetLastError(), "select_rows");
    }
  }
  check(cudaDeviceSynchronize(), "top-k tiles");

  std::vector<float> hs(nq * cand_ld);
  std::vector<int32_t> hi(nq * cand_ld);
  check(cudaMemcpy(hs.data(), cand_s.p, hs.size() * sizeof(float), cudaMemcpyDeviceToHost),
        "download scores");
  check(cudaMemcpy(hi.data(), cand_i.p, hi.size() * sizeof(int32_t), cudaMemcpyDeviceToHost),
        "download indices");
  // Candidates per row: per_chunk from every chunk but the last, which may hold fewer.
  const size_t last = std::min(kk, nc - (chunks - 1) * chunk);
  std::vector<size_t> order;
  for (size_t r = 0; r < nq; ++r) {
    const float* rs = hs.data() + r * cand_ld;
    const int32_t* ri = hi.data() + r * cand_ld;
    order.clear();
    for (size_t ch = 0; ch < chunks; ++ch) {
      const size_t cnt = ch + 1 == chunks ? last : per_chunk;
      for (size_t j = 0; j < cnt; ++j) order.push_back(ch * per_chunk + j);
    }
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kk), order.end(),
                      [&](size_t a, size_t b) {
                        return rs[a] > rs[b] || (rs[a] == rs[b] && ri[a] < ri[b]);
                      });
    for (size_t j = 0; j < kk; ++j) {
      scores[r * kk + j] = rs[order[j]];
      indices[r * kk + j] = ri[order[j]];
    }
  }
}

}  // namespace

extern "C" int fastsbert_topk_cuda_search(const float* queries, size_t nq, const float* corpus,
                                          size_t nc, size_t d, size_t k, int cosine, int device,
                                          float* scores, int64_t* indices, char* err,
                                          size_t err_size) {
  try {
    search(queries, nq, corpus, nc, d, k, cosine != 0, device, scores, indices);
    return 0;
  } catch (const std::exception& e) {
    if (err && err_size) std::snprintf(err, err_size, "%s", e.what());
    return 1;
  }
}

extern "C" int fastsbert_topk_cuda_device_count(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}
