#!/usr/bin/env bash
# Regenerates fixtures/performance-vectors.json from scikit-learn, scipy and statsmodels in a pinned,
# git-ignored venv (.venv-performance, from tools/performance-requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bash tools/python-venv.sh "$PWD/.venv-performance" tools/performance-requirements.txt) && "$py" tools/make-performance-vectors.py "$@"
