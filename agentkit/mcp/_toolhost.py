"""What ``build_server`` serves, without the MCP SDK: tool items grouped into tool sets.

Apart from ``_server`` so ``agentkit serve`` can list its tools (and answer
``tools/list`` on stdio) before the SDK has loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._messages import ToolResultPart
from .._model import ToolDefinition
from .._tools import FunctionToolset, Tool, Toolset

__all__ = ["Listed", "ToolItem", "as_toolsets"]

#: What may be served: tool sets, ``@tool`` functions and plain functions.
ToolItem = Toolset | Tool | Callable[..., Any]


def as_toolsets(items: Sequence[ToolItem]) -> list[Toolset]:
    """Group loose functions into one ``FunctionToolset``; tool sets stay as they are."""
    functions: list[Tool | Callable[..., Any]] = []
    toolsets: list[Toolset] = []
    for item in items:
        if isinstance(item, Toolset) and not isinstance(item, Tool):
            toolsets.append(item)
        else:
            functions.append(item)
    return [FunctionToolset(functions), *toolsets] if functions else toolsets


class Listed:
    """A tool set with the definitions it just listed, so the index asks it only once."""

    def __init__(self, toolset: Toolset, definitions: list[ToolDefinition]) -> None:
        self.toolset = toolset
        self.definitions = definitions
        self.name = getattr(toolset, "name", None)
        self.tools = getattr(toolset, "tools", None)

    async def list_tools(self) -> list[ToolDefinition]:
        return self.definitions

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        return await self.toolset.call_tool(name, arguments)
