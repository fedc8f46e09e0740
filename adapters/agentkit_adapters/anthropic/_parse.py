"""Pure conversion of Anthropic Messages answers into agentkit's neutral types.

``AnthropicStreamReader`` folds stream payloads into events through
``StreamAccumulator``; ``from_anthropic_response`` replays a whole
``message`` body through the same reader as the events a stream of it
would have held, so both paths build parts the same way. The recorded
quirks it handles (cases under ``tests/fixtures/real_traffic/anthropic``
and ``.../vertex/claude_*``):

- ``ping`` events anywhere, unknown event types (ignored, as the API's
  versioning policy asks) and JSON padded with spaces (``text_stream_sonnet4``);
- a ``tool_use`` block that starts with ``input: {}`` and continues as
  ``input_json_delta`` fragments cut anywhere, the first often ``""``
  (``parallel_tool_use_stream_then_tool_result``); an extra ``caller``
  field on the block (``single_tool_use_stream_then_tool_result``);
- ``thinking`` blocks with a ``signature`` and ``redacted_thinking`` blocks
  with opaque ``data``, kept as ``ReasoningPart`` s stamped with the
  provider (``thinking_signature_json_multi_turn``,
  ``redacted_thinking_json_multi_turn``);
- usage: ``message_start`` carries a placeholder ``output_tokens``; the
  totals come in ``message_delta.usage``, whose fields replace it (on
  Vertex that holds only ``output_tokens``, so the input counts stay from
  ``message_start``); ``input_tokens`` excludes cache reads and writes,
  which agentkit's ``input_tokens`` includes (``prompt_cache_write_then_read_system``);
- ``{"type": "error", "error": {...}}`` as a body or as an ``error`` event
  inside a 200 stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from agentkit import ReasoningPart, Usage
from agentkit.adapter import (
    FinishReason,
    ModelResponse,
    ReasoningDeltaEvent,
    ResponseEndEvent,
    RunWarning,
    StreamAccumulator,
    StreamEvent,
    map_http_error,
    unchecked,
)
from agentkit.exceptions import ContextLengthError, ProviderHTTPError, UnexpectedResponseError

from .._usage import exact_count
from ._wire import ContentBlock, MessagesResponse, StreamPayload

__all__ = [
    "AnthropicStreamReader",
    "from_anthropic_response",
    "from_anthropic_usage",
    "map_anthropic_error",
    "map_anthropic_stop_reason",
]

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    # Anthropic's safety classifiers stopping the answer (it carries no words of
    # the model's own declining, which agentkit's "refusal" is for): a content filter.
    "refusal": "content_filter",
    "pause_turn": "other",
}
#: Anthropic's words for a prompt over the context window (a plain 400 invalid_request_error).
_TOO_LONG = re.compile(r"prompt is too long|exceed context limit", re.IGNORECASE)


def map_anthropic_stop_reason(raw: str | None, *, has_tool_calls: bool = False) -> FinishReason:
    """Normalise a ``stop_reason``; unknown or missing words become ``other``."""
    reason = _STOP_REASONS.get(raw, "other") if raw else "other"
    return "tool_calls" if has_tool_calls and reason == "stop" else reason


def from_anthropic_usage(usage: Any) -> Usage | None:
    """``usage`` to ``Usage``, with cached tokens counted as input (OpenTelemetry's way).

    Anthropic's ``input_tokens`` counts only the tokens after the last cache
    breakpoint; cache reads and writes are apart. agentkit's ``input_tokens``
    is their sum, and the two cache fields say how much of it was cached.

    Args:
        usage: The wire ``usage`` object (or None).

    Returns:
        The usage, or None when the provider reported none.
    """
    if not isinstance(usage, dict) or not usage:
        return None
    read = exact_count(usage.get("cache_read_input_tokens"))
    written = exact_count(usage.get("cache_creation_input_tokens"))
    # Every value is an int >= 0 (exact_count), as unchecked() requires.
    return unchecked(
        Usage,
        input_tokens=exact_count(usage.get("input_tokens")) + read + written,
        output_tokens=exact_count(usage.get("output_tokens")),
        cache_read_input_tokens=read,
        cache_creation_input_tokens=written,
    )


def map_anthropic_error(
    provider: str,
    model_id: str,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    key_variable: str | None = None,
    base_url: str | None = None,
) -> ProviderHTTPError:
    """An error status or ``error`` event to agentkit's tree (``map_http_error`` plus one rule).

    The shared mapping decides by status and type: 401 ``authentication_error``
    is ``AuthenticationError``, 404 ``not_found_error`` ``ModelNotFoundError``,
    429 ``RateLimitError``, 529 ``overloaded_error`` (and an ``overloaded_error``
    inside a 200 stream) ``ServerError``, which the runner retries. Added here:
    a 400 saying the prompt is too long is a ``ContextLengthError``.
    """
    error = map_http_error(
        provider, model_id, status, headers, body, key_variable=key_variable, base_url=base_url
    )
    wire = error.body.get("error") if isinstance(error.body, dict) else None
    detail = str(wire.get("message") or "") if isinstance(wire, dict) else str(error.body or "")
    if status == 400 and _TOO_LONG.search(detail):
        return ContextLengthError(
            f"the conversation does not fit the model's context window: {detail} "
            "(shorten the history or choose a model with a larger window)",
            provider=provider,
            model_id=model_id,
            status_code=status,
            body=error.body,
            code=error.code,
        )
    return error


class _Thinking:
    __slots__ = ("signature", "text")

    def __init__(self, text: str, signature: str) -> None:
        self.text = [text] if text else []
        self.signature = signature


class AnthropicStreamReader:
    """Folds Messages stream payloads (or one whole answer) into neutral stream events.

    Call ``feed`` with each parsed SSE ``data:`` payload, then ``finish``.

    Args:
        provider: Provider name for events, errors and reasoning stamps.
        model_id: The model asked; ``message_start`` names the one that answered.
        warnings: Request warnings to carry on the final response.
        key_variable: The key's environment variable, named in authentication errors.
    """

    def __init__(
        self,
        provider: str,
        model_id: str,
        *,
        warnings: list[RunWarning] | None = None,
        key_variable: str | None = None,
    ) -> None:
        self._acc = StreamAccumulator(provider, model_id)
        self.provider = provider
        self.model_id = model_id
        self.key_variable = key_variable
        self.warnings = list(warnings or [])
        self.raw_stop_reason: str | None = None
        self.stopped = False
        self._usage: dict[str, Any] = {}
        self._calls: dict[int, int] = {}  # open tool_use blocks: block index -> call index
        self._call_count = 0
        self._inputs: dict[int, Any] = {}  # block index -> the input its start carried
        self._thinking: dict[int, _Thinking] = {}
        self._ignored: set[str] = set()

    def _unexpected(self, message: str) -> UnexpectedResponseError:
        return UnexpectedResponseError(message, provider=self.provider, model_id=self.model_id)

    def _ignore(self, kind: str) -> None:
        if kind not in self._ignored:
            self._ignored.add(kind)
            self.warnings.append(
                RunWarning(
                    kind="unsupported_feature",
                    feature=kind,
                    provider=self.provider,
                    message=f"{kind!r} content in the answer was left out: agentkit does not "
                    "read it from Anthropic",
                )
            )

    def feed(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        """The events one stream payload adds.

        Raises:
            ProviderHTTPError: the payload is an ``error`` event.
            UnexpectedResponseError: a block or delta has an impossible shape.
        """
        event: StreamPayload = payload  # type: ignore[assignment]
        kind = event.get("type")
        if kind == "content_block_delta" and "error" not in event and self._acc.started:
            # The common event, read without the generic dispatch: one text delta.
            delta = event.get("delta")
            if (
                type(delta) is dict
                and delta.get("type") == "text_delta"
                and type(event.get("index")) is int
            ):
                text = delta.get("text")
                return self._acc.add_text(text if type(text) is str else str(text or ""))
        if kind == "error" or "error" in event:
            raise map_anthropic_error(
                self.provider, self.model_id, 200, {}, dict(event), key_variable=self.key_variable
            )
        acc = self._acc
        if kind == "message_start":
            message = event.get("message") or {}
            self._usage = dict(message.get("usage") or {})
            return [acc.start(message.get("id"), message.get("model"))]
        if not acc.started:
            raise self._unexpected(f"the stream did not open with message_start: {kind!r}")
        if kind == "content_block_start":
            return self._start(self._index(event), event.get("content_block") or {})
        if kind == "content_block_delta":
            return self._delta(self._index(event), event.get("delta") or {})
        if kind == "content_block_stop":
            return self._stop(self._index(event))
        if kind == "message_delta":
            delta = event.get("delta") or {}
            if delta.get("stop_reason"):
                self.raw_stop_reason = str(delta["stop_reason"])
            # Cumulative totals: each field replaces message_start's (never added).
            self._usage.update(event.get("usage") or {})
        elif kind == "message_stop":
            self.stopped = True
        return []  # ping, and event types this reader does not know

    def _index(self, event: StreamPayload) -> int:
        index = event.get("index")
        if type(index) is not int:
            raise self._unexpected(f"a content block event without an index: {json.dumps(event)}")
        return index

    def _start(self, index: int, block: ContentBlock) -> list[StreamEvent]:
        kind = block.get("type")
        acc = self._acc
        if kind == "text":
            if block.get("citations"):  # a whole answer's; streams send citations_delta
                self._ignore("citations")
            return acc.add_text(str(block.get("text") or ""))
        if kind == "tool_use":
            self._calls[index] = call = self._call_count
            self._call_count += 1
            self._inputs[index] = block.get("input")
            return acc.start_call(call, str(block.get("id") or ""), str(block.get("name") or ""))
        if kind == "thinking":
            thinking = _Thinking(
                str(block.get("thinking") or ""), str(block.get("signature") or "")
            )
            self._thinking[index] = thinking
            return [ReasoningDeltaEvent(text=t) for t in thinking.text]
        if kind == "redacted_thinking":
            acc.add_part(self._reasoning(None, str(block.get("data") or "")))
            return []
        self._ignore(str(kind))
        return []

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[StreamEvent]:
        kind = delta.get("type")
        if kind == "text_delta":
            return self._acc.add_text(str(delta.get("text") or ""))
        if kind == "input_json_delta" and index in self._calls:
            fragment = str(delta.get("partial_json") or "")
            if fragment:  # the first one is often "" (and sends no event)
                self._inputs.pop(index, None)  # streamed fragments win over the start's input
            return self._acc.add_arguments(self._calls[index], fragment)
        thinking = self._thinking.get(index)
        if kind == "thinking_delta" and thinking is not None:
            text = str(delta.get("thinking") or "")
            if not text:
                return []
            thinking.text.append(text)
            return [ReasoningDeltaEvent(text=text)]
        if kind == "signature_delta" and thinking is not None:
            thinking.signature += str(delta.get("signature") or "")
            return []
        if kind == "citations_delta":
            self._ignore("citations")
        return []

    def _stop(self, index: int) -> list[StreamEvent]:
        call = self._calls.pop(index, None)
        if call is not None:
            start_input = self._inputs.pop(index, None)
            # A whole answer's block (or a streamed one without fragments) has its input.
            whole = start_input if isinstance(start_input, dict) and start_input else None
            return self._acc.end_call(call, whole)
        thinking = self._thinking.pop(index, None)
        if thinking is not None:
            part = self._reasoning("".join(thinking.text), thinking.signature or None)
            self._acc.add_part(part)
        return []

    def _reasoning(self, text: str | None, signature: str | None) -> ReasoningPart:
        acc = self._acc
        return ReasoningPart(
            text=text, signature=signature, provider=acc.provider, model=acc.model_id
        )

    def finish(self) -> list[StreamEvent]:
        """Close what is open and return it with the ``ResponseEndEvent``.

        Raises:
            UnexpectedResponseError: the stream was empty, or ended before
                ``message_delta`` / ``message_stop`` (it was cut short).
        """
        acc = self._acc
        if not acc.started or (self.raw_stop_reason is None and not self.stopped):
            what = "was empty" if not acc.started else "ended before message_stop"
            raise self._unexpected(f"the answer {what}: it was cut short or is not an answer")
        for index in sorted(self._thinking):
            self._stop(index)
        raw = self.raw_stop_reason
        return acc.finish(
            map_anthropic_stop_reason(raw, has_tool_calls=self._call_count > 0),
            raw_finish_reason=raw,
            usage=from_anthropic_usage(self._usage),
            warnings=self.warnings,
        )


def _replay(body: MessagesResponse) -> list[dict[str, Any]]:
    """A whole message as the stream payloads that would have carried it."""
    start = {k: v for k, v in body.items() if k != "content"}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(body.get("content") or ()):
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        events.append({"type": "content_block_stop", "index": index})
    delta = {"stop_reason": body.get("stop_reason"), "stop_sequence": body.get("stop_sequence")}
    events.append({"type": "message_delta", "delta": delta, "usage": body.get("usage") or {}})
    events.append({"type": "message_stop"})
    return events


def from_anthropic_response(
    body: Any,
    *,
    provider: str,
    model_id: str,
    warnings: list[RunWarning] | None = None,
    key_variable: str | None = None,
) -> ModelResponse:
    """A whole ``message`` body to a ``ModelResponse`` (the stream reader, fed its replay).

    Args:
        body: The parsed JSON body.
        provider: Provider name for the response.
        model_id: The model asked; the body's ``model`` names the one that answered.
        warnings: Request warnings to carry on the response.
        key_variable: The key's environment variable, named in authentication errors.

    Raises:
        ProviderHTTPError: the body is an ``error`` object.
        UnexpectedResponseError: the body is not a message.
    """
    reader = AnthropicStreamReader(provider, model_id, warnings=warnings, key_variable=key_variable)
    if not isinstance(body, dict):
        raise reader._unexpected(f"expected a JSON object, got {json.dumps(body)[:200]}")
    if body.get("type") == "error" or "error" in body:
        reader.feed(body)
    if not isinstance(body.get("content"), list):
        raise reader._unexpected(f"the answer has no content: {json.dumps(body)[:200]}")
    for event in _replay(body):  # type: ignore[arg-type]
        reader.feed(event)
    end = reader.finish()[-1]
    assert isinstance(end, ResponseEndEvent)
    return end.response
