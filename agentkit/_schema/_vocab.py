"""Facts about JSON Schema 2020-12 keywords that every target relies on.

Which keywords constrain values (dropping one changes what a schema accepts)
and which only annotate; where subschemas sit; which values are no-ops; and
JSON's own notion of a value's type and of equality (``1 == 1.0`` but
``true != 1``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

# Keywords that decide whether an instance is valid (validation and applicator
# vocabularies of 2020-12, plus draft-07 spellings still seen in the wild).
# Every other keyword is an annotation: unknown keywords, `format` (an
# annotation unless a validator opts into the format-assertion vocabulary),
# `title`, `default`, `examples`, `$comment`, `deprecated`, `readOnly`, ...
ASSERTIONS = frozenset(
    {
        "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
        "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
        "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties",
        "required", "dependentRequired", "allOf", "anyOf", "oneOf", "not", "if", "then",
        "else", "dependentSchemas", "prefixItems", "items", "contains", "properties",
        "patternProperties", "additionalProperties", "propertyNames", "unevaluatedItems",
        "unevaluatedProperties", "$ref", "$dynamicRef", "dependencies", "additionalItems",
    }
)  # fmt: skip

#: Containers of reusable schemas; never applied by themselves.
DEFS_KEYS = ("$defs", "definitions")

#: Keywords whose value is a map of name -> subschema.
SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
#: Keywords whose value is one subschema.
SCHEMA_ONE = frozenset(
    {
        "additionalProperties", "items", "contains", "not", "if", "then", "else",
        "propertyNames", "unevaluatedItems", "unevaluatedProperties", "additionalItems",
    }
)  # fmt: skip
#: Keywords whose value is a list of subschemas.
SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})

#: Keywords that only make sense on one JSON type; used to tell an untyped
#: node's intended type (``{"properties": ...}`` means an object).
TYPE_FAMILIES: dict[str, frozenset[str]] = {
    "object": frozenset(
        {
            "properties", "patternProperties", "additionalProperties", "required",
            "propertyNames", "minProperties", "maxProperties", "dependentRequired",
            "dependentSchemas", "unevaluatedProperties",
        }
    ),
    "array": frozenset(
        {"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains",
         "minContains", "maxContains", "unevaluatedItems"}
    ),
    "string": frozenset({"pattern", "minLength", "maxLength"}),
    "number": frozenset(
        {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
    ),
}  # fmt: skip

JSON_TYPES = ("null", "boolean", "object", "array", "number", "string", "integer")


def is_assertion(keyword: str) -> bool:
    """Whether ``keyword`` takes part in validation (an unknown keyword does not)."""
    return keyword in ASSERTIONS


def is_noop(keyword: str, value: Any) -> bool:
    """Whether ``keyword: value`` accepts every instance, so dropping it loses nothing."""
    if keyword in ("minLength", "minItems", "minProperties") and value == 0:
        return True
    if keyword in ("required", "allOf") and value == []:
        return True
    if keyword == "uniqueItems" and value is False:
        return True
    if keyword in SCHEMA_MAPS or keyword == "dependentRequired":
        return bool(value == {})
    return keyword in (
        "additionalProperties",
        "items",
        "unevaluatedItems",
        "unevaluatedProperties",
        "propertyNames",
        "additionalItems",
    ) and (value is True or value == {})


def iter_subschemas(node: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every subschema position of ``node``: (path tokens, subschema), ``$defs`` included."""
    for key, value in node.items():
        if key in SCHEMA_MAPS or key in DEFS_KEYS:
            if isinstance(value, dict):
                for name, sub in value.items():
                    yield (key, name), sub
        elif key in SCHEMA_LISTS or (key == "items" and isinstance(value, list)):
            if isinstance(value, list):
                for i, sub in enumerate(value):
                    yield (key, str(i)), sub
        elif key in SCHEMA_ONE:
            yield (key,), value
        elif key == "dependencies" and isinstance(value, dict):
            for name, sub in value.items():
                if not isinstance(sub, list):
                    yield (key, name), sub


def json_type(value: Any) -> str:
    """The JSON Schema type of a JSON value (``2.0`` is an ``integer``, as the spec says)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if math.isfinite(value) and value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, booleans never equal to numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def declared_types(node: dict[str, Any]) -> set[str] | None:
    """The types ``node`` admits by ``type``, ``const`` or ``enum``; None when unconstrained."""
    found: set[str] | None = None
    kind = node.get("type")
    if isinstance(kind, str):
        found = {kind}
    elif isinstance(kind, list):
        found = {k for k in kind if isinstance(k, str)}
    values = [node["const"]] if "const" in node else node.get("enum")
    if isinstance(values, list):
        by_value = {json_type(v) for v in values}
        found = by_value if found is None else {t for t in by_value if types_overlap({t}, found)}
    return found


def types_overlap(a: set[str], b: set[str]) -> bool:
    """Whether two type sets share a value (``integer`` lies inside ``number``)."""
    if a & b:
        return True
    return ("integer" in a and "number" in b) or ("number" in a and "integer" in b)


def accepts_null(node: Any) -> bool:
    """Whether ``node`` visibly accepts ``null`` (by type, const, enum or an anyOf branch)."""
    if not isinstance(node, dict):
        return node is True
    types = declared_types(node)
    if types is not None and "null" not in types:
        return False
    branches = node.get("anyOf")
    if isinstance(branches, list) and not any(accepts_null(b) for b in branches):
        return False
    return types is not None or isinstance(branches, list)


def implied_type(node: dict[str, Any]) -> str | None:
    """The type an untyped node's keywords are about, like ``object`` for ``properties``."""
    for kind, keywords in TYPE_FAMILIES.items():
        if any(k in node for k in keywords):
            return kind
    return None
