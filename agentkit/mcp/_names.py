"""Tool names every provider accepts: ``[A-Za-z0-9_.-]{1,128}``.

MCP allows more (spaces, slashes); providers and ``ToolDefinition`` do not.
Kept apart from the converters so code that must not import MCP can use it.
"""

from __future__ import annotations

import re

__all__ = ["safe_tool_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def safe_tool_name(name: str) -> str:
    """``name`` with every character providers reject replaced by ``_`` (at most 128)."""
    return _UNSAFE.sub("_", name)[:128] or "tool"
