"""One JSON Schema object ↔ Agent Spec's list of named properties.

agentkit describes a tool's arguments, a tool's result and an agent's answer
as one JSON Schema object; Agent Spec as a list of properties, each a JSON
Schema whose ``title`` is its name and which is required unless it has a
default. What the list cannot say (an optional property without a default,
``additionalProperties``, a root title or description) is detected by converting back
and comparing, so a caller knows whether the conversion was exact.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["object_schema", "property_schemas"]

# pyagentspec refuses these characters in any title, nested ones included.
_BAD_TITLE = set(".,{} \n'\"")


def _clean_titles(schema: Any) -> Any:
    """A copy without nested titles that pyagentspec would refuse."""
    if isinstance(schema, list):
        return [_clean_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str) and _BAD_TITLE & set(value):
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            cleaned[key] = {name: _clean_titles(sub) for name, sub in value.items()}
        else:
            cleaned[key] = _clean_titles(value)
    return cleaned


def property_schemas(schema: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The properties of an object schema as Agent Spec property schemas.

    Args:
        schema: A JSON Schema; only an object schema with ``properties`` splits.

    Returns:
        One schema per property (``title`` = its name; shared ``$defs`` copied
        into each property that refers to them), and whether
        ``object_schema`` of them gives ``schema`` back unchanged.
    """
    properties = schema.get("properties")
    if schema.get("type") != "object" or not isinstance(properties, dict):
        return [], False
    defs = schema.get("$defs")
    result: list[dict[str, Any]] = []
    for name, sub in properties.items():
        one = _clean_titles(sub) if isinstance(sub, dict) else {}
        one.pop("title", None)
        if defs and "#/$defs/" in json.dumps(sub):
            one["$defs"] = _clean_titles(defs)
        result.append({"title": name, **one})
    return result, object_schema(result) == schema


def object_schema(properties: list[dict[str, Any]]) -> dict[str, Any]:
    """The object schema of a list of Agent Spec property schemas.

    A property is required unless it has a default; ``$defs`` copied into
    properties move back to the root.
    """
    props: dict[str, Any] = {}
    required: list[str] = []
    defs: dict[str, Any] = {}
    for item in properties:
        one = dict(item)
        name = str(one.pop("title", "property"))
        defs.update(one.pop("$defs", None) or {})
        props[name] = one
        if "default" not in one:
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    if defs:
        schema["$defs"] = defs
    return schema
