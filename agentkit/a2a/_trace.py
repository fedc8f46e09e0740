"""Trace context across A2A calls: W3C ``traceparent`` in the HTTP headers and the message.

The A2A specification ("Enterprise implementation: tracing") asks clients and
servers to propagate trace context through standard HTTP headers, W3C Trace
Context; ``a2a-sdk`` 1.3 makes spans of its own but propagates nothing
(a2aproject/a2a-python#168). So the client does both:

- the ``traceparent`` / ``tracestate`` headers on every HTTP request (the
  spec's way; what a proxy or an instrumented server understands), and
- the same fields in the outgoing ``Message.metadata``, which travel with the
  message itself: through a gateway that drops or rewrites headers, into a
  push notification, a queue, or a task store.

The server prefers the headers (a traced proxy in between rewrites them to its
own span, the closer parent) and falls back to the message's metadata.

Nothing here imports OpenTelemetry: each function does nothing unless
``opentelemetry.trace`` is already loaded, as in the runner.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

__all__ = ["continue_remote_trace", "current_trace_fields", "inject_trace_headers"]

_TRACEPARENT = "traceparent"


def _loaded() -> bool:
    return "opentelemetry.trace" in sys.modules


def current_trace_fields() -> dict[str, str]:
    """The current trace context as W3C fields (``traceparent``...); empty when there is none."""
    if not _loaded():
        return {}
    from opentelemetry import trace

    if not trace.get_current_span().get_span_context().is_valid:
        return {}  # untraced: leave the propagators unloaded
    from .._tracing import inject_trace_context

    return inject_trace_context({})


async def inject_trace_headers(request: httpx.Request) -> None:
    """An httpx request hook: the current trace context into the request's headers."""
    for key, value in current_trace_fields().items():
        request.headers[key] = value


@contextmanager
def continue_remote_trace(
    headers: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None
) -> Iterator[None]:
    """Make the caller's trace context current while the agent runs for it.

    Args:
        headers: The request's HTTP headers (lower-case names, as Starlette gives them).
        metadata: The A2A message's metadata.
    """
    if not _loaded():
        yield
        return
    carrier = headers if headers and _TRACEPARENT in headers else metadata
    if not carrier or _TRACEPARENT not in carrier:
        yield  # nothing sent: the run starts a trace of its own
        return
    from opentelemetry import context as otel_context

    from .._tracing import extract_trace_context

    token = otel_context.attach(extract_trace_context(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)
