#!/usr/bin/env bash
# Builds the CUDA top-k library, checks it against a CPU oracle and benchmarks it against
# torch (matmul + topk), on a machine with an NVIDIA GPU, nvcc, cuBLAS (toolkit or the
# nvidia-cublas wheel) and PyTorch with CUDA. Needs neither the network nor the rest of
# the build: the library is compiled with nvcc alone and driven through its C ABI.
#
#   bash scripts/gpu_topk.sh [--sizes 10000 50000 100000]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
out=${FASTSBERT_GPU_BUILD:-build/gpu-topk}
mkdir -p "$out"
out=$(cd "$out" && pwd)  # absolute, whether it was given relative or absolute

# cuBLAS: the toolkit's, else the wheel's (nvidia/cu13 or nvidia/cublas).
cublas=${FASTSBERT_CUBLAS_ROOT:-}
if [ -z "$cublas" ]; then
  cuda_home=$(dirname "$(dirname "$(command -v nvcc)")")
  if [ -f "$cuda_home/include/cublas_v2.h" ]; then
    cublas=$cuda_home
  else
    cublas=$("$PY" -c '
import importlib.util, pathlib
for name in ("nvidia.cu13", "nvidia.cu12", "nvidia.cublas"):
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        continue
    for p in (spec.submodule_search_locations or []) if spec else []:
        if (pathlib.Path(p) / "include" / "cublas_v2.h").is_file():
            print(p)
            raise SystemExit
')
  fi
fi
[ -n "$cublas" ] || { echo "cuBLAS headers not found; set FASTSBERT_CUBLAS_ROOT" >&2; exit 1; }
libdir=$cublas/lib
[ -d "$libdir" ] || libdir=$cublas/lib64
cublas_lib=$(ls "$libdir"/libcublas.so* | head -n 1)
arch=${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -n 1 | tr -d .)}

echo "== build (sm_$arch, cuBLAS from $cublas)"
nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -arch="sm_$arch" -Icsrc -I"$cublas/include" \
  csrc/topk/cuda/topk_cuda.cu -Xlinker "$cublas_lib" -Xlinker -rpath="$libdir" \
  -o "$out/libfastsbert_topk_cuda.so"

echo "== test and benchmark"
export FASTSBERT_TOPK_CUDA_LIBRARY=$out/libfastsbert_topk_cuda.so
export LD_LIBRARY_PATH=$libdir:${LD_LIBRARY_PATH:-}
"$PY" bench/bench_topk_gpu.py "$@"
