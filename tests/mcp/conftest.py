"""Fixtures for the MCP tests: the npm peers, servers per module.

The npm peers (Node 22, the MCP Inspector, the reference "everything" server)
come from ``bash .ci/install-peers.sh``; the tests never install them. A test
needing a missing peer is skipped with that hint, or fails when ``CI`` is set.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mcp_peers import (
    NodePeers,
    RunningServer,
    find_node_peers,
    free_port,
    start_server,
    stop_server,
)


@pytest.fixture(scope="session")
def node_peers() -> NodePeers:
    """Node 22, the Inspector and the everything server (skip or fail when missing)."""
    return find_node_peers()


@pytest.fixture(scope="module")
def everything_http(node_peers: NodePeers) -> Iterator[RunningServer]:
    """The reference "everything" server over streamable HTTP."""
    port = free_port()
    env = {**node_peers.env(), "PORT": str(port)}
    server = start_server([str(node_peers.everything), "streamableHttp"], port, env)
    yield server
    stop_server(server)
