#!/usr/bin/env bash
# Quick start, part 2: install fastsbert with every extra and run the test suite
# (Python tests with pytest, then the C++ tests with ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
venv=${FASTSBERT_VENV:-.venv}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$venv/bin/python" -m pytest "$@"
