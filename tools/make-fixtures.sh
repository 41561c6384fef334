#!/usr/bin/env bash
# Regenerates fixtures/ (demo ONNX models, synthetic CSVs, models.json, README.md) with the pinned venv.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bash tools/python-venv.sh) && "$py" tools/make-fixtures.py "$@"
