"""The official MCP Inspector CLI lists and calls agentkit's tools, over stdio and HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest
from mcp_peers import AGENTKIT, NodePeers, RunningServer, free_port, start_server, stop_server


@pytest.fixture(scope="module")
def math_http() -> Iterator[RunningServer]:
    port = free_port()
    server = start_server([*AGENTKIT, "serve", "math", "time", "-t", "http", "-p", str(port)], port)
    yield server
    stop_server(server)


def inspect(peers: NodePeers, target: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(peers.inspector), "--cli", *target, *args],
        env=peers.env(),
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_inspector_over_stdio(node_peers: NodePeers) -> None:
    listed = inspect(node_peers, [*AGENTKIT, "serve", "math"], "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    tools = json.loads(listed.stdout)["tools"]
    assert [t["name"] for t in tools] == ["evaluate"]
    assert tools[0]["annotations"]["readOnlyHint"] is True
    called = inspect(
        node_peers,
        [*AGENTKIT, "serve", "math"],
        "--method",
        "tools/call",
        "--tool-name",
        "evaluate",
        "--tool-arg",
        "expression=6*7",
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["structuredContent"] == {"result": 42}


def test_inspector_over_http(node_peers: NodePeers, math_http: RunningServer) -> None:
    listed = inspect(node_peers, [math_http.url], "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    assert {t["name"] for t in json.loads(listed.stdout)["tools"]} == {
        "evaluate",
        "now",
        "convert_time",
    }
    called = inspect(
        node_peers,
        [math_http.url],
        "--method",
        "tools/call",
        "--tool-name",
        "now",
        "--tool-arg",
        "timezone=Europe/Paris",
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["structuredContent"]["timezone"] == "Europe/Paris"
    failed = inspect(
        node_peers,
        [math_http.url],
        "--method",
        "tools/call",
        "--tool-name",
        "now",
        "--tool-arg",
        "timezone=Mars/Olympus",
    )
    # The Inspector exits 5 for an isError result; the message says what to do.
    assert failed.returncode == 5
    assert "IANA" in failed.stdout
