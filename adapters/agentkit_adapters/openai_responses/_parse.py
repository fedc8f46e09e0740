"""Pure conversion of OpenAI Responses answers into agentkit's neutral types.

``from_responses_response`` reads a whole ``response`` object;
``ResponsesEventReader`` folds the typed stream events through
``StreamAccumulator``. Decisions, with the recordings in
``tests/fixtures/real_traffic/openai_responses`` that drive them:

- ``status: "incomplete"`` is ``length`` for ``max_output_tokens`` and
  ``content_filter`` for ``content_filter`` (``incomplete_max_output_tokens_*``),
  the reason kept as ``raw_finish_reason``. A completed answer is ``tool_calls``
  when it calls a tool, ``refusal`` when it only refuses (``refusal_*``), else
  ``stop``, with ``raw_finish_reason="completed"``.
- An error inside a 200 stream (``error``, then ``response.failed``:
  ``stream_error_insufficient_quota``) goes through the shared
  ``map_http_error`` with status 200; ``insufficient_quota`` is a
  ``RateLimitError``, as OpenAI sends it with HTTP 429 outside a stream (the
  same case's ``response_nonstream_429.json``).
- A ``custom_tool_call`` (``custom_tool_call``) is a ``ToolCallPart`` with
  ``arguments={"input": <raw text>}``, so a tool taking one string ``input``
  can run it; its streamed input is raw text, not JSON, so its one argument
  delta is sent when the item is done.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentkit import (
    FinishReason,
    Message,
    ModelResponse,
    Part,
    ReasoningDeltaEvent,
    ReasoningPart,
    RunWarning,
    StreamAccumulator,
    StreamEvent,
    TextPart,
    ToolCallPart,
    Usage,
)
from agentkit.adapter import (
    CompiledSchema,
    map_http_error,
    parse_tool_arguments,
    strip_added_nulls,
    unchecked,
)
from agentkit.exceptions import ProviderHTTPError, UnexpectedResponseError

from .._usage import exact_count
from ._wire import OutputItem, ResponsesEvent, ResponsesResponse

__all__ = [
    "ResponsesEventReader",
    "from_responses_response",
    "from_responses_usage",
    "map_responses_status",
    "responses_error",
]

_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}
_CALL_TYPES = frozenset({"function_call", "custom_tool_call"})
#: Summaries (OpenAI), raw reasoning as DeepSeek streams it (case
#: open_responses/deepseek_text_stream_reasoning_text), and as the Open Responses spec names it.
_REASONING_DELTAS = frozenset(
    {
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
        "response.reasoning.delta",
    }
)
#: Separates the parts of a reasoning summary in ``ReasoningPart.text``.
_SEPARATOR = "\n\n"


def map_responses_status(
    status: str | None, reason: str | None, *, has_tool_calls: bool, refused: bool
) -> FinishReason:
    """The normalised finish reason of a response's ``status`` and incomplete reason."""
    if status == "incomplete":
        return _INCOMPLETE.get(reason or "", "other")
    if status not in ("completed", None):
        return "other"
    if has_tool_calls:
        return "tool_calls"
    return "refusal" if refused else "stop"


def from_responses_usage(usage: Any) -> Usage | None:
    """``usage`` to ``Usage``; None when the provider reported none.

    Both totals already include their details (cached input, reasoning output),
    as agentkit's ``Usage`` wants (case ``reasoning_gpt5_json``: 1095 output
    tokens of which 1088 reasoning).
    """
    if not isinstance(usage, dict):
        return None
    cached = _field(usage.get("input_tokens_details"), "cached_tokens")
    # OpenRouter counts cache writes too (case open_responses/openrouter_prompt_cache_json:
    # 4012 of 4020 input tokens written), inside input_tokens as agentkit's Usage wants.
    written = _field(usage.get("input_tokens_details"), "cache_write_tokens")
    reasoning = _field(usage.get("output_tokens_details"), "reasoning_tokens")
    # Every value is an int >= 0 (exact_count), as unchecked() requires.
    return unchecked(
        Usage,
        input_tokens=exact_count(usage.get("input_tokens")),
        output_tokens=exact_count(usage.get("output_tokens")),
        cache_read_input_tokens=exact_count(cached),
        cache_creation_input_tokens=exact_count(written),
        reasoning_output_tokens=exact_count(reasoning),
    )


def _field(details: Any, name: str) -> Any:
    return details.get(name) if isinstance(details, dict) else None


def responses_error(provider: str, model_id: str, error: Any) -> ProviderHTTPError:
    """The exception for an error reported inside a 200 answer.

    Args:
        provider: Provider name for the error.
        model_id: The model asked.
        error: An ``error`` event (flat, as OpenAI documents it, or with a nested
            ``error`` object, as recorded) or a failed response's ``error``.

    Returns:
        The mapped error (the caller raises it).
    """
    if isinstance(error, dict) and isinstance(error.get("error"), dict):
        error = error["error"]
    elif isinstance(error, dict):
        error = {k: error[k] for k in ("code", "message", "type", "param") if k in error}
        if error.get("type") == "error":
            del error["type"]
    if not error:
        error = {"message": "the response failed without an error object"}
    return map_http_error(provider, model_id, 200, {}, {"error": error})


def _arguments(
    raw: Any, name: str, schemas: Mapping[str, CompiledSchema] | None
) -> tuple[dict[str, Any], str | None]:
    """Parsed arguments, with strict mode's stand-in nulls removed (``strip_added_nulls``)."""
    if raw is not None and not isinstance(raw, str | dict):
        return {}, json.dumps(raw)
    arguments, invalid = parse_tool_arguments(raw)
    compiled = schemas.get(name) if schemas else None
    if compiled is not None and invalid is None:
        arguments = strip_added_nulls(arguments, compiled)
    if arguments is raw:
        arguments = dict(arguments)  # a host's object: copied, as validation would
    return arguments, invalid


def _call(item: OutputItem, schemas: Mapping[str, CompiledSchema] | None) -> ToolCallPart:
    name = str(item.get("name") or "")
    if item.get("type") == "custom_tool_call":
        arguments, invalid = {"input": str(item.get("input") or "")}, None
    else:
        arguments, invalid = _arguments(item.get("arguments"), name, schemas)
    call_id = str(item.get("call_id") or item.get("id") or "")
    return unchecked(
        ToolCallPart, id=call_id, name=name, arguments=arguments, raw_arguments=invalid
    )


def _reasoning(item: OutputItem, provider: str, model: str) -> ReasoningPart:
    stamp = {"provider": provider, "model": model}
    summary = item.get("summary") or []
    text = _SEPARATOR.join(str(s.get("text", "")) for s in summary if isinstance(s, dict))
    if not text:
        # Open Responses hosts (DeepSeek, Bedrock: cases open_responses/deepseek_text_json,
        # bedrock_mantle_gpt_oss_json) give the raw reasoning as reasoning_text content.
        content = item.get("content") or []
        raw = (c for c in content if isinstance(c, dict) and c.get("type") == "reasoning_text")
        text = "".join(str(c.get("text") or "") for c in raw)
    signature = item.get("encrypted_content") or None
    fields = {"text": text or None, "signature": signature, "id": item.get("id"), **stamp}
    if not _str_or_none(signature, fields["id"]):
        return ReasoningPart(**fields)  # validation says what is wrong, as it always did
    return unchecked(ReasoningPart, **fields)


def _str_or_none(*values: Any) -> bool:
    """Whether values passed on as the wire gave them fit ``str | None`` fields exactly."""
    return all(value is None or type(value) is str for value in values)


def _unknown_item(kind: str, provider: str) -> RunWarning:
    message = f"an output item of type {kind!r} was left out: agentkit has no part for it"
    return RunWarning(kind="unsupported_feature", feature=kind, provider=provider, message=message)


def from_responses_response(
    body: Any,
    *,
    provider: str,
    model_id: str,
    warnings: list[RunWarning] | None = None,
    schemas: Mapping[str, CompiledSchema] | None = None,
) -> ModelResponse:
    """A whole ``response`` object to a ``ModelResponse``.

    Args:
        body: The parsed JSON body.
        provider: Provider name for the response.
        model_id: The model asked; the body's ``model`` wins when present.
        warnings: Request warnings to carry on the response.
        schemas: Compiled strict tool schemas whose nulls must be stripped.

    Returns:
        The neutral response, parts in output order.

    Raises:
        ProviderHTTPError: the response failed, or the body is an error object.
        UnexpectedResponseError: the body is not a response.
    """
    if not isinstance(body, dict) or not isinstance(body.get("output", []), list):
        raise UnexpectedResponseError(
            f"expected a response object, got {json.dumps(body, default=str)[:300]}",
            provider=provider,
            model_id=model_id,
        )
    response: ResponsesResponse = body  # type: ignore[assignment]
    if response.get("status") == "failed" or ("output" not in body and body.get("error")):
        raise responses_error(provider, model_id, response.get("error"))
    answered_by = str(response.get("model") or model_id)
    out_warnings = list(warnings or [])
    parts: list[Part] = []
    refusals: list[str] = []
    has_calls = False
    for item in response.get("output") or ():
        kind = item.get("type")
        if kind == "message":
            text = ""
            for content in item.get("content") or ():
                if content.get("type") == "output_text":
                    text += str(content.get("text") or "")
                elif content.get("type") == "refusal":
                    refusals.append(str(content.get("refusal") or ""))
            if text:
                parts.append(unchecked(TextPart, text=text))
        elif kind in _CALL_TYPES:
            has_calls = True
            parts.append(_call(item, schemas))
        elif kind == "reasoning":
            parts.append(_reasoning(item, provider, answered_by))
        else:
            out_warnings.append(_unknown_item(str(kind), provider))
    status = response.get("status")
    reason = _field(response.get("incomplete_details"), "reason")
    refusal = "".join(refusals) or None
    fields: dict[str, Any] = {
        "message": unchecked(Message, role="assistant", parts=parts),
        "finish_reason": map_responses_status(
            status, reason, has_tool_calls=has_calls, refused=refusal is not None
        ),
        "raw_finish_reason": reason or status,
        "usage": from_responses_usage(response.get("usage")),
        "provider": provider,
        "model_id": answered_by,
        "response_id": response.get("id"),
        "refusal": refusal,
        "warnings": out_warnings,
    }
    # Every value is coerced to its field's type but the two passed on from the wire:
    # those are checked here, and anything else goes through validation, as before.
    if not _str_or_none(fields["raw_finish_reason"], fields["response_id"]):
        return ModelResponse(**fields)
    return unchecked(ModelResponse, **fields)


class ResponsesEventReader:
    """Folds typed Responses stream events into neutral stream events.

    Call ``feed`` with each parsed ``data:`` payload, then ``finish`` once the
    body ends. The event's ``type`` field decides; the SSE ``event:`` name is
    the fallback (vercel/ai's recordings keep only the ``data:`` lines). Tool
    calls are numbered in the order they start, whatever their ``output_index``.

    Args:
        provider: Provider name for events and errors.
        model_id: The model asked; ``response.created`` names the one answering.
        warnings: Request warnings to carry on the final response.
        schemas: Compiled strict tool schemas whose nulls must be stripped.
    """

    def __init__(
        self,
        provider: str,
        model_id: str,
        *,
        warnings: list[RunWarning] | None = None,
        schemas: Mapping[str, CompiledSchema] | None = None,
    ) -> None:
        self._acc = StreamAccumulator(provider, model_id)
        self._schemas = schemas
        self._calls: dict[int, int] = {}  # output_index -> call index
        self._fragments: set[int] = set()  # call indexes that got argument deltas
        self._deltas: set[int] = set()  # output indexes that got text or refusal deltas
        self._summary: dict[int, int] = {}  # output index -> last summary_index streamed
        self._refused = False
        self.final: ResponsesResponse | None = None
        self.warnings = list(warnings or [])

    @property
    def done(self) -> bool:
        """Whether the terminal event (completed or incomplete) has arrived."""
        return self.final is not None

    def feed(self, payload: Mapping[str, Any], event_name: str = "") -> list[StreamEvent]:
        """The events one parsed payload adds (the first also starts the response).

        Raises:
            ProviderHTTPError: an ``error`` event or ``response.failed``.
        """
        event: ResponsesEvent = payload  # type: ignore[assignment]
        kind = event.get("type") or event_name
        acc = self._acc
        if kind == "response.output_text.delta" and acc.started:
            # The common event, first and alone: a text delta once the response has started.
            self._deltas.add(event.get("output_index", 0))
            delta = event.get("delta")
            return acc.add_text(delta) if delta else []
        events: list[StreamEvent] = []
        if not acc.started:
            started = event.get("response") or {}
            events.append(acc.start(started.get("id"), started.get("model")))
        index = event.get("output_index", 0)
        if kind == "response.output_text.delta":
            self._deltas.add(index)
            events += acc.add_text(event.get("delta") or "")
        elif kind == "response.function_call_arguments.delta":
            call = self._calls.get(index)
            if call is not None and event.get("delta"):
                self._fragments.add(call)
                events += acc.add_arguments(call, event.get("delta") or "")
        elif kind in _REASONING_DELTAS:
            events += self._reasoning_delta(index, event)
        elif kind == "response.refusal.delta":
            self._deltas.add(index)
            self._refused = True
            events += acc.add_refusal(event.get("delta") or "")
        elif kind == "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") in _CALL_TYPES:
                events += self._start_call(index, item)
        elif kind == "response.output_item.done":
            events += self._item_done(index, event.get("item") or {})
        elif kind in ("response.completed", "response.incomplete"):
            self.final = event.get("response") or {}
        elif kind == "response.failed":
            final = event.get("response") or {}
            raise responses_error(acc.provider, acc.model_id, final.get("error"))
        elif kind == "error":
            raise responses_error(acc.provider, acc.model_id, dict(event))
        # Anything else (content_part.*, *.done echoes, in_progress, custom tool
        # input deltas, built-in tools' progress) adds nothing the items do not.
        return events

    def _reasoning_delta(self, index: int, event: ResponsesEvent) -> list[StreamEvent]:
        delta = event.get("delta") or ""
        if not delta:
            return []
        part = event.get("summary_index", 0)
        previous = self._summary.get(index)
        self._summary[index] = part
        if previous is not None and previous != part:
            delta = _SEPARATOR + delta
        return [ReasoningDeltaEvent(text=delta)]

    def _start_call(self, index: int, item: OutputItem) -> list[StreamEvent]:
        call = len(self._calls)
        self._calls[index] = call
        call_id = str(item.get("call_id") or item.get("id") or "")
        return self._acc.start_call(call, call_id, str(item.get("name") or ""))

    def _item_done(self, index: int, item: OutputItem) -> list[StreamEvent]:
        acc = self._acc
        kind = item.get("type")
        events: list[StreamEvent] = []
        if kind == "message" and index not in self._deltas:
            # Only the finished item carried the content (no deltas): take it from there.
            for content in item.get("content") or ():
                if content.get("type") == "output_text":
                    events += acc.add_text(str(content.get("text") or ""))
                elif content.get("type") == "refusal":
                    self._refused = True
                    events += acc.add_refusal(str(content.get("refusal") or ""))
        elif kind in _CALL_TYPES:
            if index not in self._calls:
                events += self._start_call(index, item)
            call, part = self._calls[index], _call(item, self._schemas)
            raw = item.get("arguments")
            if kind == "custom_tool_call":
                events += acc.add_arguments(call, json.dumps(part.arguments))
            elif call not in self._fragments and isinstance(raw, str):
                events += acc.add_arguments(call, raw)  # the whole arguments came only now
            invalid = part.raw_arguments
            events += acc.end_call(call, part.arguments if invalid is None else invalid)
        elif kind == "reasoning":
            reasoning = _reasoning(item, acc.provider, acc.model_id)
            if index not in self._summary and reasoning.text:
                events.append(ReasoningDeltaEvent(text=reasoning.text))
            acc.add_part(reasoning)
        elif kind != "message":
            self.warnings.append(_unknown_item(str(kind), acc.provider))
        return events

    def finish(self) -> list[StreamEvent]:
        """Close open tool calls and return them with the ``ResponseEndEvent``.

        Raises:
            UnexpectedResponseError: the stream was empty or ended before
                ``response.completed`` / ``response.incomplete``.
        """
        acc = self._acc
        final = self.final
        if final is None:
            what = "was empty" if not acc.started else "ended before the response was complete"
            raise UnexpectedResponseError(
                f"the stream {what} (no response.completed or response.incomplete)",
                provider=acc.provider,
                model_id=acc.model_id,
            )
        status = final.get("status")
        reason = _field(final.get("incomplete_details"), "reason")
        if status is None:
            status = "incomplete" if reason else "completed"
        return acc.finish(
            map_responses_status(
                status, reason, has_tool_calls=bool(self._calls), refused=self._refused
            ),
            raw_finish_reason=reason or status,
            usage=from_responses_usage(final.get("usage")),
            warnings=self.warnings,
        )
