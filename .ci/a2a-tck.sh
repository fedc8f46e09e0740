#!/usr/bin/env bash
# Runs the A2A project's compatibility kit (a2a-tck) against agentkit's A2A
# server on loopback. Manual, not part of .ci/run: the TCK is published on
# neither PyPI nor npm, only as a git repository, and this script fetches
# nothing. Give it a checkout:
#
#   A2A_TCK_DIR=/path/to/a2a-tck bash .ci/a2a-tck.sh [CATEGORY]
#
# CATEGORY is the TCK's --category (default: all). The TCK's Python
# dependencies come from PyPI into a throwaway venv outside the checkout
# (TCK_VENV, default /tmp/tck-venv). The TCK sends no A2A-Version header, which
# a v1.0 server must read as 0.3; the script adds "A2A-Version: 1.0" through
# the TCK's own A2A_AUTH_HEADERS hook so that the v1.0 methods are tested.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${A2A_TCK_DIR:?set A2A_TCK_DIR to a checkout of github.com/a2aproject/a2a-tck}"
CATEGORY="${1:-all}"
VENV="${TCK_VENV:-/tmp/tck-venv}"
PORT="${TCK_PORT:-9998}"
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"

if [ ! -x "$VENV/bin/python" ]; then
  uv venv -q "$VENV" -p 3.11
fi
# A copy, so that neither the TCK checkout nor this one gets build files.
WORK="$(mktemp -d)"
trap 'kill "$SUT" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp -r "$A2A_TCK_DIR"/. "$WORK"/
VIRTUAL_ENV="$VENV" uv pip install -q -e "$WORK"

# The interpreter itself, not `uv run`: then $! is the server, and the trap stops it.
PY="$(uv run python -c 'import sys; print(sys.executable)')"
"$PY" tests/a2a/tck_sut.py "$PORT" 1.5 &
SUT=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/.well-known/agent-card.json" >/dev/null && break
  sleep 0.1
done

cd "$WORK"
A2A_AUTH_HEADERS='{"A2A-Version":"1.0"}' "$VENV/bin/python" run_tck.py \
  --sut-url "http://127.0.0.1:$PORT/" --category "$CATEGORY" \
  --compliance-report "$WORK/report.json" || status=$?
exit "${status:-0}"
