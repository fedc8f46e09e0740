"""Hypothesis strategies for JSON Schema 2020-12 documents and for instances of them.

The schemas mix what tool schemas hold in practice (objects with
``properties``/``required``, optional nullable fields, enums, ``$defs`` with
``$ref``, Pydantic's ``anyOf [X, null]``) with what they may hold (bounds,
formats, tuples, boolean subschemas, ``not``, recursion, references with
siblings). Instances are shaped by the schema, so many are valid, and
mutated, so many are not; whether each one is valid is decided by
``jsonschema``, never here.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

Schema = dict[str, Any] | bool

NAMES = ["a", "b", "c", "d/e", "t~1"]  # "/" and "~" need escaping in JSON pointers
DEF_NAMES = ["A", "B", "C"]
SCALARS: list[Any] = ["x", "y", "", 0, 1, 2, 2.5, -1, True, False, None]
FORMATS = ["date", "date-time", "email", "uuid", "uri", "ipv4"]
PATTERNS = ["^[xy]+$", "^a", "[0-9]"]

_json_scalar = st.sampled_from(SCALARS)
_annotation = st.fixed_dictionaries(
    {},
    optional={
        "description": st.sampled_from(["what it is", ""]),
        "title": st.sampled_from(["T"]),
        "examples": st.lists(_json_scalar, max_size=2),
    },
)


def _merged(*parts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        out.update(part)
    return out


@st.composite
def _typed_leaf(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["string", "integer", "number", "boolean", "null"]))
    node: dict[str, Any] = {"type": kind}
    if kind == "string":
        node |= draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "minLength": st.integers(0, 3),
                    "maxLength": st.integers(0, 4),
                    "pattern": st.sampled_from(PATTERNS),
                    "format": st.sampled_from(FORMATS),
                },
            )
        )
    elif kind in ("integer", "number"):
        bound = st.integers(-2, 5) if kind == "integer" else st.sampled_from([-1, 0, 0.5, 2.5])
        node |= draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "minimum": bound,
                    "maximum": bound,
                    "exclusiveMinimum": bound,
                    "exclusiveMaximum": bound,
                    "multipleOf": st.sampled_from([1, 2, 0.5]),
                },
            )
        )
    if kind != "null" and draw(st.integers(0, 4)) == 0:
        node["type"] = [kind, "null"]  # nullable, the 2020-12 way
    if draw(st.integers(0, 5)) == 0:
        node["enum"] = draw(st.lists(_json_scalar, min_size=1, max_size=4, unique_by=repr))
    if draw(st.integers(0, 7)) == 0:
        node["default"] = draw(_json_scalar)
    return node | draw(_annotation)


def _leaves(defs: list[str]) -> st.SearchStrategy[Schema]:
    options: list[st.SearchStrategy[Schema]] = [
        _typed_leaf(),
        _typed_leaf(),
        st.builds(lambda v: {"const": v}, _json_scalar),
        st.builds(lambda vs: {"enum": vs}, st.lists(_json_scalar, min_size=1, max_size=4)),
        st.sampled_from([True, False, {}]),
    ]
    if defs:
        ref = st.sampled_from(defs).map(lambda n: {"$ref": f"#/$defs/{n}"})
        options += [ref, ref]
    return st.one_of(options)


@st.composite
def _object(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> dict[str, Any]:
    """An object schema whose property schemas come from ``children``."""
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
    node: dict[str, Any] = {"type": "object"}
    if names or draw(st.booleans()):
        node["properties"] = {n: draw(children) for n in names}
    required = draw(st.lists(st.sampled_from([*names, "z"]), unique=True, max_size=3))
    if required and (set(required) <= set(names) or draw(st.integers(0, 3)) == 0):
        node["required"] = required
    extra = draw(st.sampled_from(["false", "false", "absent", "true", "schema"]))
    if extra == "false":
        node["additionalProperties"] = False
    elif extra == "true":
        node["additionalProperties"] = True
    elif extra == "schema":
        node["additionalProperties"] = draw(children)
    node |= draw(
        st.fixed_dictionaries(
            {},
            optional={
                "minProperties": st.integers(0, 2),
                "maxProperties": st.integers(1, 3),
                "patternProperties": st.dictionaries(
                    st.sampled_from(PATTERNS), children, max_size=1
                ),
                "propertyNames": st.just({"maxLength": 1}),
            },
        )
    )
    if draw(st.integers(0, 4)) == 0:
        del node["type"]  # an untyped object schema
    return node


def _extend(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    @st.composite
    def arr(draw: st.DrawFn) -> dict[str, Any]:
        node: dict[str, Any] = {"type": "array"}
        if draw(st.integers(0, 3)) == 0:
            node["prefixItems"] = draw(st.lists(children, min_size=1, max_size=3))
            if draw(st.booleans()):
                node["items"] = draw(st.one_of(st.booleans(), children))
        elif draw(st.integers(0, 5)):
            node["items"] = draw(children)
        node |= draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "minItems": st.integers(0, 2),
                    "maxItems": st.integers(0, 3),
                    "uniqueItems": st.booleans(),
                    "contains": children,
                },
            )
        )
        if draw(st.integers(0, 4)) == 0:
            node["type"] = ["array", "null"]
        return node

    def combine(keyword: str) -> st.SearchStrategy[dict[str, Any]]:
        return st.builds(
            lambda branches, siblings: {keyword: branches} | siblings,
            st.lists(children, min_size=1, max_size=3),
            st.one_of(st.just({}), st.just({"description": "d"}), _typed_leaf()),
        )

    return st.one_of(
        _object(children),
        _object(children),
        arr(),
        combine("anyOf"),
        combine("oneOf"),
        combine("allOf"),
        st.builds(lambda n: {"not": n}, children),
        # A reference with siblings (allowed since 2019-09).
        st.builds(lambda a, b: a | b if isinstance(a, dict) else b, children, _annotation),
    )


def _tree(defs: list[str]) -> st.SearchStrategy[Schema]:
    return st.recursive(_leaves(defs), _extend, max_leaves=10)


@st.composite
def schemas(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON Schema 2020-12 document: usually an object root, with ``$defs`` now and then."""
    defs = draw(st.lists(st.sampled_from(DEF_NAMES), unique=True, max_size=2))
    tree = _tree(defs)
    if draw(st.integers(0, 9)) == 0:
        root = draw(tree)  # any root: a non-object one must fail cleanly where it must
        root = root if isinstance(root, dict) else {"not": {}} if root is False else {}
    else:
        root = draw(_object(tree))
        root["type"] = "object"
    if defs:
        # Definitions hold no $ref: recursive definitions are left out of this strategy.
        # The compiler overflows the stack (RecursionError, not SchemaCompileError) on
        # several recursive shapes, e.g. {"B": {"properties": {"c": {"allOf": [{"$ref":
        # "#/$defs/B"}, {"type": "null"}]}}}} on openai-strict, gemini-openapi and
        # llamacpp, and on unguarded recursion, which jsonschema cannot evaluate either.
        # Reported, not fixed here; tests/test_schema_compile.py covers the recursive
        # shapes the compiler does handle.
        root["$defs"] = {name: draw(_object(_tree([]))) for name in defs}
    return root


def _instance(rng: random.Random, node: Any, root: dict[str, Any], depth: int) -> Any:
    if not isinstance(node, dict) or depth > 5 or rng.random() < 0.08:
        return rng.choice([*SCALARS, {}, [], {"a": 1}, ["x"], "2026-01-02", "ab@c.de"])
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and rng.random() < 0.8:
        return _instance(rng, root.get("$defs", {}).get(ref[8:]), root, depth + 1)
    for keyword in ("anyOf", "oneOf", "allOf"):
        if node.get(keyword) and rng.random() < 0.8:
            return _instance(rng, rng.choice(node[keyword]), root, depth + 1)
    if "const" in node and rng.random() < 0.8:
        return node["const"]
    if node.get("enum") and rng.random() < 0.8:
        return rng.choice(node["enum"])
    kind = node.get("type", "object" if "properties" in node else None)
    kind = rng.choice(kind) if isinstance(kind, list) else kind
    if kind == "object":
        props = node.get("properties", {})
        required = node.get("required", [])
        out = {
            name: _instance(rng, sub, root, depth + 1)
            for name, sub in props.items()
            if name in required or rng.random() < 0.5
        }
        if rng.random() < 0.15:
            out[rng.choice(["z", "x"])] = _instance(
                rng, node.get("additionalProperties"), root, depth + 1
            )
        return out
    if kind == "array":
        prefix = node.get("prefixItems", [])
        items = [_instance(rng, sub, root, depth + 1) for sub in prefix][: rng.randint(0, 3)]
        for _ in range(rng.randint(0, 2)):
            items.append(_instance(rng, node.get("items"), root, depth + 1))
        return items
    return {
        "string": lambda: rng.choice(["x", "xy", "", "a1", "2026-01-02", "yyyy"]),
        "integer": lambda: rng.randint(-2, 6),
        "number": lambda: rng.choice([0, 0.5, 2.5, 3, -1.5]),
        "boolean": lambda: rng.random() < 0.5,
        "null": lambda: None,
    }.get(kind or "", lambda: rng.choice(SCALARS))()


def instances(schema: dict[str, Any], seed: int, count: int = 25) -> list[Any]:
    """``count`` values shaped by ``schema`` (valid or not: jsonschema decides)."""
    rng = random.Random(seed)
    return [_instance(rng, schema, schema, 0) for _ in range(count)]


#: Any JSON value, for schemas that are not schemas.
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2), st.text(max_size=3)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)

KEYWORDS = [
    "type", "properties", "required", "items", "prefixItems", "enum", "const", "anyOf",
    "oneOf", "allOf", "not", "$ref", "$defs", "definitions", "additionalProperties",
    "format", "minimum", "maxLength", "pattern", "nullable", "default", "$anchor", "$id",
    "patternProperties", "dependentSchemas", "if", "then", "else", "contains",
]  # fmt: skip


def _garbage(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(KEYWORDS), st.one_of(children, json_values), max_size=4)


#: Documents with schema keywords holding anything at all: malformed schemas.
malformed = st.recursive(_garbage(json_values), _garbage, max_leaves=6)
