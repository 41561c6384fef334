#!/usr/bin/env bash
# Regenerates fixtures/ks-vectors.json from scipy/numpy in the pinned venv (see tools/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bash tools/python-venv.sh) && "$py" tools/make-ks-vectors.py "$@"
