#!/usr/bin/env bash
# Creates .venv (if missing) and installs fastsbert from this checkout with the given
# extras. torch is pinned through constraints.txt wherever it is installed.
#
# Usage: scripts/setup.sh [EXTRAS]     e.g. scripts/setup.sh export   or   test
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-export}
venv=${FASTSBERT_VENV:-.venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
fi
export PIP_CONSTRAINT="$PWD/constraints.txt"
"$venv/bin/pip" install -q --upgrade ".[$extras]"
