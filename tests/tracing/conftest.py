"""Spans of traced runs, kept in memory: a tracer provider of our own, never the global one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from agentkit.tracing import instrument, uninstrument


class Spans:
    """The finished spans, looked up by name."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.all() if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, [s.name for s in self.all()]
        return found[0]


@pytest.fixture
def provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider, exporter
    uninstrument()
    tracer_provider.shutdown()


@pytest.fixture
def spans(provider: tuple[TracerProvider, InMemorySpanExporter]) -> Spans:
    """Runs are traced into memory; contents are not captured (the default)."""
    instrument(tracer_provider=provider[0])
    return Spans(provider[1])


class _Forward(SpanProcessor):
    """Hands spans to the current test's processor, or drops them between tests."""

    target: SpanProcessor | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.target is not None:
            self.target.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.target is not None:
            self.target.on_end(span)


_FORWARD = _Forward()
#: One global provider for the whole session: libraries' proxy tracers (the MCP
#: SDK's) bind to the first real provider they see and keep it.
_GLOBAL = TracerProvider()
_GLOBAL.add_span_processor(_FORWARD)


def _reset_global_provider() -> None:
    # What OpenTelemetry's own test utilities do (reset_trace_globals): the API
    # allows setting the global provider once per process otherwise.
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]


@pytest.fixture
def global_spans() -> Iterator[Spans]:
    """A global tracer provider, as ``agentkit run --trace`` sets, for this test only."""
    exporter = InMemorySpanExporter()
    _FORWARD.target = SimpleSpanProcessor(exporter)
    trace.set_tracer_provider(_GLOBAL)
    yield Spans(exporter)
    _FORWARD.target = None
    _reset_global_provider()
