"""Reasoning about schemas as sets of values: conjunction and disjointness.

``conjoin(a, b)`` writes "valid against both" as one schema, or says it
cannot without changing the set (then the caller reports a lossy change).
``disjoint(a, b)`` proves that no value is valid against both, which is what
makes ``oneOf`` equal to ``anyOf``. Both are conservative: ``None`` and
``False`` mean "could not prove it", never a wrong answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._vocab import (
    DEFS_KEYS,
    declared_types,
    is_assertion,
    json_equal,
    json_type,
    types_overlap,
)

#: Resolves a ``$ref`` string to its subschema (None when it cannot).
Resolver = Callable[[str], Any]

# Keywords that read each other inside one schema object, so a keyword from
# one side cannot simply sit next to the other side's (``additionalProperties``
# is relative to the ``properties`` beside it).
_GROUPS = (
    frozenset({"properties", "patternProperties", "additionalProperties", "unevaluatedProperties"}),
    frozenset({"prefixItems", "items", "unevaluatedItems", "additionalItems"}),
    frozenset({"contains", "minContains", "maxContains"}),
    frozenset({"if", "then", "else"}),
)
_LOWER = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"})
_UPPER = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"})
_FAIL = object()


def conjoin(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    """One schema accepting exactly the values valid against both ``a`` and ``b``.

    Annotations of ``a`` win over those of ``b``.

    Returns:
        The merged schema, or None when it cannot be written without ``allOf``.
    """
    out = dict(a)
    done: set[str] = set()
    for group in _GROUPS:
        if group & a.keys() and group & b.keys():
            merged = _merge_group(group, a, b)
            if merged is None:
                return None
            out.update(merged)
            done |= group
    for key, value in b.items():
        if key in done:
            continue
        if key not in out:
            out[key] = value
        elif key in DEFS_KEYS:
            if not isinstance(value, dict) or not isinstance(out[key], dict):
                return None
            clash = out[key].keys() & value.keys()
            if any(not json_equal(out[key][k], value[k]) for k in clash):
                return None
            out[key] = {**out[key], **value}
        elif is_assertion(key) and not json_equal(out[key], value):
            merged_value = _merge_keyword(key, out[key], value)
            if merged_value is _FAIL:
                return None
            out[key] = merged_value
    return out


def conjoin_any(a: Any, b: Any) -> Any:
    """``conjoin`` for subschemas that may be booleans; ``_FAIL``-free: None on failure."""
    if a is True or a == {}:
        return b
    if b is True or b == {}:
        return a
    if a is False or b is False:
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return conjoin(a, b)
    return None


def _merge_group(group: frozenset[str], a: dict[str, Any], b: dict[str, Any]) -> Any:
    keys = (group & a.keys()) | (group & b.keys())
    if keys <= {"properties", "additionalProperties"}:
        return _merge_objects(a, b)
    if keys == {"items"}:
        merged = conjoin_any(a["items"], b["items"])
        return None if merged is None else {"items": merged}
    return None


def _merge_objects(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    # additionalProperties speaks about the names its own properties lack, so a
    # side that constrains extras may only meet names it already lists.
    props_a, props_b = a.get("properties", {}), b.get("properties", {})
    extra_a, extra_b = a.get("additionalProperties", True), b.get("additionalProperties", True)
    open_a, open_b = extra_a in (True, {}), extra_b in (True, {})
    if not open_a and not open_b:
        fits = props_a.keys() == props_b.keys() and json_equal(extra_a, extra_b)
    else:
        fits = (open_a or props_b.keys() <= props_a.keys()) and (
            open_b or props_a.keys() <= props_b.keys()
        )
    if not fits:
        return None
    props = dict(props_a)
    for name, sub in props_b.items():
        merged = conjoin_any(props[name], sub) if name in props else sub
        if merged is None:
            return None
        props[name] = merged
    out: dict[str, Any] = {"properties": props}
    extra = extra_b if open_a else extra_a
    if "additionalProperties" in a or "additionalProperties" in b:
        out["additionalProperties"] = extra
    return out


def _merge_keyword(key: str, mine: Any, theirs: Any) -> Any:
    if key == "type":
        ours = {mine} if isinstance(mine, str) else set(mine)
        other = {theirs} if isinstance(theirs, str) else set(theirs)
        # An integer is a number, so {"number"} and {"integer"} meet at "integer".
        both = {t if t == u else "integer" for t in ours for u in other if types_overlap({t}, {u})}
        if not both:
            return _FAIL
        ordered = [t for t in (mine if isinstance(mine, list) else [mine]) if t in both]
        ordered += sorted(both - set(ordered))
        return ordered[0] if len(ordered) == 1 else ordered
    if key == "enum" and isinstance(mine, list) and isinstance(theirs, list):
        kept = [v for v in mine if any(json_equal(v, w) for w in theirs)]
        return kept or _FAIL
    if key == "required" and isinstance(mine, list) and isinstance(theirs, list):
        return mine + [n for n in theirs if n not in mine]
    if key == "allOf" and isinstance(mine, list) and isinstance(theirs, list):
        return mine + theirs
    numbers = isinstance(mine, (int, float)) and isinstance(theirs, (int, float))
    if key in _LOWER and numbers:
        return max(mine, theirs)
    if key in _UPPER and numbers:
        return min(mine, theirs)
    return _FAIL


def _deref(node: Any, resolve: Resolver) -> Any:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        target = resolve(node["$ref"])
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return conjoin_any(rest, target) if target is not None else None
    return node


def disjoint(a: Any, b: Any, resolve: Resolver, depth: int = 0) -> bool:
    """Whether no value is valid against both ``a`` and ``b`` (by type, value or tag).

    A tag is a property both schemas require whose subschemas are disjoint, as
    in a discriminated union (``{"kind": {"const": "circle"}}`` vs ``"square"``).
    """
    a, b = _deref(a, resolve), _deref(b, resolve)
    if a is False or b is False:
        return True
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    types_a, types_b = declared_types(a), declared_types(b)
    if types_a is not None and types_b is not None and not types_overlap(types_a, types_b):
        return True
    values_a = [a["const"]] if "const" in a else a.get("enum")
    values_b = [b["const"]] if "const" in b else b.get("enum")
    if (
        isinstance(values_a, list)
        and isinstance(values_b, list)
        and not any(json_equal(x, y) for x in values_a for y in values_b)
    ):
        return True
    if depth >= 4 or types_a != {"object"} or types_b != {"object"}:
        return False
    props_a, props_b = a.get("properties", {}), b.get("properties", {})
    shared = set(a.get("required", [])) & set(b.get("required", []))
    return any(
        name in props_a
        and name in props_b
        and disjoint(props_a[name], props_b[name], resolve, depth + 1)
        for name in sorted(shared)
    )


def integer_bounds(node: dict[str, Any]) -> dict[str, Any] | None:
    """``node`` with its bounds as inclusive integer ``minimum``/``maximum``, if it changes.

    For an integer-only node, ``exclusiveMinimum: 5`` is ``minimum: 6`` and
    ``minimum: 1.5`` is ``minimum: 2``: the same integers, a simpler spelling.

    Returns:
        The rewritten node, or None when ``node`` is not integer-only or has
        nothing to rewrite.
    """
    types = declared_types(node)
    if types is None or (types - {"null"}) != {"integer"} or "enum" in node or "const" in node:
        return None
    keys = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
    values = {k: node[k] for k in keys if isinstance(node.get(k), (int, float))}
    if not values or (
        all(json_type(v) == "integer" for v in values.values())
        and not ({"exclusiveMinimum", "exclusiveMaximum"} & values.keys())
    ):
        return None
    lows = [math.ceil(values["minimum"])] if "minimum" in values else []
    lows += [math.floor(values["exclusiveMinimum"]) + 1] if "exclusiveMinimum" in values else []
    highs = [math.floor(values["maximum"])] if "maximum" in values else []
    highs += [math.ceil(values["exclusiveMaximum"]) - 1] if "exclusiveMaximum" in values else []
    out = {k: v for k, v in node.items() if k not in keys}
    if lows:
        out["minimum"] = max(lows)
    if highs:
        out["maximum"] = min(highs)
    return out
