"""Fixtures for the MCP tests: npm peers installed on first use, servers per module.

The npm peers (Node 22, the MCP Inspector, the reference "everything" server)
are installed once into ``.ci/cache/node`` (git-ignored) the first time a test
needs them. A missing peer is installed, never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mcp_peers import (
    NodePeers,
    RunningServer,
    free_port,
    install_node_peers,
    start_server,
    stop_server,
)


@pytest.fixture(scope="session")
def node_peers() -> NodePeers:
    """Node 22, the Inspector and the everything server, installed when missing."""
    return install_node_peers()


@pytest.fixture(scope="module")
def everything_http(node_peers: NodePeers) -> Iterator[RunningServer]:
    """The reference "everything" server over streamable HTTP."""
    port = free_port()
    env = {**node_peers.env(), "PORT": str(port)}
    server = start_server([str(node_peers.everything), "streamableHttp"], port, env)
    yield server
    stop_server(server)
