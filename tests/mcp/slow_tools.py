"""A sync tool that takes as long as asked (for ``agentkit serve --tool-timeout``)."""

from __future__ import annotations

import time

from agentkit import FunctionToolset, tool


@tool
def sleepy(seconds: float) -> str:
    """Sleeps, then answers."""
    time.sleep(seconds)
    return "done"


toolset = FunctionToolset([sleepy])
