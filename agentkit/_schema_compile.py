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

Everything here is pure: no I/O, no environment, no global state, except
``compile_schema_cached``'s bounded memo of results (which returns what
``compile_schema`` would). The input is never changed, and the output is the
same for the same input.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ._schema._nulls import strip_added_nulls
from ._schema._openai import OpenAIStrict, compile_openai
from ._schema._shape import check_shapes
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
    "compile_schema_cached",
    "is_strict_compatible",
    "strip_added_nulls",
]


def _compiler(target: str) -> type[Compiler]:
    # The other dialects' compilers are imported when first asked for: an
    # OpenAI run never loads Gemini's or the local servers'.
    if target == "openai-strict":
        return OpenAIStrict
    if target in ("gemini", "gemini-openapi"):
        from ._schema._gemini import Gemini, GeminiOpenAPI

        return Gemini if target == "gemini" else GeminiOpenAPI
    from ._schema._local import LlamaCpp, Ollama

    return {"ollama": Ollama, "llamacpp": LlamaCpp}[target]


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
    check_shapes(schema, rec)
    added: tuple[str, ...] = ()
    if target == "openai":
        out = compile_openai(dict(schema), rec)
    else:
        compiler = _compiler(target)(dict(schema), rec)
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
    schema: Mapping[str, Any],
    *,
    allow_lossy: bool = False,
    name: str | None = None,
    cache: bool = False,
) -> CompiledSchema:
    """Strict mode when the schema allows it, else plain ``openai`` (``strict=False``).

    The one rule both OpenAI APIs follow: a schema goes out strict whenever
    strict mode can take it (with ``allow_lossy``, also when that closes open
    objects), and the result's ``strict`` says what to send. The fallback is
    recorded as a first change of kind ``strict_disabled`` saying why.

    Args:
        schema: The tool's input schema (or an output schema); never changed.
        allow_lossy: Passed to the strict attempt: accept lossy changes (such
            as closing open objects) to get strict mode.
        name: The tool's name, for messages.
        cache: Compile through ``compile_schema_cached`` (a run sends the same
            schemas on every turn).

    Returns:
        A ``openai-strict`` or ``openai`` compilation.

    Raises:
        SchemaCompileError: Even the non-strict dialect cannot take the schema.
    """
    compile_ = compile_schema_cached if cache else compile_schema
    try:
        return compile_(schema, "openai-strict", allow_lossy=allow_lossy, name=name)
    except SchemaCompileError as exc:
        fallback = compile_(schema, "openai", name=name)
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


#: How many compilations ``compile_schema_cached`` keeps (least recently used go first).
CACHE_SIZE = 512

_CacheKey = tuple[str, str, bool, str | None]
_cache: OrderedDict[_CacheKey, CompiledSchema | SchemaCompileError] = OrderedDict()
# The local model's adapter compiles on worker threads: OrderedDict's reordering is
# not atomic, so the memo's bookkeeping is done under a lock.
_cache_lock = threading.Lock()


def compile_schema_cached(
    schema: Mapping[str, Any],
    target: Target,
    *,
    allow_lossy: bool = False,
    name: str | None = None,
) -> CompiledSchema:
    """``compile_schema``, remembered: the same request is compiled once per process.

    A run sends the same tool schemas on every turn, and compiling one costs
    around 0.1 ms, several times the rest of building a request. The key is
    everything the result depends on: the schema's content (its JSON, key order
    included, since the compiled schema keeps that order), the target,
    ``allow_lossy`` and the tool name (which the changes and errors name).
    Two equal schemas share an entry whatever object holds them, and a schema
    changed in place is a new key. Failures are remembered too, and raised
    afresh each time. The memo keeps the last ``CACHE_SIZE`` results.

    The compiled schema is shared by every caller that gets it: treat it as
    read-only (copy it before changing it).

    Args:
        schema: The tool's input schema (or an output schema); never changed.
        target: The dialect to write.
        allow_lossy: Accept changes that alter which values are valid.
        name: The tool's name, for messages.

    Returns:
        What ``compile_schema`` returns for these arguments.

    Raises:
        SchemaCompileError: as ``compile_schema`` does.
    """
    try:
        content = json.dumps(schema, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        # Not JSON (a stray Python object or NaN in it): no stable key, compile as is.
        return compile_schema(schema, target, allow_lossy=allow_lossy, name=name)
    key = (content, target, allow_lossy, name)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
    if found is None:
        try:
            found = compile_schema(schema, target, allow_lossy=allow_lossy, name=name)
        except SchemaCompileError as exc:
            found = exc.with_traceback(None)
        with _cache_lock:
            _cache[key] = found
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if isinstance(found, SchemaCompileError):
        raise _fresh(found)
    return found


def _fresh(error: SchemaCompileError) -> SchemaCompileError:
    # One exception object raised again and again would pile up tracebacks and
    # context across unrelated calls: each caller gets its own copy.
    copy = SchemaCompileError.__new__(SchemaCompileError)
    copy.__dict__.update(error.__dict__)
    copy.args = error.args
    return copy


def is_strict_compatible(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` can be sent with OpenAI's ``strict: true`` without loss.

    The schema itself may need non-lossy rewriting (nullable optional fields,
    ``required`` lists); ``compile_schema(schema, "openai-strict")`` does it.
    """
    try:
        compile_schema_cached(schema, "openai-strict")
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
    # pydantic; kept off the compiler's import path
    from ._model import RunWarning
    from ._trusted import build

    where = f"tool {tool!r}" if tool else "schema"
    # Built from strings made here: validating them would build RunWarning's
    # validator on a process's first run, a few milliseconds, for nothing.
    return [
        build(
            RunWarning,
            kind="schema_changed",
            message=f"{where}, {c.path}: {c.detail}"
            + (" (this changes which values are accepted)" if c.lossy else ""),
            feature=c.keyword or c.kind,
            provider=provider,
        )
        for c in compiled.changes
    ]
