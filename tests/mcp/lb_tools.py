"""Tools for the load-balancer tests: each answer names the process that gave it."""

from __future__ import annotations

import os

from anyio.lowlevel import checkpoint

from agentkit import FunctionToolset, tool
from agentkit.mcp import report_progress


@tool
def whoami() -> int:
    """The server process's id."""
    return os.getpid()


@tool
async def count(n: int) -> int:
    """Counts to n, reporting each step as progress; answers with the process id."""
    for i in range(1, n + 1):
        report_progress(i, n, f"step {i}")
        await checkpoint()  # let each notification go out before the next step
    return os.getpid()


toolset = FunctionToolset([whoami, count])
