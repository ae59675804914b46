#!/usr/bin/env bash
# The release wheel tested as users get it: build it (scripts/build_wheel.sh), install it
# with `pip install --only-binary :all:` into a fresh venv without torch, and run
# tests/wheel/smoke.py there from a directory outside the source tree. The fixtures (an
# exported all-MiniLM-L6-v2 and sentence-transformers' vectors) are made first with the
# development venv's python, given as the argument.
#
# Usage: tests/wheel/run.sh DEV_PYTHON
set -euo pipefail
cd "$(dirname "$0")/../.."
dev_python=${1:?usage: tests/wheel/run.sh DEV_PYTHON}
repo=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/fastsbert-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The wheel is built for the development venv's Python version, so the fresh venv made
# from the same interpreter can install it.
base_python=$("$dev_python" -c 'import sys; print(sys._base_executable)')
wheel=$(PYTHON=$base_python bash scripts/build_wheel.sh | tail -1)
echo "wheel: $wheel ($(du -k "$wheel" | cut -f1) KiB)"

"$dev_python" tests/wheel/prepare.py "$work/fixtures"

"$base_python" -m venv "$work/venv"
# No PIP_CONSTRAINT needed: nothing here may pull torch, and the smoke test checks it did not.
"$work/venv/bin/pip" install -q --only-binary :all: "$repo/$wheel"

mkdir "$work/cwd"
(cd "$work/cwd" && env -u PYTHONPATH "$work/venv/bin/python" -I "$repo/tests/wheel/smoke.py" \
  --model-dir "$work/fixtures/minilm-onnx" --sentences "$work/fixtures/sentences.json" \
  --reference "$work/fixtures/reference.npy" --graft-source "$work/fixtures/minilm-hub")
