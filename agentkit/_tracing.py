"""OpenTelemetry GenAI spans for runs, read from the run's own events.

A run is a stream of events (``_result.py``); tracing is one more reader of
that stream. ``traced`` wraps a run's event generator and turns what passes
through into spans that follow the GenAI semantic conventions (Development
status, the ``gen_ai_latest_experimental`` flavour, now kept in
``open-telemetry/semantic-conventions-genai``):

``invoke_agent {agent}`` (INTERNAL) around the run; ``chat {model}`` (CLIENT)
per model call, current while the adapter works so that HTTP instrumentation
nests under it; ``execute_tool {tool}`` (INTERNAL) per tool call, opened when
the runner starts the call (``tool_scope``) and current while the tool runs,
so whatever the tool calls (an MCP server, a remote A2A agent, a nested run)
is its child.

MCP needs nothing here: the official SDK (``mcp`` 2.3+) makes the MCP
conventions' spans itself with the global tracer provider, a CLIENT span per
request whose context it writes into ``params._meta`` (SEP-414) and a SERVER
span that continues it. A2A's SDK propagates nothing, so ``agentkit.a2a``
does it with ``inject_trace_context`` / ``extract_trace_context``.

Message contents are recorded only when asked for (``instrument(capture_content=True)``
or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``). This module
imports OpenTelemetry at the top: the runner and the MCP code import it only
once ``opentelemetry.trace`` is loaded, which is what keeps ``import agentkit``
and untraced runs free of it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import aclosing, contextmanager
from typing import TYPE_CHECKING, Any, Literal, assert_never

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

from . import __version__
from ._messages import (
    AudioPart,
    ImagePart,
    Message,
    ReasoningPart,
    ResourcePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from ._model import ResponseEndEvent
from ._output import FINAL_RESULT_TOOL
from ._result import (
    EscalationEvent,
    RetryEvent,
    RunEndEvent,
    RunEvent,
    RunStartEvent,
    ToolResultEvent,
    TurnStartEvent,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider

    from ._runner import _Run

__all__ = [
    "extract_trace_context",
    "flush_on_sigterm",
    "inject_trace_context",
    "instrument",
    "setup_tracing",
    "tool_scope",
    "traced",
    "uninstrument",
]

_SCOPE = "agentkit"
#: Where a traced step's context keeps its run's spans, for ``tool_scope``.
_RUN_SPANS = otel_context.create_key("agentkit.run_spans")
_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

#: Our provider names as the conventions' ``gen_ai.provider.name`` spells them;
#: the others (ollama, llamacpp, a third party's) are passed through as they are.
_PROVIDERS = {
    "gemini": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "mistral": "mistral_ai",
    "xai": "x_ai",
}


class _Settings:
    tracer_provider: TracerProvider | None = None
    capture_content: bool | None = None


def instrument(
    *, tracer_provider: TracerProvider | None = None, capture_content: bool | None = None
) -> None:
    """Trace every run from now on, with these settings.

    Runs are traced without calling this as soon as a global tracer provider
    is set (``opentelemetry.trace.set_tracer_provider``); call it to use a
    provider of your own instead, or to choose whether contents are recorded.

    Args:
        tracer_provider: The provider to make spans with; None uses the global one.
        capture_content: Record messages, instructions and tool arguments and
            results on spans. None reads ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
            (``true`` turns it on); off by default, as contents may be sensitive.
    """
    _Settings.tracer_provider = tracer_provider
    _Settings.capture_content = capture_content


def uninstrument() -> None:
    """Forget what ``instrument`` set: back to the global provider and the environment."""
    instrument()


def _tracer() -> Tracer | None:
    """The tracer to use, or None when no tracer provider is configured."""
    provider = _Settings.tracer_provider or trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return provider.get_tracer(_SCOPE, __version__)


def _capture() -> bool:
    if _Settings.capture_content is not None:
        return _Settings.capture_content
    return os.environ.get(_CONTENT_ENV, "").strip().lower() == "true"


def setup_tracing(exporter: Literal["otlp", "console"]) -> SDKTracerProvider:
    """Install a global tracer provider that exports every span (the CLI's ``--trace``).

    Args:
        exporter: ``"otlp"`` sends OTLP over HTTP/protobuf to
            ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``;
            default ``http://127.0.0.1:4318``); ``"console"`` prints spans to stderr.

    Returns:
        The SDK ``TracerProvider``; call its ``shutdown()`` before exiting so
        that batched spans are sent.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    provider = SDKTracerProvider(resource=Resource.create({"service.name": "agentkit"}))
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The exporter's own default is localhost:4318; name the address, as
        # "localhost" may resolve to ::1 where a collector listens on IPv4 only.
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if endpoint is None:
            base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
            endpoint = base.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    else:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    trace.set_tracer_provider(provider)
    return provider


def flush_on_sigterm(provider: SDKTracerProvider) -> None:
    """Send the batched spans before a SIGTERM ends the process (``agentkit serve --trace``).

    uvicorn stops serving on SIGTERM and then raises the signal again, so that
    the process dies of it: no ``finally`` and no ``atexit`` runs after that.
    This handler, restored by uvicorn when it is done, shuts the provider down
    (exporting what is batched) and then lets the signal do what it did before.
    """
    import signal

    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        provider.shutdown()
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)


def inject_trace_context(carrier: dict[str, Any]) -> dict[str, Any]:
    """Write the current trace context (``traceparent``, ``tracestate``) into ``carrier``.

    For protocols that carry it in a property bag: MCP's ``params._meta``, an
    A2A message's ``metadata``, HTTP headers. Uses the configured propagators
    (W3C Trace Context and Baggage unless ``OTEL_PROPAGATORS`` says otherwise).

    Returns:
        ``carrier``, for chaining; unchanged when no span is current.
    """
    propagate.inject(carrier)
    return carrier


def extract_trace_context(carrier: Mapping[str, Any] | None) -> otel_context.Context:
    """The context a peer sent in ``carrier`` (see ``inject_trace_context``).

    Pass it as ``context=`` to ``start_span`` / ``start_as_current_span`` so the
    work done here joins the caller's trace. Non-string values are ignored.
    """
    strings = {k: v for k, v in (carrier or {}).items() if isinstance(v, str)}
    return propagate.extract(strings)


def _provider_name(provider: str) -> str:
    return _PROVIDERS.get(provider, provider)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _content_parts(message: Message) -> list[dict[str, Any]]:
    """A message's parts in the conventions' message schema (``gen_ai.input.messages``)."""
    parts: list[dict[str, Any]] = []
    for part in message.parts:
        match part:
            case TextPart():
                parts.append({"type": "text", "content": part.text})
            case ReasoningPart():
                parts.append({"type": "reasoning", "content": part.text or ""})
            case ToolCallPart():
                call = {"type": "tool_call", "id": part.id, "name": part.name}
                parts.append({**call, "arguments": part.arguments})
            case ToolResultPart():
                parts.append(
                    {"type": "tool_call_response", "id": part.call_id, "response": part.text}
                )
            case ImagePart() | AudioPart() | ResourcePart():
                # Their kind and media type, never their bytes (a generic part:
                # the schema's blob part requires the content).
                parts.append({"type": part.type, "mime_type": part.media_type})
            case _:
                assert_never(part)
    return parts


def _messages_json(messages: list[Message]) -> str:
    return _json(
        [{"role": m.role, "parts": _content_parts(m)} for m in messages if m.role != "system"]
    )


def _usage_attributes(usage: Usage) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
    }
    if usage.cache_read_input_tokens:
        attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cache_read_input_tokens
    if usage.cache_creation_input_tokens:
        attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_creation_input_tokens
    if usage.reasoning_output_tokens:
        attributes["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_output_tokens
    return attributes


def _fail(span: Span, exc: BaseException) -> None:
    span.set_attribute("error.type", type(exc).__qualname__)
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, str(exc)))


class _RunSpans:
    """The open spans of one run, moved on by each event."""

    def __init__(self, tracer: Tracer, run: _Run, stream: bool) -> None:
        self.tracer = tracer
        self.run = run
        self.stream = stream
        self.capture = _capture()
        agent = run.agent
        primary = run.adapters[0]
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent.name,
            "gen_ai.provider.name": _provider_name(primary.provider),
            "gen_ai.request.model": primary.model_id,
        }
        if agent.description:
            attributes["gen_ai.agent.description"] = agent.description
        self.root = tracer.start_span(
            f"invoke_agent {agent.name}", kind=SpanKind.INTERNAL, attributes=attributes
        )
        self.root_context = otel_context.set_value(
            _RUN_SPANS, self, trace.set_span_in_context(self.root)
        )
        self.tools: dict[str, Span] = {}
        self.chat: Span | None = None
        self.chat_context: otel_context.Context | None = None
        self.turn_pending = False
        self.step_started = 0
        self.round_started: int | None = None

    def context(self) -> otel_context.Context:
        """The context the runner's next step runs in: the model call's, or the run's."""
        if self.turn_pending:
            self.turn_pending = False
            self._open_chat()
        return self.chat_context if self.chat_context is not None else self.root_context

    def _open_chat(self) -> None:
        adapter = self.run.adapters[0]
        settings = self.run.settings
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": _provider_name(adapter.provider),
            "gen_ai.request.model": adapter.model_id,
            "gen_ai.request.stream": self.stream,
        }
        for key, value in (
            ("gen_ai.request.max_tokens", settings.max_tokens),
            ("gen_ai.request.temperature", settings.temperature),
            ("gen_ai.request.top_p", settings.top_p),
            ("gen_ai.request.stop_sequences", settings.stop),
            ("gen_ai.request.seed", settings.seed),
        ):
            if value is not None:
                attributes[key] = value
        if self.capture:
            attributes["gen_ai.input.messages"] = _messages_json(self.run.fold.messages)
            if self.run.agent.instructions:
                attributes["gen_ai.system_instructions"] = _json(
                    [{"type": "text", "content": self.run.agent.instructions}]
                )
        self.chat = self.tracer.start_span(
            f"chat {adapter.model_id}",
            context=self.root_context,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        self.chat_context = trace.set_span_in_context(self.chat, self.root_context)

    def open_tool(self, call: ToolCallPart, start_time: int | None = None) -> Span:
        """The ``execute_tool`` span of ``call``, started now; its result event ends it."""
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
            "gen_ai.tool.type": "function",
        }
        if self.capture:
            attributes["gen_ai.tool.call.arguments"] = _json(call.arguments)
        span = self.tracer.start_span(
            f"execute_tool {call.name}",
            context=self.root_context,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=start_time,
        )
        self.tools[call.id] = span
        return span

    def add(self, event: RunEvent) -> None:
        """Move the spans on by one event."""
        if isinstance(event, ToolResultEvent):
            if self.round_started is None:
                # The tools of a round all start in the step that yields its
                # first result: the runner runs them before yielding any.
                self.round_started = self.step_started
            self._tool(event, self.round_started)
            return
        self.round_started = None
        if isinstance(event, TurnStartEvent):
            self.turn_pending = True
        elif isinstance(event, ResponseEndEvent):
            self._response(event)
        elif isinstance(event, RetryEvent):
            span = self.chat or self.root
            attributes: dict[str, Any] = {
                "error.type": event.error,
                "exception.message": event.message,
            }
            if event.status_code is not None:
                attributes["http.response.status_code"] = event.status_code
            span.add_event("gen_ai.retry", attributes)
        elif isinstance(event, EscalationEvent):
            # A run-level move (the rest of the run changes model), so on the
            # agent's span; the discarded call's own span has ended by now.
            self.root.add_event(
                "agentkit.escalation",
                {
                    "agentkit.escalation.turn": event.turn,
                    "agentkit.escalation.from_model": event.from_model,
                    "agentkit.escalation.to_model": event.to_model,
                    "agentkit.escalation.condition": event.condition,
                    "agentkit.escalation.detail": event.detail,
                },
            )
        elif isinstance(event, RunStartEvent):
            if self.capture:
                self.root.set_attribute("gen_ai.input.messages", _messages_json(event.messages))
        elif isinstance(event, RunEndEvent):
            self._end(event)

    def _response(self, event: ResponseEndEvent) -> None:
        response = event.response
        span = self.chat
        if span is None:  # pragma: no cover - a response always follows a turn start
            return
        attributes: dict[str, Any] = {
            "gen_ai.response.model": response.model_id,
            "gen_ai.response.finish_reasons": [response.finish_reason],
        }
        if response.response_id:
            attributes["gen_ai.response.id"] = response.response_id
        if response.usage is not None:
            attributes.update(_usage_attributes(response.usage))
        if response.provider != self.run.adapters[0].provider:
            # A fallback answered: the span says who did.
            attributes["gen_ai.provider.name"] = _provider_name(response.provider)
        if self.capture:
            output = {
                "role": "assistant",
                "parts": _content_parts(response.message),
                "finish_reason": response.finish_reason,
            }
            attributes["gen_ai.output.messages"] = _json([output])
        span.set_attributes(attributes)
        span.end()
        self.chat = None
        self.chat_context = None

    def _tool(self, event: ToolResultEvent, started: int) -> None:
        call, result = event.call, event.result
        if call.name == FINAL_RESULT_TOOL:
            return  # the answer itself, handed over as a call: nothing ran
        span = self.tools.pop(call.id, None)
        if span is None:
            # Not opened by tool_scope: timed from the step that produced it.
            span = self.open_tool(call, started)
            del self.tools[call.id]
        start = getattr(span, "start_time", None) or started
        if self.capture and not result.is_error:
            payload = result.structured_content
            span.set_attribute(
                "gen_ai.tool.call.result", _json(payload) if payload is not None else result.text
            )
        if result.is_error:
            # What the model was told; the exception itself, if any, stayed in the tool.
            span.set_attribute("error.type", "tool_error")
            span.set_status(Status(StatusCode.ERROR, result.text))
        span.end(end_time=start + int(event.duration_ms * 1_000_000))

    def _end(self, event: RunEndEvent) -> None:
        result = event.result
        attributes = _usage_attributes(result.usage)
        if result.finish_reason is not None:
            attributes["gen_ai.response.finish_reasons"] = [result.finish_reason]
        if self.capture:
            text = result.output if isinstance(result.output, str) else _json(result.output)
            output = {"role": "assistant", "parts": [{"type": "text", "content": text}]}
            attributes["gen_ai.output.messages"] = _json([output])
        self.root.set_attributes(attributes)

    def fail(self, exc: BaseException) -> None:
        if self.chat is not None:
            # A failed model call reaches us as ModelCallError; the model call's
            # own span names what the adapter raised (AuthenticationError, ...).
            cause = getattr(exc, "cause", None)
            _fail(self.chat, cause if isinstance(cause, BaseException) else exc)
        _fail(self.root, exc)

    def close(self) -> None:
        if self.chat is not None:
            self.chat.end()
            self.chat = None
        for span in self.tools.values():
            span.end()  # a call cut short: the run failed or was stopped meanwhile
        self.tools.clear()
        self.root.end()


@contextmanager
def tool_scope(call: ToolCallPart) -> Iterator[None]:
    """Run one tool call inside its ``execute_tool`` span (the runner wraps each call).

    The span is opened here, when the call starts, and made current while the
    tool runs, so an MCP request, an A2A call or a nested run the tool makes is
    its child; the call's result event sets its outcome and ends it. Outside a
    traced run this does nothing.
    """
    spans = otel_context.get_value(_RUN_SPANS)
    if not isinstance(spans, _RunSpans) or call.name == FINAL_RESULT_TOOL:
        yield
        return
    span = spans.open_tool(call)
    token = otel_context.attach(trace.set_span_in_context(span, spans.root_context))
    try:
        yield
    finally:
        otel_context.detach(token)


def traced(
    run: _Run, events: AsyncGenerator[RunEvent, None], stream: bool
) -> AsyncGenerator[RunEvent, None]:
    """``events`` with spans made from them, or ``events`` itself when no provider is set."""
    tracer = _tracer()
    if tracer is None:
        return events
    return _traced(tracer, run, stream, events)


async def _traced(
    tracer: Tracer, run: _Run, stream: bool, events: AsyncGenerator[RunEvent, None]
) -> AsyncGenerator[RunEvent, None]:
    # Opened here, not in traced(): a generator closed before its first step
    # runs no finally, and its span would never end.
    spans = _RunSpans(tracer, run, stream)
    try:
        async with aclosing(events):
            while True:
                # The run's own code (the adapter's HTTP call, a tool, an MCP
                # request) runs inside __anext__: give it the open span as
                # its context, and take it back before the caller runs again.
                token = otel_context.attach(spans.context())
                spans.step_started = time.time_ns()
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    break
                finally:
                    otel_context.detach(token)
                spans.add(event)
                yield event
    except GeneratorExit:
        raise  # the caller stopped reading: not an error of the run
    except BaseException as exc:
        spans.fail(exc)
        raise
    finally:
        spans.close()
