#!/usr/bin/env bash
# Quick start, part 2: install fastsbert with every extra and run the test suite:
# pytest (Python tests, which also build and run the C++ tests), then a bounded fuzz run
# of the native tokenizer under AddressSanitizer + UndefinedBehaviorSanitizer, then the C++
# tests under ASan + UBSan and concurrent encoding under ThreadSanitizer; then the release
# wheel (scripts/build_wheel.sh) installed into a fresh venv without torch and checked
# from outside the source tree (tests/wheel/run.sh).
# Arguments are passed to pytest; FASTSBERT_FUZZ_SECONDS=0 skips the fuzz run,
# FASTSBERT_SANITIZERS=0 the sanitizer builds (scripts/sanitizers.sh) and
# FASTSBERT_WHEEL=0 the wheel check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
venv=${FASTSBERT_VENV:-.venv}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$venv/bin/python" -m pytest "$@"
fuzz_seconds=${FASTSBERT_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" -gt 0 ]; then
  bash tests/fuzz/run_fuzz.sh "$fuzz_seconds" "$venv/bin/python"
fi
if [ "${FASTSBERT_SANITIZERS:-1}" != 0 ]; then
  bash scripts/sanitizers.sh "$venv/bin/python"
fi
if [ "${FASTSBERT_WHEEL:-1}" != 0 ]; then
  bash tests/wheel/run.sh "$venv/bin/python"
fi
