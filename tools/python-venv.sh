#!/usr/bin/env bash
# Creates (or reuses) a git-ignored Python venv for fixture generators and test peers:
#   tools/python-venv.sh                      .venv from tools/requirements.txt
#   tools/python-venv.sh VENV REQUIREMENTS    another venv from another requirements file
# The venv is stamped with the requirements' sha256: reruns skip the install.
# Prints the venv's python path on stdout; progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${1:-$root/.venv}"
req="${2:-$root/tools/requirements.txt}"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "python-venv: installing $req into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --disable-pip-version-check -q -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
