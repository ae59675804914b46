#!/usr/bin/env bash
# Sanitizer runs of the C++ library:
#   1. AddressSanitizer + UndefinedBehaviorSanitizer: every C++ test in tests/cpp, on the
#      default model (all-MiniLM-L6-v2, exported once into the fastsbert cache), as
#      tests/python/test_cpp_api.py runs them;
#   2. ThreadSanitizer: tests/cpp/test_concurrent_encode.cpp (8 threads, one Encoder) on a
#      tiny random model.
# ONNX Runtime is not instrumented and is opened with dlopen; tests/sanitizers/*.supp
# silence what is reported inside it, so a report that remains is in fastsbert's own code.
# Any report fails the run (halt_on_error / -fno-sanitize-recover).
#
# Usage: scripts/sanitizers.sh [PYTHON]   (default: $FASTSBERT_VENV/bin/python or .venv)
# The Python exports the models (needs the test extra and ../shared/data) and names the
# ONNX Runtime library. Build folders: build/sanitize-{asan,tsan} (reused when present).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-${FASTSBERT_VENV:-.venv}/bin/python}
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
jobs=${FASTSBERT_BUILD_JOBS:-2}

"$python" - "$work" <<'PY'
import sys
from pathlib import Path

sys.path.insert(0, "tests/python")
import tiny_models
from fastsbert import export

work = Path(sys.argv[1])
st = tiny_models.make_tiny_st_model("bert", "mean", work / "tiny-st")
export(st, work / "tiny")
PY
tiny_model="$work/tiny"
default_model=$("$python" -c "import fastsbert; print(fastsbert.Encoder().model_dir)")
FASTSBERT_ORT_LIBRARY=$("$python" -c "from fastsbert._runtime import onnxruntime_library as f; print(f())")
export FASTSBERT_ORT_LIBRARY

configure() {  # configure BUILD_DIR SANITIZER_FLAGS
  cmake -S . -B "$1" "${gen[@]}" -DCMAKE_BUILD_TYPE=Debug -DFASTSBERT_BUILD_PYTHON=OFF \
    -DFASTSBERT_BUILD_TESTS=ON -DFASTSBERT_CUDA=OFF \
    "-DCMAKE_CXX_FLAGS=$2 -O1 -fno-omit-frame-pointer" >/dev/null
}

echo "sanitizers: ASan + UBSan build of the C++ tests"
asan_flags="-fsanitize=address,undefined -fno-sanitize-recover=all"
configure build/sanitize-asan "$asan_flags"
cmake --build build/sanitize-asan --parallel "$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build/sanitize-asan && FASTSBERT_TEST_MODEL="$default_model" ctest --output-on-failure --no-tests=error)

echo "sanitizers: ThreadSanitizer, concurrent Encoder::encode"
configure build/sanitize-tsan "-fsanitize=thread"
cmake --build build/sanitize-tsan --parallel "$jobs" --target test_concurrent_encode
export TSAN_OPTIONS="suppressions=$root/tests/sanitizers/tsan.supp:halt_on_error=1:second_deadlock_stack=1:print_suppressions=0"
FASTSBERT_TEST_MODEL="$tiny_model" build/sanitize-tsan/tests/cpp/test_concurrent_encode
echo "sanitizers: clean"
