"""Tool references (``module:object`` or an ``agentkit.tools`` entry-point name) to tool items.

Apart from the agent-file machinery, so ``agentkit serve math`` can find its
tools without importing the run loop, the agent-file models or A2A.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from ._registry import load_toolset_entry_point
from ._tools import Tool, Toolset
from .exceptions import UserError

__all__ = ["import_object", "resolve_tools"]


def import_object(reference: str, source: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(
            f"{source}: cannot import {module_name!r} for tool {reference!r}: {exc}"
        ) from exc
    except Exception as exc:
        # The module itself is broken (a syntax error, an exception at import
        # time): say which and where rather than leave a bare traceback.
        raise UserError(
            f"{source}: importing {module_name!r} for tool {reference!r} failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    obj: Any = module
    for name in attribute.split("."):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise UserError(
                f"{source}: {module_name!r} has no {attribute!r} (tool {reference!r})"
            ) from None
    return obj


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
