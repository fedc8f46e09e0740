"""A stdio MCP server whose ``die`` tool kills the process mid-call (for the tests)."""

from __future__ import annotations

import os

import anyio

from agentkit import tool
from agentkit.mcp import build_server, serve_stdio


@tool
def alive() -> str:
    """Answers while the server lives."""
    return "yes"


@tool
def die() -> str:
    """Ends the server process without answering."""
    os._exit(3)


if __name__ == "__main__":
    anyio.run(serve_stdio, build_server([alive, die], name="dying"))
