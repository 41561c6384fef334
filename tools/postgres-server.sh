#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for tests (test/postgres), benchmarks and trying the
# PostgreSQL store on one machine (docs/operations.md).
#
#   tools/postgres-server.sh check               exit 0 when PostgreSQL's binaries are found
#   tools/postgres-server.sh install             apt-get install postgresql when no initdb is found (Debian)
#   tools/postgres-server.sh start DIR PORT      initdb DIR/data (first time) and start a server on
#                                                127.0.0.1:PORT; prints postgresql://postgres@127.0.0.1:PORT/postgres
#   tools/postgres-server.sh start DIR PORT fast the same without fsync (tests: nothing to keep)
#   tools/postgres-server.sh stop DIR            stop it (fast shutdown) and wait
#
# initdb refuses to run as root: as root the server runs as the `postgres` user (created by
# Debian's package). Trust authentication on loopback only: a server for this machine's tests.
set -euo pipefail

pg_bin() {
  local d
  for d in ${PG_BIN:-} /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  check)
    pg_bin >/dev/null || { echo "postgres-server: no initdb found (tools/postgres-server.sh install)" >&2; exit 1; }
    ;;
  install)
    if ! pg_bin >/dev/null; then
      echo "postgres-server: installing Debian's postgresql" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    pg_bin >/dev/null
    ;;
  start)
    dir=$2 port=$3 mode=${4:-}
    bin=$(pg_bin) || { echo "postgres-server: no initdb found (tools/postgres-server.sh install)" >&2; exit 1; }
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
      chown postgres "$dir"
      # The server's user must reach DIR: a private temp directory above it (mktemp -d) is
      # opened for traversal only (no listing).
      chmod o+x "$(dirname "$dir")"
      as_owner test -x "$dir" || { echo "postgres-server: the postgres user cannot reach $dir (a parent directory is closed to it)" >&2; exit 1; }
    fi
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300"
    if [ "$mode" = fast ]; then opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=$2
    bin=$(pg_bin)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *)
    sed -n '2,15p' "$0" >&2
    exit 2
    ;;
esac
