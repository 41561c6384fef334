#!/usr/bin/env bash
# Regenerates fixtures/hostile/ (ONNX models register_model must refuse) with the pinned venv.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bash tools/python-venv.sh) && "$py" tools/make-hostile-onnx.py "$@"
