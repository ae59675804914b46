#!/usr/bin/env bash
# Regenerates python/fastsbert/_core.pyi, the type stubs of the native module, from the
# installed fastsbert._core with pybind11-stubgen. Run it after changing csrc/bindings.cpp
# (and reinstalling); tests/python/test_stubs.py fails while the committed stubs are stale.
#
# Usage: scripts/gen_stubs.sh [PYTHON]     (default: $FASTSBERT_VENV/bin/python or .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-${FASTSBERT_VENV:-.venv}/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" -m pybind11_stubgen fastsbert._core --exit-code -o "$tmp"
cp "$tmp/fastsbert/_core.pyi" python/fastsbert/_core.pyi
echo "wrote python/fastsbert/_core.pyi"
