"""Which tool set serves which tool name during one run."""

from __future__ import annotations

from collections.abc import Sequence

from ._model import RunWarning, ToolDefinition
from ._tools import Tool, Toolset
from .exceptions import UserError

__all__ = ["ToolIndex"]


class ToolIndex:
    """Which tool set serves which tool name, built once per run.

    When two tool sets offer the same name, the later one's tool is renamed
    ``<toolset name>_<tool>`` (the model sees the new name, the tool set gets
    its own) and a warning says so.
    """

    def __init__(self) -> None:
        self.definitions: list[ToolDefinition] = []
        self.routes: dict[str, tuple[Toolset, Tool | None, str]] = {}
        self.warnings: list[RunWarning] = []

    @classmethod
    async def build(cls, toolsets: Sequence[Toolset]) -> ToolIndex:
        index = cls()
        for toolset in toolsets:
            direct = getattr(toolset, "tools", None)
            for definition in await toolset.list_tools():
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
                found = direct.get(original) if isinstance(direct, dict) else None
                index.routes[definition.name] = (
                    toolset,
                    found if isinstance(found, Tool) else None,
                    original,
                )
                index.definitions.append(definition)
        return index
