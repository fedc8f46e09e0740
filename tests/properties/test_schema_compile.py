"""The schema compiler over generated JSON Schemas: it fails cleanly or keeps the values.

For every target in ``TARGETS``:

- any JSON Schema 2020-12 document compiles or raises ``SchemaCompileError``,
  never another exception, with or without ``allow_lossy``; the input is left
  alone and the output is the same every time;
- a compilation without a lossy change accepts exactly the values the
  original accepts: sample instances, judged by ``jsonschema``, are valid (or
  invalid) alike, read the way ``tests/test_schema_compile.py`` reads each
  dialect (OpenAPI's ``nullable``, llama.cpp's closed objects, strict mode's
  added nulls removed by ``strip_added_nulls``);
- a document that is not a schema at all (keywords holding anything) also
  fails only with ``SchemaCompileError``.
"""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from agentkit._schema._shape import MAX_DEPTH
from agentkit.adapter import (
    TARGETS,
    CompiledSchema,
    SchemaCompileError,
    compile_for_openai,
    compile_schema,
)
from tests.test_schema_compile import _assert_same_values

from ._schemas import instances, malformed, schemas


def _compile(schema: Any, target: Any, allow_lossy: bool) -> CompiledSchema | None:
    try:
        return compile_schema(schema, target, allow_lossy=allow_lossy, name="t")
    except SchemaCompileError:
        return None


@settings(max_examples=40)
@given(schema=schemas(), allow_lossy=st.booleans())
def test_every_schema_compiles_or_fails_with_schema_compile_error(
    schema: dict[str, Any], allow_lossy: bool
) -> None:
    Draft202012Validator.check_schema(schema)
    before = copy.deepcopy(schema)
    for target in TARGETS:
        compiled = _compile(schema, target, allow_lossy)
        assert schema == before, f"{target} changed its input"
        if compiled is None:
            continue
        again = compile_schema(copy.deepcopy(schema), target, allow_lossy=allow_lossy)
        assert json.dumps(again.schema) == json.dumps(compiled.schema)
        assert compiled.lossy <= allow_lossy
        if target != "gemini-openapi":
            Draft202012Validator.check_schema(compiled.schema)


@settings(max_examples=40)
@given(schema=schemas(), seed=st.integers(0, 2**16))
def test_non_lossy_compilations_accept_the_same_values(schema: dict[str, Any], seed: int) -> None:
    # Tool arguments are always a JSON object: the compiler may (and does) type an
    # untyped root as an object, so only objects are compared at the root.
    samples = [s for s in instances(schema, seed) if isinstance(s, dict)]
    try:
        for sample in samples:
            Draft202012Validator(schema).is_valid(sample)
    except RecursionError:
        # A reference that recurses without consuming the instance ({"allOf": [{"$ref":
        # "#/$defs/A"}]} inside A) cannot be evaluated by jsonschema, so there is nothing
        # to compare with; that the compiler handles it cleanly is the property above.
        reject()
    for target in TARGETS:
        compiled = _compile(schema, target, allow_lossy=False)
        if compiled is not None:
            _assert_same_values(schema, compiled, samples)


@settings(max_examples=120)
@given(document=malformed)
def test_malformed_schemas_fail_only_with_schema_compile_error(document: Any) -> None:
    for target in TARGETS:
        _compile(document, target, allow_lossy=True)
        _compile(document, target, allow_lossy=False)
    with contextlib.suppress(SchemaCompileError):
        compile_for_openai(document)


# -- regressions found by the properties above -------------------------------------------------
# Each of these raised TypeError (or RecursionError) from inside a target.


@pytest.mark.parametrize(
    ("schema", "keyword", "path"),
    [
        ({"format": []}, "format", "#"),
        ({"properties": {"a": {"type": "string", "format": {}}}}, "format", "#/properties/a"),
        ({"properties": [None, {}]}, "properties", "#"),
        ({"properties": -1, "anyOf": -1}, None, "#"),
        ({"properties": {"a": {}}, "required": [["a"], -3]}, "required", "#"),
        ({"items": {"prefixItems": None}}, "prefixItems", "#/items"),
        ({"allOf": [{"type": False, "const": False}]}, "type", "#/allOf/0"),
        ({"$defs": {"A": {"type": 3}}, "properties": {"a": {"$ref": "#/$defs/A"}}}, "type", None),
    ],
)
@pytest.mark.parametrize("target", TARGETS)
def test_a_keyword_of_the_wrong_shape_is_a_schema_compile_error(
    schema: dict[str, Any], keyword: str | None, path: str | None, target: Any
) -> None:
    with pytest.raises(SchemaCompileError) as caught:
        compile_schema(schema, target, allow_lossy=True, name="t")
    (unsupported,) = [c for c in caught.value.changes if c.kind == "unsupported"]
    if keyword is not None:
        assert unsupported.keyword == keyword
    if path is not None:
        assert unsupported.path == path
    assert "must be" in str(caught.value)


def _nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    return schema


@pytest.mark.parametrize("target", TARGETS)
def test_nesting_is_bounded_instead_of_exhausting_the_stack(target: Any) -> None:
    compile_schema(_nested(MAX_DEPTH // 2), target, allow_lossy=True)
    with pytest.raises(SchemaCompileError, match="nested more than"):
        compile_schema(_nested(400), target, allow_lossy=True)


def test_a_nullable_type_with_an_enum_without_null_gets_null_once() -> None:
    # Found by the properties above: "null" was appended to a type list that held
    # it already, and the duplicate made the strict schema invalid JSON Schema.
    schema = {
        "type": "object",
        "properties": {"a": {"type": ["string", "null"], "enum": ["x"]}},
        "additionalProperties": False,
    }
    compiled = compile_schema(schema, "openai-strict")
    assert compiled.schema["properties"]["a"] == {"type": ["string", "null"], "enum": ["x", None]}
    Draft202012Validator.check_schema(compiled.schema)
