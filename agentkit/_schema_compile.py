"""The schema compiler: one JSON Schema 2020-12, every provider's dialect.

A tool's (or an output's) schema is written once, in JSON Schema 2020-12.
Each provider accepts a different subset, so before a request the adapter
compiles the schema for its target:

- ``openai-strict``: OpenAI with ``strict: true`` (closed objects, every
  property required, optional ones nullable).
- ``openai``: OpenAI without strict; nearly as written.
- ``gemini``: Gemini's ``parametersJsonSchema`` / ``responseJsonSchema``.
- ``gemini-openapi``: Gemini's older OpenAPI 3.0 ``parameters`` field.
- ``ollama``: Ollama, references inlined.
- ``llamacpp``: llama.cpp's grammar converter.

Every difference is reported as a ``SchemaChange``. A change is *lossy* when
the compiled schema accepts a different set of values than the original one
(a constraint dropped, an object closed); lossy changes raise
``SchemaCompileError`` unless ``allow_lossy=True``. The others only change
the spelling and become ``schema_changed`` warnings.

Two conventions keep "the same set of values" honest:

- The root is an object: tool arguments are always a JSON object, so giving
  an untyped root ``type: object`` changes nothing that can be sent.
- ``format`` is an annotation (JSON Schema 2020-12's default): dropping it is
  not lossy, and a provider that enforces it narrows nothing we promise.

OpenAI strict mode answers ``null`` for a left-out optional property;
``strip_added_nulls`` turns those back into absent properties before the
arguments are validated against the original schema.

A change's ``path`` points into the original schema. Inside a definition it
is the definition's own path (reported once however often it is inlined);
inside merged ``allOf`` branches, or a ``$ref`` target merged with keywords
beside it, it is the path of the node they were merged into.

Everything here is pure: no I/O, no environment, no global state. The input
is never changed, and the output is the same for the same input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ._schema._gemini import Gemini, GeminiOpenAPI
from ._schema._local import LlamaCpp, Ollama
from ._schema._nulls import strip_added_nulls
from ._schema._openai import OpenAIStrict, compile_openai
from ._schema._types import (
    TARGETS,
    ChangeKind,
    CompiledSchema,
    Recorder,
    SchemaChange,
    Target,
)
from ._schema._walker import Compiler
from .exceptions import SchemaCompileError

if TYPE_CHECKING:
    from ._model import RunWarning

__all__ = [
    "TARGETS",
    "ChangeKind",
    "CompiledSchema",
    "SchemaChange",
    "SchemaCompileError",
    "Target",
    "changes_to_warnings",
    "compile_for_openai",
    "compile_schema",
    "is_strict_compatible",
    "strip_added_nulls",
]

_COMPILERS: dict[str, type[Compiler]] = {
    "openai-strict": OpenAIStrict,
    "gemini": Gemini,
    "gemini-openapi": GeminiOpenAPI,
    "ollama": Ollama,
    "llamacpp": LlamaCpp,
}


def compile_schema(
    schema: Mapping[str, Any],
    target: Target,
    *,
    allow_lossy: bool = False,
    name: str | None = None,
) -> CompiledSchema:
    """Compile a JSON Schema 2020-12 for one provider's dialect.

    Args:
        schema: The tool's input schema (or an output schema); never changed.
        target: The dialect to write.
        allow_lossy: Accept changes that alter which values are valid (they
            are still reported in ``changes``).
        name: The tool's name, for messages.

    Returns:
        The compiled schema and every change made.

    Raises:
        SchemaCompileError: A lossy change was needed and ``allow_lossy`` is
            False; or the schema cannot be written for ``target`` at all (a
            remote ``$ref``, a non-object root for OpenAI, ...).
    """
    if target not in TARGETS:
        raise SchemaCompileError(f"unknown target {target!r}; one of {', '.join(TARGETS)}")
    rec = Recorder(target, name)
    if not isinstance(schema, Mapping):
        raise rec.fail("#", "a tool schema must be a JSON object")
    added: tuple[str, ...] = ()
    if target == "openai":
        out = compile_openai(dict(schema), rec)
    else:
        compiler = _COMPILERS[target](dict(schema), rec)
        out = compiler.run()
        if isinstance(compiler, OpenAIStrict):
            added = compiler.added_null_pointers(out)
    changes = tuple(rec.changes)
    lossy = [c for c in changes if c.lossy]
    if lossy and not allow_lossy:
        listed = "; ".join(f"{c.path}: {c.detail}" for c in lossy[:3])
        more = f" (and {len(lossy) - 3} more)" if len(lossy) > 3 else ""
        raise SchemaCompileError(
            f"{len(lossy)} change(s) would alter which values are accepted: {listed}{more}. "
            "Pass allow_lossy=True to accept them",
            changes=changes,
            tool=name,
            target=target,
        )
    return CompiledSchema(out, changes, target, target == "openai-strict", added)


def compile_for_openai(
    schema: Mapping[str, Any], *, allow_lossy: bool = False, name: str | None = None
) -> CompiledSchema:
    """Strict mode when the schema allows it, else plain ``openai`` (``strict=False``).

    Adapters call this: OpenAI Responses defaults to strict, so the result's
    ``strict`` says what to send. The fallback is recorded as a first change
    of kind ``strict_disabled`` saying why.

    Args:
        schema: The tool's input schema (or an output schema); never changed.
        allow_lossy: Passed to the strict attempt: accept lossy changes (such
            as closing open objects) to get strict mode.
        name: The tool's name, for messages.

    Returns:
        A ``openai-strict`` or ``openai`` compilation.

    Raises:
        SchemaCompileError: Even the non-strict dialect cannot take the schema.
    """
    try:
        return compile_schema(schema, "openai-strict", allow_lossy=allow_lossy, name=name)
    except SchemaCompileError as exc:
        fallback = compile_schema(schema, "openai", name=name)
        blockers = [c for c in exc.changes if c.lossy][:2]
        why = "; ".join(f"{c.path}: {c.detail}" for c in blockers) or str(exc)
        note = SchemaChange(
            "#",
            "strict_disabled",
            None,
            f"sent without strict mode because strict would change the schema ({why})",
            False,
        )
        return replace(fallback, changes=(note, *fallback.changes))


def is_strict_compatible(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` can be sent with OpenAI's ``strict: true`` without loss.

    The schema itself may need non-lossy rewriting (nullable optional fields,
    ``required`` lists); ``compile_schema(schema, "openai-strict")`` does it.
    """
    try:
        compile_schema(schema, "openai-strict")
    except SchemaCompileError:
        return False
    return True


def changes_to_warnings(
    compiled: CompiledSchema, *, tool: str | None, provider: str | None
) -> list[RunWarning]:
    """One ``schema_changed`` warning per change, for a run's result and the CLI.

    Args:
        compiled: A compilation.
        tool: The tool (or output) the schema belongs to.
        provider: The provider it is sent to.

    Returns:
        The warnings, in the order of ``compiled.changes``.
    """
    from ._model import RunWarning  # pydantic; kept off the compiler's import path

    where = f"tool {tool!r}" if tool else "schema"
    return [
        RunWarning(
            kind="schema_changed",
            message=f"{where}, {c.path}: {c.detail}"
            + (" (this changes which values are accepted)" if c.lossy else ""),
            feature=c.keyword or c.kind,
            provider=provider,
        )
        for c in compiled.changes
    ]
