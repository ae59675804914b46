#!/usr/bin/env bash
# Every CUDA path in one run, on a machine with an NVIDIA GPU, in under 5 minutes:
#   1. builds the CUDA top-k library (nvcc + cuBLAS) and checks it against the CPU result
#      (scripts/gpu_topk.sh with small sizes);
#   2. builds fastsbert's native module with CMake (no pip, no network; the ONNX Runtime
#      headers come from FASTSBERT_ORT_INCLUDE_DIR or ~/.cache/fastsbert/ort-headers);
#   3. checks the float16 graph against float32, and runs CUDA encode (float32, float16,
#      auto) against the CPU result when the installed onnxruntime has the CUDA execution
#      provider; when it has not, says so plainly and checks the error users get;
#   4. prints a table of what ran, what passed and what was skipped.
#
#   bash scripts/gpu_check.sh            PYTHON=/path/to/python bash scripts/gpu_check.sh
#
# Exit status: 0 when nothing failed (skipped checks are not failures), 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
build=${FASTSBERT_GPU_BUILD:-build/gpu-check}
mkdir -p "$build"
build=$(cd "$build" && pwd)
results=$build/results.tsv
: > "$results"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$results"; }
started=$(date +%s)

echo "== 1. CUDA top-k against the CPU"
if FASTSBERT_GPU_BUILD=$build/topk timeout 150 bash scripts/gpu_topk.sh --sizes 10000 20000 --repeat 2 \
    > "$build/topk.log" 2>&1; then
  record "CUDA top-k vs CPU (NumPy float64 + fastsbert kernel)" PASS \
    "$(grep -c 'matches NumPy' "$build/topk.log") k values exact; see $build/topk.log"
else
  record "CUDA top-k vs CPU" FAIL "exit $?; see $build/topk.log"
fi
tail -n 8 "$build/topk.log"

echo "== 2. build fastsbert._core"
core_ok=0
pybind_dir=$("$PY" -m pybind11 --cmakedir 2>/dev/null || true)
if [ -z "$pybind_dir" ]; then
  record "build fastsbert._core" SKIP "pybind11 is not installed for $PY"
elif ! timeout 240 cmake -S . -B "$build/cmake" -DCMAKE_BUILD_TYPE=Release -DFASTSBERT_BUILD_PYTHON=ON \
      -DFASTSBERT_BUILD_TESTS=OFF -DFASTSBERT_CUDA=OFF -Dpybind11_DIR="$pybind_dir" \
      -DPython_EXECUTABLE="$(command -v "$PY")" > "$build/cmake.log" 2>&1 \
    || ! timeout 240 cmake --build "$build/cmake" --target _core -j "$(nproc)" >> "$build/cmake.log" 2>&1; then
  record "build fastsbert._core" FAIL "see $build/cmake.log (ONNX Runtime headers: set FASTSBERT_ORT_INCLUDE_DIR)"
  tail -n 5 "$build/cmake.log"
else
  rm -rf "$build/pkg" && mkdir -p "$build/pkg"
  cp -r python/fastsbert "$build/pkg/fastsbert"
  cp -r training "$build/pkg/fastsbert/training"  # the wheel's mapping: the exporter needs it
  cp "$build"/cmake/_core*.so "$build/pkg/fastsbert/"
  record "build fastsbert._core" PASS "CMake, $(ls "$build"/cmake/_core*.so | xargs -n1 basename)"
  core_ok=1
fi

echo "== 3. CUDA encode against the CPU"
if [ "$core_ok" = 1 ]; then
  left=$(( 290 - $(date +%s) + started ))
  [ "$left" -gt 30 ] || left=30
  PYTHONPATH=$build/pkg${PYTHONPATH:+:$PYTHONPATH} timeout "$left" "$PY" scripts/gpu_encode_check.py \
      --results "$results" --work "$build/encode" 2>&1 | tee "$build/encode.log" | tail -n 20
  rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || record "CUDA encode checks" FAIL "exit $rc; see $build/encode.log"
else
  record "CUDA encode" SKIP "fastsbert._core was not built"
fi

echo
echo "== results ($(( $(date +%s) - started )) s; GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1))"
printf '| %-58s | %-4s | %s\n' check result detail
printf '|%s|%s|%s\n' "------------------------------------------------------------" "------" "--------"
while IFS=$'\t' read -r name verdict detail; do
  printf '| %-58s | %-4s | %s\n' "$name" "$verdict" "$detail"
done < "$results"
! grep -q $'\tFAIL\t' "$results"
