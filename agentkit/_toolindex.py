"""Which tool set serves which tool name during one run."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ._model import RunWarning, ToolDefinition
from ._tools import FunctionToolset, Tool, Toolset
from .exceptions import UserError

__all__ = ["Route", "ToolIndex", "function_tool"]


class Route:
    """Where one tool name goes.

    Attributes:
        toolset: The tool set that serves the tool.
        name: The tool's name in its tool set (the model may see a prefixed one).
        tool: The ``@tool`` behind the name, when the tool set is a
            ``FunctionToolset``: its own ``retries`` and ``timeout`` count.
        direct: Call ``tool.run`` without going through ``call_tool``. Only
            for a ``FunctionToolset`` whose class keeps the stock
            ``call_tool``, which does exactly that; a subclass that overrides
            it (to log, check or rewrite calls) is always called.
    """

    __slots__ = ("direct", "name", "tool", "toolset")

    def __init__(self, toolset: Toolset, name: str, tool: Tool | None, direct: bool) -> None:
        self.toolset = toolset
        self.name = name
        self.tool = tool
        self.direct = direct

    def __iter__(self) -> Iterator[Any]:
        # ``toolset, direct_tool_or_None, name = route``: the shape the MCP
        # server (agentkit/mcp/_server.py) unpacks; it honours ``direct`` too.
        return iter((self.toolset, self.tool if self.direct else None, self.name))


def function_tool(toolset: Toolset, name: str) -> tuple[Tool | None, bool]:
    """``(the @tool behind name, whether tool.run may be called directly)``."""
    if not isinstance(toolset, FunctionToolset):
        return None, False
    found = toolset.tools.get(name)
    stock = type(toolset).call_tool is FunctionToolset.call_tool
    return found, found is not None and stock


class ToolIndex:
    """Which tool set serves which tool name, built once per run.

    When two tool sets offer the same name, the later one's tool is renamed
    ``<toolset name>_<tool>`` (the model sees the new name, the tool set gets
    its own) and a warning says so.
    """

    def __init__(self) -> None:
        self.definitions: list[ToolDefinition] = []
        self.routes: dict[str, Route] = {}
        self.warnings: list[RunWarning] = []

    @classmethod
    async def build(cls, toolsets: Sequence[Toolset]) -> ToolIndex:
        index = cls()
        for toolset in toolsets:
            # The stock list_tools of function tools, without its coroutine (a
            # subclass may list its own).
            if type(toolset) is FunctionToolset:
                listed = toolset.definitions()
            else:
                listed = await toolset.list_tools()
            for definition in listed:
                original = definition.name
                if original in index.routes:
                    prefix = getattr(toolset, "name", None)
                    renamed = f"{prefix}_{original}" if isinstance(prefix, str) else None
                    if renamed is None or renamed in index.routes:
                        raise UserError(
                            f"two tools are named {original!r}; give the tool sets names "
                            "so one can be prefixed"
                        )
                    definition = definition.model_copy(update={"name": renamed})
                    index.warnings.append(
                        RunWarning(
                            kind="tool",
                            feature=original,
                            message=f"tool {original!r} of {prefix!r} is offered to the model "
                            f"as {renamed!r}: another tool set already has that name",
                        )
                    )
                found, direct = function_tool(toolset, original)
                index.routes[definition.name] = Route(toolset, original, found, direct)
                index.definitions.append(definition)
        return index
