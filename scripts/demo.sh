#!/usr/bin/env bash
# Quick start, part 1: install fastsbert and run the main job on the default model
# (all-MiniLM-L6-v2, exported to ONNX on first use) and the bundled sample text.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh export
exec "${FASTSBERT_VENV:-.venv}/bin/fastsbert" demo "$@"
