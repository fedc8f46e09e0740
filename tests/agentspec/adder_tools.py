"""A tool that a test maps an Agent Spec ServerTool to (``--tool add=...``)."""

from __future__ import annotations

from agentkit import tool


@tool
def add(a: int, b: int) -> int:
    """Add two whole numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b
