#!/usr/bin/env bash
# Installs a Postgres server (Debian's `postgresql` package) for the
# multi-worker tests, when its binaries are not on the machine yet. The tests
# start their own throwaway server from these binaries (initdb into a
# temporary directory); nothing here starts or configures a cluster.
set -euo pipefail

if [ -n "${AGENTKIT_PG_BINDIR:-}" ] && [ -x "$AGENTKIT_PG_BINDIR/initdb" ]; then
  echo "postgres: using $AGENTKIT_PG_BINDIR"
  exit 0
fi
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1; then
  echo "postgres: already installed ($(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
ls -d /usr/lib/postgresql/*/bin
