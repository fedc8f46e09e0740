#!/usr/bin/env bash
# Installs the npm peer of the A2A interoperability tests: the official
# JavaScript SDK (@a2a-js/sdk), into a cache outside the checkout, so that the
# tests install nothing and write nothing into the repository.
#
#   bash .ci/install-a2a-peers.sh        # then: uv run pytest tests/a2a
#
# AGENTKIT_PEERS_DIR moves the cache (default: ~/.cache/agentkit); the tests
# read the same variable. Node 20 or newer is needed (the SDK's engines field).
set -euo pipefail

SDK_VERSION="1.3.0"
DIR="${AGENTKIT_PEERS_DIR:-$HOME/.cache/agentkit}/a2a-js"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed: apt-get install -y nodejs npm" >&2
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "@a2a-js/sdk needs Node 20 or newer; this is $(node --version)" >&2
  exit 1
fi

marker="$DIR/node_modules/@a2a-js/sdk/package.json"
if [ -f "$marker" ] && [ "$(node -p "require('$marker').version")" = "$SDK_VERSION" ]; then
  echo "@a2a-js/sdk $SDK_VERSION already in $DIR"
  exit 0
fi

mkdir -p "$DIR"
# A package.json of our own keeps npm from walking up to a parent project.
[ -f "$DIR/package.json" ] || echo '{"name": "agentkit-a2a-peers", "private": true}' > "$DIR/package.json"
# The SDK's peers (express, gRPC, SQL drivers) serve its server side; the
# client needs none of them, and some build native code: leave them out.
npm install --prefix "$DIR" --no-audit --no-fund --legacy-peer-deps \
  "@a2a-js/sdk@$SDK_VERSION" >/dev/null
echo "@a2a-js/sdk $SDK_VERSION installed in $DIR"
