"""Tool references (``module:object`` or an ``agentkit.tools`` entry-point name) to tool items.

Apart from the agent-file machinery, so ``agentkit serve math`` can find its
tools without importing the run loop, the agent-file models or A2A.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ._registry import load_toolset_entry_point
from ._tools import Tool, Toolset
from .exceptions import UserError

__all__ = ["import_object", "resolve_tools"]


def import_object(reference: str, source: str) -> Any:
    """The object a tool reference ``module:object`` names (errors name the tool)."""
    from ._refs import import_object as import_reference

    return import_reference(reference, source, f"for tool {reference!r}")


def _tool_items(obj: Any, reference: str, source: str) -> list[Any]:
    if isinstance(obj, (list, tuple)):
        return [item for entry in obj for item in _tool_items(entry, reference, source)]
    if isinstance(obj, (Tool, Toolset)) or callable(obj):
        return [obj]
    raise UserError(f"{source}: {reference!r} is not a tool, a function or a tool set")


def resolve_tools(references: list[str], source: str, base: Path | None) -> list[Any]:
    """Import every tool reference of an agent file."""
    if base is not None and str(base) not in sys.path:
        # Tools next to the agent file import like a script's own modules.
        sys.path.insert(0, str(base))
    items: list[Any] = []
    for reference in references:
        if ":" in reference:
            obj = import_object(reference, source)
        else:
            obj = load_toolset_entry_point(reference)
            if obj is None:
                raise UserError(
                    f"{source}: tool {reference!r} is neither module:object nor an installed "
                    "agentkit.tools entry point"
                )
        items.extend(_tool_items(obj, reference, source))
    return items
