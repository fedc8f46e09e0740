#!/usr/bin/env bash
# The fault matrix as a table: every planned fault (tests/faults/matrix.py) through
# every HTTP adapter, whole and streaming, against loopback FaultServers.
# A cell is "recovered (N retries)" or the error the run ended in; "!" marks a
# cell outside what the fault allows (or one that leaked the planted key), and
# the script then exits 1. Writes nothing; needs no network and no key.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export PATH
exec uv run python -m tests.faults.table
