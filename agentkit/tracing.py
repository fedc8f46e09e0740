"""OpenTelemetry tracing of runs, following the GenAI semantic conventions.

Runs are traced as soon as a tracer provider is configured: set one globally
(``opentelemetry.trace.set_tracer_provider``), pass one to ``instrument``, or
let ``setup_tracing`` install one that exports over OTLP or to the console
(``agentkit run --trace otlp|console``). Nothing is exported otherwise.

A run gives an ``invoke_agent {agent}`` span with a ``chat {model}`` child per
model call and an ``execute_tool {tool}`` child per tool call; MCP tool calls
carry the trace to the server in ``params._meta``. ``inject_trace_context`` and
``extract_trace_context`` do the same for other protocols (A2A, HTTP).

Needs the ``otel`` extra: ``pip install 'agentkit-interop[otel]'``.
"""

from __future__ import annotations

try:
    from ._tracing import (
        extract_trace_context,
        inject_trace_context,
        instrument,
        setup_tracing,
        uninstrument,
    )
except ImportError as exc:  # pragma: no cover - the dev environment has the extra
    raise ImportError(
        f"agentkit.tracing needs OpenTelemetry ({exc}): pip install 'agentkit-interop[otel]'"
    ) from exc

__all__ = [
    "extract_trace_context",
    "inject_trace_context",
    "instrument",
    "setup_tracing",
    "uninstrument",
]
