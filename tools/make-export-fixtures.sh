#!/usr/bin/env bash
# Regenerates fixtures/exports/ (models as scikit-learn, XGBoost, LightGBM, CatBoost and PyTorch
# export them by default, with each library's predictions) with the git-ignored .venv-exports, made
# from tools/exports-requirements.txt (PyTorch's wheel and its CUDA runtime: several GB).
# Only for making fixtures: CI and npm test read the committed files and need none of these libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
py=$(bash tools/python-venv.sh "$PWD/.venv-exports" "$PWD/tools/exports-requirements.txt") && "$py" tools/make-export-fixtures.py "$@"
