"""When a schema goes to OpenAI in strict mode: one rule for Chat Completions and Responses.

Strict mode (``strict: true``) makes the model's arguments or answer match the
schema exactly, but accepts only a subset of JSON Schema: closed objects,
every property required, optional ones written as a union with ``null``. The
schema compiler's ``compile_for_openai`` rewrites a schema into that subset
when it can without loss (or with loss, when the request allows it) and falls
back to the plain ``openai`` dialect otherwise. On top of it:

- A tool schema goes strict whenever ``compile_for_openai`` says so. The nulls
  strict mode makes the model send for left-out optional properties are taken
  out of the arguments again (``strip_added_nulls``, in the answer parsers,
  with the schemas from ``tools_with_added_nulls``), so the runner validates
  the arguments the original schema describes.
- An output schema goes strict only when strict mode adds no nulls: the
  answer text is handed back as the model wrote it, and a ``null`` where the
  schema says "may be left out" would fail the runner's validation.
- A host without strict mode (``strict=False``) gets the plain dialect.

Pure: no I/O, no state beyond the shared compile memo.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentkit import RunWarning, ToolDefinition
from agentkit.adapter import (
    CompiledSchema,
    changes_to_warnings,
    compile_for_openai,
    compile_schema_cached,
)

from .._memo import memo_by_tools

__all__ = ["compile_openai_schema", "tools_with_added_nulls"]


def compile_openai_schema(
    schema: Mapping[str, Any],
    *,
    name: str,
    allow_lossy: bool = False,
    strict: bool = True,
    output: bool = False,
    provider: str | None = None,
) -> tuple[CompiledSchema, list[RunWarning]]:
    """The schema as an OpenAI API takes it, and whether it goes strict (``.strict``).

    Args:
        schema: A tool's input schema, or the output schema.
        name: The tool's name, or the output's.
        allow_lossy: Accept compiler changes that alter which values are valid
            (to reach strict mode, say, by closing open objects).
        strict: The host has strict mode.
        output: ``schema`` is the output schema (see the module's rules).
        provider: Provider name, for warnings.

    Returns:
        The compilation (``strict`` says whether to send ``strict: true``), and
        a ``schema_changed`` warning for each change made, including the
        reason strict mode was not used where it could not be.

    Raises:
        SchemaCompileError: not even the plain dialect takes the schema.
    """
    if not strict:
        compiled = compile_schema_cached(schema, "openai", allow_lossy=allow_lossy, name=name)
        return compiled, _warnings(compiled, name, output, provider)
    compiled = compile_for_openai(schema, allow_lossy=allow_lossy, name=name, cache=True)
    warnings: list[RunWarning] = []
    if output and compiled.strict and compiled.added_nulls:
        compiled = compile_schema_cached(schema, "openai", allow_lossy=allow_lossy, name=name)
        message = f"output schema {name!r} was sent without strict mode: strict mode would "
        message += "make optional properties nullable, and the answer text is returned as written"
        warnings.append(
            RunWarning(
                kind="schema_changed",
                feature="strict_disabled",
                provider=provider,
                message=message,
            )
        )
    return compiled, warnings + _warnings(compiled, name, output, provider)


def _warnings(
    compiled: CompiledSchema, name: str, output: bool, provider: str | None
) -> list[RunWarning]:
    if not compiled.changes:
        return []
    return changes_to_warnings(compiled, tool=None if output else name, provider=provider)


@memo_by_tools
def tools_with_added_nulls(
    tools: Sequence[ToolDefinition], *, allow_lossy: bool = False, strict: bool = True
) -> dict[str, CompiledSchema]:
    """The strict tool schemas that made optional properties nullable, by tool name.

    What the answer parsers need to strip those nulls from the arguments
    (``strip_added_nulls``); the compilations come from the shared memo, so
    asking again costs a lookup.
    """
    found: dict[str, CompiledSchema] = {}
    if not strict:
        return found
    for tool in tools:
        compiled, _ = compile_openai_schema(
            tool.input_schema, name=tool.name, allow_lossy=allow_lossy
        )
        if compiled.strict and compiled.added_nulls:
            found[tool.name] = compiled
    return found
