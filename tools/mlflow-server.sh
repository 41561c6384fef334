#!/usr/bin/env bash
# A throwaway MLflow tracking server + model registry for tests (test/mlflow) and local trials.
#
#   tools/mlflow-server.sh venv             create/reuse .venv-mlflow (git-ignored, separate from .venv)
#   tools/mlflow-server.sh python           print the venv's python path (installs first if needed)
#   tools/mlflow-server.sh start DIR PORT   start `mlflow server` on 127.0.0.1:PORT with its data in DIR
#                                           (DIR/mlflow.db, DIR/artifacts; pid in DIR/pid, logs in DIR/log)
#                                           and wait until GET /health answers OK (up to 120 s)
#   tools/mlflow-server.sh stop DIR         stop the server whose pid is in DIR/pid (its process group) and wait
#
# The venv is stamped with the sha256 of tools/mlflow-requirements.txt: reruns are instant.
# Progress goes to stderr; `python` and `start` print their result (python path, base URI) on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${MLFLOW_VENV:-$root/.venv-mlflow}"
req="$root/tools/mlflow-requirements.txt"
stamp="$venv/.requirements.sha256"

ensure_venv() {
  local want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ ! -x "$venv/bin/mlflow" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "mlflow-server: installing $req into $venv" >&2
    local t0=$SECONDS
    python3 -m venv "$venv"
    "$venv/bin/pip" install --disable-pip-version-check -q -r "$req" >&2
    echo "$want" > "$stamp"
    echo "mlflow-server: venv ready in $(( SECONDS - t0 )) s" >&2
  fi
}

health_ok() {
  [ "$(curl -s --max-time 2 "http://127.0.0.1:$1/health" 2>/dev/null || true)" = "OK" ]
}

start() {
  local dir=$1 port=$2
  ensure_venv
  mkdir -p "$dir/artifacts"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "mlflow-server: already running (pid $(cat "$dir/pid"))" >&2
    exit 1
  fi
  # setsid: the server (uvicorn and its workers) gets its own process group, so stop can kill them all.
  # --workers 1: the default 4 uvicorn workers only cost memory and start time on a test machine.
  # MLFLOW_SERVER_ALLOWED_HOSTS is not needed for 127.0.0.1: the default allow-list covers localhost
  # and 127.0.0.1 on any port (see docs/mlflow.md); set --allowed-hosts for other host names.
  # MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false: no huey job runner (7 extra Python processes for
  # GenAI jobs such as scorers and trace rollups, which the registry does not use).
  local t0=$SECONDS
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION="${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}" \
  setsid "$venv/bin/mlflow" server \
    --backend-store-uri "sqlite:///$dir/mlflow.db" \
    --artifacts-destination "$dir/artifacts" \
    --host 127.0.0.1 --port "$port" --workers 1 \
    >>"$dir/log" 2>&1 < /dev/null &
  echo $! > "$dir/pid"
  local pid=$!
  for _ in $(seq 1 240); do
    if health_ok "$port"; then
      echo "mlflow-server: healthy on http://127.0.0.1:$port after $(( SECONDS - t0 )) s (pid $pid)" >&2
      echo "http://127.0.0.1:$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "mlflow-server: server exited before becoming healthy; last log lines:" >&2
      tail -n 30 "$dir/log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "mlflow-server: no OK from /health within 120 s; last log lines:" >&2
  tail -n 30 "$dir/log" >&2 || true
  stop "$dir"
  exit 1
}

stop() {
  local dir=$1 pid
  [ -f "$dir/pid" ] || { echo "mlflow-server: no pid file in $dir" >&2; return 0; }
  pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid"
}

case "${1:-}" in
  venv) ensure_venv ;;
  python) ensure_venv; echo "$venv/bin/python" ;;
  start) [ $# -eq 3 ] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }; stop "$2" ;;
  *) echo "usage: $0 venv | python | start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
