#!/usr/bin/env bash
# A throwaway S3 API server on loopback (moto's server, from PyPI, in a git-ignored venv), for the
# artifact store's tests and for trying MLOPS_MCP_ARTIFACTS_URL on one machine.
#
#   tools/s3-server.sh venv              create/reuse .venv-s3 (pinned in tools/s3-requirements.txt)
#   tools/s3-server.sh start DIR PORT    start it on 127.0.0.1:PORT (pid in DIR/pid, log in DIR/log) and
#                                        wait until it answers; prints http://127.0.0.1:PORT
#   tools/s3-server.sh stop DIR          stop it and wait
#
# moto keeps objects in memory: a restart starts empty. Any access key is accepted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${S3_VENV:-$root/.venv-s3}"
req="$root/tools/s3-requirements.txt"
stamp="$venv/.requirements.sha256"

ensure_venv() {
  local want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ ! -x "$venv/bin/moto_server" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "s3-server: installing $req into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --disable-pip-version-check -q -r "$req" >&2
    echo "$want" > "$stamp"
  fi
}

case "${1:-}" in
  venv)
    ensure_venv
    ;;
  start)
    dir=$2 port=$3
    ensure_venv
    mkdir -p "$dir"
    setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/log" 2>&1 &
    echo $! > "$dir/pid"
    for _ in $(seq 1 150); do
      if curl -s -o /dev/null "http://127.0.0.1:$port/"; then echo "http://127.0.0.1:$port"; exit 0; fi
      sleep 0.2
    done
    cat "$dir/log" >&2
    exit 1
    ;;
  stop)
    dir=$2
    pid=$(cat "$dir/pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
      kill -9 -- "-$pid" 2>/dev/null || true
    fi
    ;;
  *)
    sed -n '2,11p' "$0" >&2
    exit 2
    ;;
esac
