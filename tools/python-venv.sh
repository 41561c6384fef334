#!/usr/bin/env bash
# Creates (or reuses) the git-ignored Python venv used by fixture generators and test peers.
# Prints the venv's python path on stdout; progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
req="$root/tools/requirements.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "python-venv: installing $req into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --disable-pip-version-check -q -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
