#!/usr/bin/env bash
# Regenerates fixtures/statistic-vectors.json in the pinned venv (see tools/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bash tools/python-venv.sh) && "$py" tools/make-statistic-vectors.py "$@"
