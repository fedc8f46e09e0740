"""Pure conversion of OpenAI Chat Completions answers into agentkit's neutral types.

``from_openai_response`` reads a whole ``chat.completion``; ``OpenAIChunkReader``
folds ``chat.completion.chunk`` payloads into stream events through
``StreamAccumulator``. Both accept the OpenAI-compatible hosts' variations seen
in ``tests/fixtures/real_traffic`` (the case names are cited where they matter).
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
    map_error_body,
    parse_tool_arguments,
    strip_added_nulls,
    unchecked,
)
from agentkit.exceptions import UnexpectedResponseError

from .._usage import lenient_count
from ._wire import ChatChunk, ChatCompletion, ChatToolCallDelta

__all__ = [
    "OpenAIChunkReader",
    "finish_reason_for",
    "from_openai_response",
    "from_openai_usage",
    "map_openai_finish_reason",
    "new_call_id",
    "parse_arguments",
]

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",  # the pre-2024 single-function form
    "content_filter": "content_filter",
    # Words some OpenAI-compatible servers use instead.
    "eos": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "refusal",
    "error": "error",
}


def map_openai_finish_reason(raw: str | None) -> FinishReason:
    """Normalise a ``finish_reason``; unknown or missing words become ``other``."""
    return _FINISH_REASONS.get(raw, "other") if raw else "other"


def from_openai_usage(usage: Any) -> Usage | None:
    """``usage`` to ``Usage``, tolerating missing and null fields.

    Args:
        usage: The wire ``usage`` object (or None).

    Returns:
        The usage, or None when the provider reported none.
    """
    if not isinstance(usage, dict):
        return None
    # lenient_count's own test inline for the counts a host sends as it should (this
    # runs on every answer); anything else goes through lenient_count.
    prompt = usage.get("prompt_tokens")
    if type(prompt) is not int or prompt < 0:
        prompt = lenient_count(prompt)
    completion = usage.get("completion_tokens")
    if type(completion) is not int or completion < 0:
        completion = lenient_count(completion)
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if cached is None:
        # Together puts it at the top level; DeepSeek names it prompt_cache_hit_tokens.
        cached = usage.get("cached_tokens")
        if cached is None:
            cached = usage.get("prompt_cache_hit_tokens")
    if type(cached) is not int or cached < 0:
        cached = lenient_count(cached)
    details = usage.get("completion_tokens_details")
    reasoning = lenient_count(details.get("reasoning_tokens")) if isinstance(details, dict) else 0
    if reasoning and usage.get("total_tokens") == prompt + completion + reasoning:
        # xAI leaves reasoning out of completion_tokens (case openai_compatible/xai_tool_call:
        # 307 + 26 + 255 = 588); agentkit's output_tokens includes it, as OpenAI's does.
        completion += reasoning
    # Every value is an int >= 0 (lenient_count), as unchecked() requires.
    return unchecked(
        Usage,
        input_tokens=prompt,
        output_tokens=completion,
        cache_read_input_tokens=cached,
        reasoning_output_tokens=reasoning,
    )


def _snippet(value: Any) -> str:
    return json.dumps(value, default=str)[:300]


def new_call_id(position: int, response_id: str | None) -> str:
    """An id for a tool call the host sent without one (some local servers do)."""
    return f"call_{response_id or 'x'}_{position}"


def from_openai_response(
    body: Any,
    *,
    provider: str,
    model_id: str,
    warnings: list[RunWarning] | None = None,
    schemas: Mapping[str, CompiledSchema] | None = None,
) -> ModelResponse:
    """A whole ``chat.completion`` body to a ``ModelResponse``.

    Args:
        body: The parsed JSON body.
        provider: Provider name for the response.
        model_id: The model asked; the body's ``model`` wins when present.
        warnings: Request warnings to carry on the response.
        schemas: Strict tool schemas that made optional properties nullable,
            by tool name (``tools_with_added_nulls``): their nulls are stripped.

    Returns:
        The neutral response: reasoning (DeepSeek/xAI ``reasoning_content``),
        text and tool calls, in that order, and the refusal if any.

    Raises:
        ProviderHTTPError: the body is an ``error`` object.
        UnexpectedResponseError: the body has no usable choice.
    """
    if not isinstance(body, dict):
        raise UnexpectedResponseError(
            f"expected a JSON object, got {_snippet(body)}", provider=provider, model_id=model_id
        )
    completion: ChatCompletion = body  # type: ignore[assignment]
    if completion.get("error"):
        raise map_error_body(provider, model_id, completion)
    choices = completion.get("choices")
    if (
        not choices
        or not isinstance(choices[0], dict)
        or not isinstance(choices[0].get("message"), dict)
    ):
        raise UnexpectedResponseError(
            f"the response has no message: {_snippet(body)}", provider=provider, model_id=model_id
        )
    choice = choices[0]
    message = choice["message"]
    # _text inline for the values a host sends as it should (a str, or nothing),
    # as in from_openai_usage: each of these calls cost about as much as its test.
    answered_by: Any = completion.get("model")
    if answered_by is not None and type(answered_by) is not str:
        answered_by = _text(answered_by)
    answered_by = answered_by or model_id
    response_id: Any = completion.get("id")
    if response_id is not None and type(response_id) is not str:
        response_id = _text(response_id)
    # Every value is coerced to its field's type first (_text, lenient_count, a fresh dict
    # of arguments, a FinishReason word): a lax host can never make pydantic raise
    # instead of an agentkit error, and the response is built without validating it
    # again (unchecked), which would cost more than parsing the body.
    parts: list[Part] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning is not None and type(reasoning) is not str:
        reasoning = _text(reasoning)
    if reasoning:
        parts.append(unchecked(ReasoningPart, text=reasoning, provider=provider, model=answered_by))
    content: Any = message.get("content")
    if isinstance(content, list):  # a few hosts answer with content parts
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    elif content is not None and type(content) is not str:
        content = _text(content)
    if content:
        parts.append(unchecked(TextPart, text=content))
    calls = message.get("tool_calls") or ()
    for position, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise UnexpectedResponseError(
                f"a tool call of an unknown kind: {_snippet(call)}",
                provider=provider,
                model_id=model_id,
            )
        name = function.get("name")
        if name is not None and type(name) is not str:
            name = _text(name)
        name = name or ""
        wire_arguments: Any = function.get("arguments")
        arguments, invalid = parse_arguments(wire_arguments)
        compiled = schemas.get(name) if schemas else None
        if compiled is not None and invalid is None:
            arguments = strip_added_nulls(arguments, compiled)
        if arguments is wire_arguments:
            arguments = dict(arguments)  # a lax host's object: copied, as validation would
        call_id: Any = call.get("id")
        if call_id is not None and type(call_id) is not str:
            call_id = _text(call_id)
        parts.append(
            unchecked(
                ToolCallPart,
                id=call_id or new_call_id(position, response_id),
                name=name,
                arguments=arguments,
                raw_arguments=invalid,
            )
        )
    raw = choice.get("finish_reason")
    if raw is not None and type(raw) is not str:
        raw = _text(raw)
    refusal = message.get("refusal")
    if refusal is not None and type(refusal) is not str:
        refusal = _text(refusal)
    return unchecked(
        ModelResponse,
        message=unchecked(Message, role="assistant", parts=parts),
        finish_reason=finish_reason_for(raw, has_tool_calls=bool(calls)),
        raw_finish_reason=raw,
        usage=from_openai_usage(completion.get("usage")),
        provider=provider,
        model_id=answered_by,
        response_id=response_id,
        refusal=refusal or None,
        warnings=list(warnings) if warnings else [],
    )


def _text(value: Any) -> str | None:
    """A wire string, or None; anything else is stringified rather than trusted."""
    if value is None or type(value) is str:
        return value
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def finish_reason_for(raw: str | None, *, has_tool_calls: bool) -> FinishReason:
    """The normalised reason, counting a tool call that came with ``stop`` as ``tool_calls``.

    Some OpenAI-compatible servers say ``stop`` when they call a tool (as the
    Ollama native API does, per the real-traffic README).
    """
    reason = map_openai_finish_reason(raw)
    return "tool_calls" if has_tool_calls and reason in ("stop", "other") else reason


def parse_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    """Tool arguments (a JSON string, or an object from lax hosts) to ``(dict, raw_if_invalid)``."""
    if raw is None or isinstance(raw, str | dict):
        return parse_tool_arguments(raw)
    return {}, json.dumps(raw)


class OpenAIChunkReader:
    """Folds ``chat.completion.chunk`` payloads into neutral stream events.

    Call ``feed`` with each parsed ``data:`` payload, then ``finish`` once the
    stream ends. Handles: tool-call fragments keyed by ``index`` where only
    the first carries ``id`` and name (``openai_chat/parallel_tool_calls_stream_gpt4o``),
    whole calls in one delta (``openai_compatible/groq_tool_call_json_and_stream``),
    usage in a final chunk with empty ``choices`` or on the finish chunk itself
    (``openai_compatible/deepseek_reasoner_tool_call``) or only in ``x_groq``,
    ``reasoning_content`` deltas, ``delta.refusal`` fragments, and an ``error``
    object inside the stream.

    Args:
        provider: Provider name for events and errors.
        model_id: The model asked; the chunks' ``model`` wins when present.
        warnings: Request warnings to carry on the final response.
        schemas: Strict tool schemas that made optional properties nullable,
            by tool name (``tools_with_added_nulls``): their nulls are stripped.
    """

    __slots__ = ("_acc", "_has_calls", "_last_index", "raw_finish_reason", "usage", "warnings")

    def __init__(
        self,
        provider: str,
        model_id: str,
        *,
        warnings: list[RunWarning] | None = None,
        schemas: Mapping[str, CompiledSchema] | None = None,
    ) -> None:
        self._acc = StreamAccumulator(provider, model_id, strict_schemas=schemas)
        self._has_calls = False
        self._last_index = -1
        self.raw_finish_reason: str | None = None
        self.usage: Usage | None = None
        self.warnings = warnings or []

    def feed(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        """The events one parsed chunk adds (the first chunk also starts the response).

        Raises:
            ProviderHTTPError: the chunk is an ``error`` object.
        """
        chunk: ChatChunk = payload  # type: ignore[assignment]
        acc = self._acc
        if chunk.get("error"):
            raise map_error_body(acc.provider, acc.model_id, chunk)
        events: list[StreamEvent] = []
        if not acc.started:
            events.append(acc.start(chunk.get("id"), chunk.get("model")))
        usage: Any = chunk.get("usage")
        if usage is None:
            extra: Any = chunk.get("x_groq")
            usage = extra.get("usage") if isinstance(extra, dict) else None
        if usage:
            self.usage = from_openai_usage(usage)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue  # agentkit never asks for n > 1
            delta = choice.get("delta")
            if delta and len(delta) == 1 and "content" in delta:
                # The common chunk: one piece of text and nothing else.
                text = delta["content"]
                if text:
                    events += acc.add_text(text)
            elif delta:
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if reasoning:
                    events += acc.add_reasoning(reasoning)
                text = delta.get("content")
                if text:
                    events += acc.add_text(text)
                refusal = delta.get("refusal")
                if refusal:
                    events += acc.add_refusal(refusal)
                calls = delta.get("tool_calls")
                if calls:
                    events += self._tool_calls(calls)
            finish = choice.get("finish_reason")
            if finish:
                self.raw_finish_reason = finish
        return events

    def _tool_calls(self, calls: list[ChatToolCallDelta]) -> list[StreamEvent]:
        acc = self._acc
        events: list[StreamEvent] = []
        for call in calls:
            function = call.get("function") or {}
            call_id = call.get("id")
            index = call.get("index")
            if index is None:
                # No index (some local servers): an id opens a new call, no id continues one.
                index = self._last_index + (1 if call_id or self._last_index < 0 else 0)
            if not acc.has_call(index):
                self._has_calls = True
                self._last_index = index
                events += acc.start_call(
                    index,
                    call_id or new_call_id(index, acc.response_id),
                    function.get("name") or "",
                )
            arguments: Any = function.get("arguments")
            if arguments:
                if not isinstance(arguments, str):
                    arguments = json.dumps(arguments)
                events += acc.add_arguments(index, arguments)
        return events

    def finish(self, *, done: bool) -> list[StreamEvent]:
        """Close open tool calls and return them with the ``ResponseEndEvent``.

        Args:
            done: Whether the stream ended with ``data: [DONE]``. A stream that
                stopped with neither that nor a ``finish_reason`` was cut short.

        Raises:
            UnexpectedResponseError: the stream was empty or cut short.
        """
        acc = self._acc
        raw = self.raw_finish_reason
        if not acc.started or (raw is None and not done):
            what = "was empty" if not acc.started else "ended before the answer was complete"
            raise UnexpectedResponseError(
                f"the stream {what} (no finish_reason, no [DONE])",
                provider=acc.provider,
                model_id=acc.model_id,
            )
        return acc.finish(
            finish_reason_for(raw, has_tool_calls=self._has_calls),
            raw_finish_reason=raw,
            usage=self.usage,
            warnings=self.warnings,
        )
