#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, pinned with the
# Node 22 it needs in package.json and package-lock.json beside this file) against
# `mlops-mcp serve --http --demo`, for the server scenarios that fit a server with its own tools.
#
#   bash tools/conformance/run.sh [scenario ...]     (needs dist/: npm run build first)
#   npm run conformance                              (builds, then runs this)
#
# The suite needs Node 22 (it imports fs.globSync): it runs on the binary of the npm package
# `node` installed here. The server runs on the project's Node (the `node` on PATH, Node 20).
# The install is separate from the project's: `npm ci --prefix tools/conformance` reads neither
# the root package.json nor the root .npmrc (its project config is this folder's, which has
# none), and its node_modules/ is git-ignored.
# Prints each scenario's checks and a closing "conformance: N passed, N failed" line; exits 1 if
# any check failed, 2 if it could not run. The server is always stopped. The suite's checks.json
# files are kept in tools/conformance/results/ (git-ignored, replaced on each run).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

# Scenarios that need no tool, resource or prompt of the suite's own reference server. The others
# (docs/performance.md, section "MCP conformance suite", says why each is left out) call
# test_* tools, test:// resources or test_* prompts, or methods of capabilities we do not declare.
default_scenarios=(
  server-initialize
  ping
  tools-list
  resources-list
  prompts-list
  server-sse-multiple-streams
  dns-rebinding-protection
)
if [ $# -gt 0 ]; then scenarios=("$@"); else scenarios=("${default_scenarios[@]}"); fi

started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }

if [ ! -f dist/cli.js ]; then
  echo "conformance: dist/cli.js is missing: run npm run build first (npm run conformance does)" >&2
  exit 2
fi

# Install the pinned suite and Node 22 unless this very lock file is already installed.
stamp="$here/node_modules/.installed-package-lock.json"
if ! cmp -s "$here/package-lock.json" "$stamp" || [ ! -x "$here/node_modules/.bin/node" ]; then
  echo "== npm ci --prefix tools/conformance ($(elapsed))"
  # Under `npm run`, npm hands the root .npmrc's settings down as npm_config_* variables: drop
  # the two meant for the project's own native modules so this install is the same either way.
  env -u npm_config_onnxruntime_node_install -u npm_config_nodedir \
    npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
  cp "$here/package-lock.json" "$stamp"
fi
node22="$here/node_modules/.bin/node"
suite="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
suite_version=$(node -p "require('$here/node_modules/@modelcontextprotocol/conformance/package.json').version")
echo "== suite @modelcontextprotocol/conformance $suite_version on Node $("$node22" --version); server on Node $(node --version) ($(elapsed))"
case "$("$node22" --version)" in
  v22.*) ;;
  *) echo "conformance: $node22 is not Node 22" >&2; exit 2 ;;
esac

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 70); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  [ -n "$server_pid" ] && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The server with its defaults (no token, no read-only, loopback) on a fresh home, on a free port.
for v in $(compgen -e | grep '^MLOPS_MCP_' || true); do unset "$v"; done
MLOPS_MCP_HOME="$work/home" node dist/cli.js serve --http --demo --host 127.0.0.1 --port 0 >"$work/server.log" 2>&1 &
server_pid=$!

url=""
for _ in $(seq 1 300); do  # up to 30 s
  url=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*/mcp' "$work/server.log" | head -1 | sed 's/^listening on //' || true)
  [ -n "$url" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "conformance: the server did not start; its log:" >&2
  tail -n 40 "$work/server.log" >&2
  exit 2
fi
echo "== server at $url ($(elapsed))"

rm -rf "$here/results"
mkdir -p "$here/results"
passed=0
failed=0
results=()
for s in "${scenarios[@]}"; do
  echo
  echo "=== $s"
  out="$work/$s.out"
  rc=0
  "$node22" "$suite" server --url "$url" --scenario "$s" -o "$here/results" >"$out" 2>&1 || rc=$?
  cat "$out"
  # "Passed: 2/2, 0 failed, 0 warnings" is the suite's count of checks for one scenario.
  counts=$(grep -Eo 'Passed: [0-9]+/[0-9]+, [0-9]+ failed' "$out" | tail -1 || true)
  if [ "$rc" -eq 0 ] && [ -n "$counts" ]; then
    passed=$((passed + 1))
    results+=("PASS  $s (${counts#Passed: })")
  else
    failed=$((failed + 1))
    counts=${counts#Passed: }
    results+=("FAIL  $s (${counts:-no result, exit $rc})")
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "conformance: the server exited during $s; its log:" >&2
    tail -n 40 "$work/server.log" >&2
    break
  fi
done

echo
echo "== results ($(elapsed); checks.json files in tools/conformance/results/)"
printf '%s\n' "${results[@]}"
if [ "$failed" -gt 0 ]; then
  echo "-- last lines of the server log:"
  tail -n 20 "$work/server.log"
fi
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq "${#scenarios[@]}" ]
