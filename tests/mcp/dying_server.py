"""An MCP server for the tests whose ``die`` tool kills the process mid-call.

``python dying_server.py`` serves over stdio; ``--http PORT`` over streamable
HTTP (agentkit's server); ``--http PORT --official`` serves the same tools with
the official SDK's ``MCPServer`` instead, so the client side is tested against
both. Besides ``alive`` and ``die``: ``count`` reports progress, ``big`` answers
with a large text.
"""

from __future__ import annotations

import argparse
import os

import anyio
from mcp.server.mcpserver import Context

from agentkit import tool
from agentkit.mcp import build_server, report_progress, serve_http, serve_stdio


@tool
def alive() -> str:
    """Answers while the server lives."""
    return "yes"


@tool
def die() -> str:
    """Ends the server process without answering."""
    os._exit(3)


@tool
async def count(n: int) -> str:
    """Counts to n, reporting progress at each step."""
    for i in range(1, n + 1):
        report_progress(i, n, f"step {i}")
    return f"counted {n}"


@tool
def big(size: int) -> str:
    """A text of ``size`` bytes."""
    return "x" * size


def _official(port: int) -> None:
    from mcp.server import MCPServer

    server = MCPServer("dying-official")

    @server.tool()
    def alive() -> str:
        """Answers while the server lives."""
        return "yes"

    @server.tool()
    def die() -> str:
        """Ends the server process without answering."""
        os._exit(3)

    @server.tool()
    async def count(n: int, ctx: Context) -> str:
        """Counts to n, reporting progress at each step."""
        for i in range(1, n + 1):
            await ctx.report_progress(i, n, f"step {i}")
        return f"counted {n}"

    @server.tool()
    def big(size: int) -> str:
        """A text of ``size`` bytes."""
        return "x" * size

    server.run("streamable-http", port=port)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, metavar="PORT")
    parser.add_argument("--official", action="store_true")
    args = parser.parse_args()
    if args.official:
        _official(args.http)
        return
    server = build_server([alive, die, count, big], name="dying")
    if args.http is None:
        anyio.run(serve_stdio, server)
    else:
        anyio.run(lambda: serve_http(server, port=args.http))


if __name__ == "__main__":
    main()
