"""Tool declarations and schemas for Gemini: pure (compilations go through the shared memo).

Tool schemas go as ``parametersJsonSchema`` (target ``gemini``): the JSON
Schema field, which the API prefers. Only when that dialect would change
which values are accepted and the OpenAPI ``parameters`` field (target
``gemini-openapi``) would not is ``parameters`` used: ``pattern``,
``minLength``/``maxLength`` and ``min``/``maxProperties`` exist only in the
OpenAPI subset, while ``$ref`` and ``additionalProperties`` exist only in the
JSON one. The output schema follows the same rule (``responseJsonSchema`` /
``responseSchema``). Each declaration picks its own field; the two are
mutually exclusive only within one declaration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from agentkit import RunWarning, ToolDefinition
from agentkit.adapter import (
    CompiledSchema,
    SchemaCompileError,
    changes_to_warnings,
    compile_schema_cached,
)

from .._memo import memo_by_tools
from ._wire import FunctionDeclaration, Tool, ToolConfig

__all__ = [
    "SchemaField",
    "compile_gemini_schema",
    "to_gemini_tool_config",
    "to_gemini_tools",
]

#: Which field a compiled schema goes in: the JSON Schema one or the OpenAPI one.
SchemaField = Literal["json", "openapi"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,127}")
_SCHEMA_NOTES = frozenset({"type", "properties", "required", "title", "description", "$schema"})


def compile_gemini_schema(
    schema: Mapping[str, Any], *, allow_lossy: bool, name: str | None
) -> tuple[SchemaField, CompiledSchema]:
    """Compile a schema for Gemini, choosing the field that keeps it intact.

    Returns:
        ``("json", ...)`` for ``parametersJsonSchema``/``responseJsonSchema``,
        or ``("openapi", ...)`` for ``parameters``/``responseSchema`` when only
        that dialect takes the schema without a lossy change.

    Raises:
        SchemaCompileError: both dialects would change the accepted values and
            ``allow_lossy`` is False (the JSON dialect's error), or the schema
            cannot be written at all.
    """
    try:
        return "json", compile_schema_cached(schema, "gemini", name=name)
    except SchemaCompileError as exc:
        first = exc
    try:
        return "openapi", compile_schema_cached(schema, "gemini-openapi", name=name)
    except SchemaCompileError:
        pass
    if allow_lossy:
        return "json", compile_schema_cached(schema, "gemini", allow_lossy=True, name=name)
    raise first


@memo_by_tools
def to_gemini_tools(
    tools: Sequence[ToolDefinition],
    *,
    allow_lossy: bool = False,
    provider: str = "gemini",
) -> tuple[list[Tool], list[RunWarning]]:
    """Tool definitions to one ``{"functionDeclarations": [...]}`` tool.

    A schema without parameters is left out (Gemini rejects an OpenAPI object
    with no properties, and the model then calls with no arguments).

    Raises:
        SchemaCompileError: a schema would change and ``allow_lossy`` is False.
    """
    declarations: list[FunctionDeclaration] = []
    warnings: list[RunWarning] = []
    for tool in tools:
        declaration: FunctionDeclaration = {"name": tool.name}
        description = tool.description or tool.title
        if description:
            declaration["description"] = description
        field, compiled = compile_gemini_schema(
            tool.input_schema, allow_lossy=allow_lossy, name=tool.name
        )
        schema = compiled.schema
        if schema.get("properties") or not schema.keys() <= _SCHEMA_NOTES:
            if field == "json":
                declaration["parametersJsonSchema"] = schema
            else:
                declaration["parameters"] = schema
        declarations.append(declaration)
        warnings += changes_to_warnings(compiled, tool=tool.name, provider=provider)
        if not _NAME.fullmatch(tool.name):
            warnings.append(
                RunWarning(
                    kind="unsupported_feature",
                    feature="tool_name",
                    provider=provider,
                    message=f"tool name {tool.name!r} may be rejected: Gemini names start with a "
                    "letter or _, then letters, digits, _ . : or -, at most 128 characters",
                )
            )
    return [{"functionDeclarations": declarations}], warnings


def to_gemini_tool_config(choice: str) -> ToolConfig:
    """``tool_choice`` as ``functionCallingConfig``: auto, none, required (ANY) or one name."""
    if choice == "auto":
        return {"functionCallingConfig": {"mode": "AUTO"}}
    if choice == "none":
        return {"functionCallingConfig": {"mode": "NONE"}}
    if choice == "required":
        return {"functionCallingConfig": {"mode": "ANY"}}
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice]}}
