"""A ``FunctionToolset`` with a name, so colliding tool names get a readable prefix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agentkit import FunctionToolset, Tool

__all__ = ["NamedToolset"]


class NamedToolset(FunctionToolset):
    """``FunctionToolset`` plus the ``name`` the runner uses to prefix colliding tools.

    Args:
        name: Short name of the tool set (``time``, ``files``...).
        tools: The tools.
    """

    def __init__(self, name: str, tools: Sequence[Tool | Callable[..., Any]]) -> None:
        super().__init__(tools)
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, tools={list(self.tools)})"
