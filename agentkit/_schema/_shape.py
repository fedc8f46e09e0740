"""The shapes the compiler relies on, checked once before it walks a schema.

A schema from an MCP server or a hand-written file may hold a keyword of the
wrong JSON type (``"format": []``, ``"properties": [...]``, ``"type": false``).
The targets read these keywords structurally, so such a value would surface
as a ``TypeError`` deep inside a target; here it becomes a
``SchemaCompileError`` at its path instead. Only what the 2020-12 meta-schema
forbids is refused, and only for keywords the compiler interprets: a
``required: true`` of draft 3 inside a property, or a draft-07 ``items``
array, are left to the targets, which tolerate them.
"""

from __future__ import annotations

from typing import Any

from ._types import Recorder, child
from ._vocab import DEFS_KEYS, SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_ONE

__all__ = ["MAX_DEPTH", "check_shapes"]

#: Subschemas nested deeper than this are refused: the targets walk them
#: recursively, and no real tool schema comes near it.
MAX_DEPTH = 64


def _problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` as the value of ``key``; None when nothing is."""
    if key == "type":
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return None
        return "'type' must be a type name or a list of type names"
    if key == "format" and not isinstance(value, str):
        return "'format' must be a string"
    if key == "required" and isinstance(value, list) and not all(isinstance(v, str) for v in value):
        return "'required' must be a list of property names (strings)"
    if (key in SCHEMA_MAPS or key in DEFS_KEYS) and not isinstance(value, dict):
        return f"{key!r} must be an object of schemas"
    if key in SCHEMA_LISTS and not isinstance(value, list):
        return f"{key!r} must be a list of schemas"
    return None


def _subschemas(key: str, value: Any, path: str) -> list[tuple[Any, str]]:
    if key in SCHEMA_MAPS or key in DEFS_KEYS:
        return [(sub, child(path, key, name)) for name, sub in value.items()]
    if key in SCHEMA_LISTS:
        return [(sub, child(path, key, i)) for i, sub in enumerate(value)]
    if key in SCHEMA_ONE:
        if isinstance(value, list):  # draft-07 tuple "items": left to the targets
            return [(sub, child(path, key, i)) for i, sub in enumerate(value)]
        return [(value, child(path, key))]
    return []


def check_shapes(schema: Any, rec: Recorder, path: str = "#") -> None:
    """Raise for the first keyword whose value has a shape the compiler cannot read.

    Also refuses nesting deeper than ``MAX_DEPTH``, which would exhaust the stack.

    Raises:
        SchemaCompileError: naming the keyword and its path.
    """
    pending = [(schema, path, 0)]
    while pending:
        node, where, depth = pending.pop()
        if isinstance(node, bool):
            continue
        if depth > MAX_DEPTH:
            raise rec.fail(where, f"subschemas are nested more than {MAX_DEPTH} levels deep")
        if not isinstance(node, dict):
            raise rec.fail(where, "a schema must be a JSON object or a boolean")
        for key, value in node.items():
            problem = _problem(key, value)
            if problem is not None:
                raise rec.fail(where, f"{problem}, not {value!r:.60}", keyword=key)
            pending.extend((sub, at, depth + 1) for sub, at in _subschemas(key, value, where))
