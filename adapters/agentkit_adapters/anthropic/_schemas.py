"""Tool definitions and the output schema for the Messages API: pure.

Tool ``input_schema`` takes JSON Schema as it is (the recordings send
``title``, ``additionalProperties`` and nested ``description`` unchanged), so
tool schemas are not rewritten. The structured-output schema
(``output_config.format``) is narrower: every object must say
``additionalProperties: false``, and numeric, length and item-count bounds
are not accepted. ``to_anthropic_output_schema`` closes open objects (an
answer to the closed schema still matches the original) and moves the bounds
into the description (the runner validates the answer against the original
schema, bounds included), reporting both as warnings.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

from agentkit.adapter import RunWarning, SchemaCompileError, ToolDefinition

from ._wire import ToolParam

__all__ = ["to_anthropic_output_schema", "to_anthropic_tools"]

#: Keywords structured outputs refuse; ``minItems`` is accepted only as 0 or 1.
_BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "minProperties",
    "maxProperties",
)
_SUBSCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def to_anthropic_tools(tools: Sequence[ToolDefinition]) -> list[ToolParam]:
    """Tool definitions to the ``tools`` array (schemas unchanged).

    Args:
        tools: The tools the model may call.

    Returns:
        One ``{"name", "description", "input_schema"}`` per tool.
    """
    out: list[ToolParam] = []
    for tool in tools:
        param: ToolParam = {"name": tool.name}
        description = tool.description or tool.title
        if description:
            param["description"] = description
        param["input_schema"] = tool.input_schema
        out.append(param)
    return out


def _is_object(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def _walk(node: Any, path: str, changes: dict[str, list[str]], allow_lossy: bool) -> None:
    if not isinstance(node, dict):
        return
    if _is_object(node):
        extra = node.get("additionalProperties")
        if extra is None:
            node["additionalProperties"] = False
            changes.setdefault("additionalProperties", []).append(path)
        elif extra is not False:
            if not allow_lossy:
                raise SchemaCompileError(
                    f"{path}: Claude's structured outputs take only closed objects "
                    "(additionalProperties: false), and this one accepts other keys; "
                    "close it, or set allow_lossy_schemas to have them refused"
                )
            node["additionalProperties"] = False
            changes.setdefault("additionalProperties", []).append(path)
    moved = [key for key in _BOUNDS if key in node]
    if isinstance(node.get("minItems"), int) and node["minItems"] > 1:
        moved.append("minItems")
    if moved:
        note = ", ".join(f"{key}: {json.dumps(node.pop(key))}" for key in moved)
        description = node.get("description")
        node["description"] = f"{description} ({note})" if description else f"({note})"
        for key in moved:
            changes.setdefault(key, []).append(path)
    for key in _SUBSCHEMA_MAPS:
        children = node.get(key)
        if isinstance(children, dict):
            for name, child in children.items():
                _walk(child, f"{path}/{key}/{name}", changes, allow_lossy)
    for key in _SUBSCHEMA_LISTS:
        children = node.get(key)
        if isinstance(children, list):
            for i, child in enumerate(children):
                _walk(child, f"{path}/{key}/{i}", changes, allow_lossy)
    for key in ("items", "not", "if", "then", "else"):
        _walk(node.get(key), f"{path}/{key}", changes, allow_lossy)


def to_anthropic_output_schema(
    schema: dict[str, Any], *, provider: str = "anthropic", allow_lossy: bool = False
) -> tuple[dict[str, Any], list[RunWarning]]:
    """The output schema as structured outputs accept it, and what was changed.

    Args:
        schema: The answer's JSON Schema (not modified).
        provider: Provider name, for warnings.
        allow_lossy: Close objects that explicitly accept other keys instead
            of raising.

    Returns:
        A changed copy and one ``schema_changed`` warning per keyword touched.

    Raises:
        SchemaCompileError: an object allows other keys (``additionalProperties``
            true or a schema) and ``allow_lossy`` is False.
    """
    out = copy.deepcopy(schema)
    changes: dict[str, list[str]] = {}
    _walk(out, "#", changes, allow_lossy)
    warnings = []
    for key, paths in changes.items():
        where = ", ".join(paths[:5]) + (" ..." if len(paths) > 5 else "")
        if key == "additionalProperties":
            what = "objects were closed (additionalProperties: false) for structured outputs"
        else:
            what = f"{key} was moved into the description (structured outputs do not take it)"
        warnings.append(
            RunWarning(
                kind="schema_changed",
                feature=key,
                provider=provider,
                message=f"output schema at {where}: {what}; the answer is still checked "
                "against the original schema",
            )
        )
    return out, warnings
