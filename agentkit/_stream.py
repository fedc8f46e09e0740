"""Folding stream events into a response, and unfolding a response into events.

Both directions live here so that streaming and non-streaming calls share one
path: an adapter that streams feeds its events through ``StreamAccumulator``;
a non-streaming answer becomes the same events through ``response_events``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from ._messages import Message, Part, ReasoningPart, TextPart, ToolCallPart, Usage
from ._model import (
    FinishReason,
    ModelResponse,
    ReasoningDeltaEvent,
    RefusalDeltaEvent,
    ResponseEndEvent,
    ResponseStartEvent,
    RunWarning,
    StreamEvent,
    TextDeltaEvent,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
)
from ._trusted import trusted

if TYPE_CHECKING:
    from ._schema._types import CompiledSchema

__all__ = ["StreamAccumulator", "parse_tool_arguments", "response_events"]


def parse_tool_arguments(raw: str | dict[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """Parse a provider's tool arguments into ``(arguments, raw_if_invalid)``.

    Providers send a JSON string (OpenAI), an object (Gemini, Ollama) or
    nothing for a tool without parameters. Text that is not a JSON object is
    kept verbatim so the runner can tell the model what was wrong.
    """
    if raw is None or raw == "":
        return {}, None
    if isinstance(raw, dict):
        return raw, None
    try:
        value = json.loads(raw)
    except ValueError:
        return {}, raw
    if isinstance(value, dict):
        return value, None
    return {}, raw


_TextEvent = TypeVar("_TextEvent", TextDeltaEvent, ReasoningDeltaEvent, RefusalDeltaEvent)


def _text_event(cls: type[_TextEvent], kind: str, text: str) -> _TextEvent:
    # One event per delta: built without validation when the text is a str, as
    # parsed JSON gives (anything else goes through pydantic and its errors).
    if type(text) is str:
        return trusted(cls, {"type": kind, "text": text}, {"text"})
    return cls(text=text)


#: The words of ``FinishReason``: a value among them needs no validation.
_FINISH_REASONS = frozenset(get_args(FinishReason))
#: The classes of ``Part`` (read from its union, so a new part kind is never
#: missed): a list of their instances is a valid ``parts`` as it is
#: (validation keeps model instances, and only copies the list).
_PART_CLASSES = frozenset(get_args(get_args(Part)[0]))


def _optional_str(value: object) -> bool:
    """Whether ``value`` is what a ``str | None`` field holds after validation.

    Exactly a ``str``: validation turns a subclass's instance into a plain one.
    """
    return value is None or type(value) is str


def _response_start(provider: str, model_id: str, response_id: str | None) -> ResponseStartEvent:
    if type(provider) is str and type(model_id) is str and _optional_str(response_id):
        values = {
            "type": "response_start",
            "provider": provider,
            "model_id": model_id,
            "response_id": response_id,
        }
        return trusted(ResponseStartEvent, values, {"provider", "model_id", "response_id"})
    return ResponseStartEvent(provider=provider, model_id=model_id, response_id=response_id)


def _call_start(index: int, call_id: str, name: str) -> ToolCallStartEvent:
    if type(index) is int and type(call_id) is str and type(name) is str:
        values = {"type": "tool_call_start", "index": index, "id": call_id, "name": name}
        return trusted(ToolCallStartEvent, values, {"index", "id", "name"})
    return ToolCallStartEvent(index=index, id=call_id, name=name)


class _PendingCall:
    __slots__ = ("fragments", "id", "name")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.fragments: list[str] = []


class StreamAccumulator:
    """Builds a ``ModelResponse`` from streamed fragments.

    Adapters call the ``add_*``/``start_*`` methods as wire chunks arrive; each
    returns the neutral events to yield. ``finish`` closes any open tool call
    and returns the final ``ResponseEndEvent``. Text deltas concatenate to the
    final text, and every started tool call is ended, by construction.

    What it builds (events, parts, the message, the response) is built without
    validating it again when the adapter's values are exactly of their fields'
    types (checked the cheap way); any other value goes through pydantic and
    raises, or is coerced, as it always was (tests/adapters/test_unchecked_streams.py).

    Args:
        provider: Provider name for the response.
        model_id: The model asked.
        strict_schemas: Strict-mode tool schemas that made optional properties
            nullable, by tool name: the stand-in nulls the model sends for them
            are taken out of those calls' arguments (``strip_added_nulls``).
    """

    def __init__(
        self,
        provider: str,
        model_id: str,
        *,
        strict_schemas: Mapping[str, CompiledSchema] | None = None,
    ) -> None:
        self.provider = provider
        self.model_id = model_id
        self.strict_schemas = strict_schemas
        self.response_id: str | None = None
        self._parts: list[Part] = []
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._calls: dict[int, _PendingCall] = {}
        self._ended: list[tuple[int, ToolCallPart]] = []
        self.started = False

    def start(self, response_id: str | None = None, model_id: str | None = None) -> StreamEvent:
        """Mark the answer as started."""
        self.started = True
        self.response_id = response_id or self.response_id
        self.model_id = model_id or self.model_id
        return _response_start(self.provider, self.model_id, self.response_id)

    def _flush_text(self) -> None:
        # A join is always a str; the provider and model are the adapter's, checked.
        if self._reasoning:
            text = "".join(self._reasoning)
            provider, model = self.provider, self.model_id
            if _optional_str(provider) and _optional_str(model):
                values = {
                    "type": "reasoning",
                    "text": text,
                    "signature": None,
                    "id": None,
                    "provider": provider,
                    "model": model,
                }
                part = trusted(ReasoningPart, values, {"text", "provider", "model"})
            else:
                part = ReasoningPart(text=text, provider=provider, model=model)
            self._parts.append(part)
            self._reasoning = []
        if self._text:
            values = {"type": "text", "text": "".join(self._text)}
            self._parts.append(trusted(TextPart, values, {"text"}))
            self._text = []

    def add_text(self, text: str) -> list[StreamEvent]:
        """Append answer text."""
        if not text:
            return []
        if self._reasoning:
            self._flush_text()
        self._text.append(text)
        if type(text) is str:
            # The hot path of every stream: _text_event's trusted branch, without its call.
            return [trusted(TextDeltaEvent, {"type": "text_delta", "text": text}, {"text"})]
        return [TextDeltaEvent(text=text)]

    def add_reasoning(self, text: str) -> list[StreamEvent]:
        """Append reasoning text."""
        if not text:
            return []
        if self._text:
            self._flush_text()
        self._reasoning.append(text)
        return [_text_event(ReasoningDeltaEvent, "reasoning_delta", text)]

    def add_part(self, part: Part) -> None:
        """Append a finished part (e.g. a reasoning item with a signature)."""
        self._flush_text()
        self._parts.append(part)

    def add_refusal(self, text: str) -> list[StreamEvent]:
        """Append refusal text."""
        if not text:
            return []
        self._refusal.append(text)
        return [_text_event(RefusalDeltaEvent, "refusal_delta", text)]

    def has_call(self, index: int) -> bool:
        """Whether a tool call with this index is open."""
        return index in self._calls

    def start_call(self, index: int, call_id: str, name: str) -> list[StreamEvent]:
        """Open tool call ``index``."""
        self._flush_text()
        self._calls[index] = _PendingCall(call_id, name)
        return [_call_start(index, call_id, name)]

    def add_arguments(self, index: int, fragment: str) -> list[StreamEvent]:
        """Append a fragment of tool call ``index``'s JSON arguments."""
        if not fragment:
            return []
        self._calls[index].fragments.append(fragment)
        if type(fragment) is str and type(index) is int:
            values = {"type": "tool_call_delta", "index": index, "arguments_delta": fragment}
            return [trusted(ToolCallDeltaEvent, values, {"index", "arguments_delta"})]
        return [ToolCallDeltaEvent(index=index, arguments_delta=fragment)]

    def end_call(
        self, index: int, arguments: dict[str, Any] | str | None = None
    ) -> list[StreamEvent]:
        """Close tool call ``index``; ``arguments`` overrides the fragments when given."""
        pending = self._calls.pop(index)
        raw = "".join(pending.fragments) if arguments is None else arguments
        parsed, invalid = parse_tool_arguments(raw)
        compiled = self.strict_schemas.get(pending.name) if self.strict_schemas else None
        if compiled is not None and invalid is None:
            # Only strict-mode tool schemas need it: the schema package stays
            # off `from agentkit import run` (adapters load it with theirs).
            from ._schema._nulls import strip_added_nulls

            parsed = strip_added_nulls(parsed, compiled)
        call = _call_part(pending.id, pending.name, parsed, invalid, raw)
        self._parts.append(call)
        self._ended.append((index, call))
        if type(index) is int:  # the call is a valid part: only the index is the adapter's
            values = {"type": "tool_call_end", "index": index, "call": call}
            return [trusted(ToolCallEndEvent, values, {"index", "call"})]
        return [ToolCallEndEvent(index=index, call=call)]

    def whole_call(
        self, index: int, call_id: str, name: str, arguments: dict[str, Any] | str | None
    ) -> list[StreamEvent]:
        """A tool call that arrived in one piece: start, one delta, end."""
        events = self.start_call(index, call_id, name)
        text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
        events += self.add_arguments(index, text)
        return events + self.end_call(index, arguments)

    def finish(
        self,
        finish_reason: FinishReason,
        *,
        raw_finish_reason: str | None = None,
        usage: Usage | None = None,
        warnings: list[RunWarning] | None = None,
    ) -> list[StreamEvent]:
        """Close open tool calls and return them with the ``ResponseEndEvent``."""
        events: list[StreamEvent] = []
        for index in sorted(self._calls):
            events += self.end_call(index)
        self._flush_text()
        refusal = "".join(self._refusal) or None
        response = _response(
            _message(self._parts),
            finish_reason,
            raw_finish_reason,
            usage,
            self.provider,
            self.model_id,
            self.response_id,
            refusal,
            warnings or [],
        )
        # The response was just validated: the event around it needs no check.
        values = {"type": "response_end", "response": response}
        events.append(trusted(ResponseEndEvent, values, {"response"}))
        return events


def _call_part(
    call_id: str,
    name: str,
    arguments: dict[str, Any],
    invalid: str | None,
    raw: dict[str, Any] | str | None,
) -> ToolCallPart:
    """``ToolCallPart(id=, name=, arguments=, raw_arguments=)``, built unvalidated when valid.

    ``raw`` is what the arguments were parsed from. Parsed JSON is a new dict
    with ``str`` keys; a dict of the adapter's own (Gemini, Ollama) has its
    keys checked and is copied, as validation would copy it.
    """
    fresh: dict[str, Any] | None = arguments
    if isinstance(raw, dict) and type(arguments) is dict:
        fresh = arguments.copy() if all(type(key) is str for key in arguments) else None
    if (
        type(fresh) is dict
        and type(call_id) is str
        and type(name) is str
        and _optional_str(invalid)
    ):
        values = {
            "type": "tool_call",
            "id": call_id,
            "name": name,
            "arguments": fresh,
            "raw_arguments": invalid,
        }
        return trusted(ToolCallPart, values, {"id", "name", "arguments", "raw_arguments"})
    return ToolCallPart(id=call_id, name=name, arguments=arguments, raw_arguments=invalid)


def _message(parts: list[Part]) -> Message:
    """``Message(role="assistant", parts=parts)``; the list is copied, as validation does."""
    classes = _PART_CLASSES
    for part in parts:
        if type(part) not in classes:  # a dict or a subclass of an adapter's: validated
            return Message(role="assistant", parts=parts)
    values = {"role": "assistant", "parts": parts.copy()}
    return trusted(Message, values, {"role", "parts"})


def _response(
    message: Message,
    finish_reason: FinishReason,
    raw_finish_reason: str | None,
    usage: Usage | None,
    provider: str,
    model_id: str,
    response_id: str | None,
    refusal: str | None,
    warnings: list[RunWarning],
) -> ModelResponse:
    """``ModelResponse`` of every field, unvalidated when each value is of its type.

    The adapter's values are checked the cheap way (exact types, the Literal's
    words, models of exactly their class); anything else goes through pydantic,
    so a bad value raises the error it always did.
    """
    if (
        type(finish_reason) is str
        and finish_reason in _FINISH_REASONS
        and _optional_str(raw_finish_reason)
        and (usage is None or type(usage) is Usage)
        and type(provider) is str
        and type(model_id) is str
        and _optional_str(response_id)
        and _optional_str(refusal)
        and type(warnings) is list
        and (not warnings or all(type(w) is RunWarning for w in warnings))
    ):
        values = {
            "message": message,
            "finish_reason": finish_reason,
            "raw_finish_reason": raw_finish_reason,
            "usage": usage,
            "provider": provider,
            "model_id": model_id,
            "response_id": response_id,
            "refusal": refusal,
            "warnings": warnings.copy(),
        }
        return trusted(ModelResponse, values, set(values))
    return ModelResponse(
        message=message,
        finish_reason=finish_reason,
        raw_finish_reason=raw_finish_reason,
        usage=usage,
        provider=provider,
        model_id=model_id,
        response_id=response_id,
        refusal=refusal,
        warnings=warnings,
    )


def response_events(response: ModelResponse) -> Iterator[StreamEvent]:
    """The events a stream would have produced for this whole response."""
    # Built unvalidated from values of their fields' types (the response's own,
    # checked the cheap way, as in StreamAccumulator); others go through pydantic.
    yield _response_start(response.provider, response.model_id, response.response_id)
    index = 0
    for part in response.message.parts:
        if isinstance(part, TextPart):
            yield _text_event(TextDeltaEvent, "text_delta", part.text)
        elif isinstance(part, ReasoningPart) and part.text:
            yield _text_event(ReasoningDeltaEvent, "reasoning_delta", part.text)
        elif isinstance(part, ToolCallPart):
            yield _call_start(index, part.id, part.name)
            arguments = part.raw_arguments or json.dumps(part.arguments)
            if type(arguments) is str:
                values = {"type": "tool_call_delta", "index": index, "arguments_delta": arguments}
                yield trusted(ToolCallDeltaEvent, values, {"index", "arguments_delta"})
            else:
                yield ToolCallDeltaEvent(index=index, arguments_delta=arguments)
            if type(part) is ToolCallPart:
                values = {"type": "tool_call_end", "index": index, "call": part}
                yield trusted(ToolCallEndEvent, values, {"index", "call"})
            else:
                yield ToolCallEndEvent(index=index, call=part)
            index += 1
    if response.refusal:
        yield _text_event(RefusalDeltaEvent, "refusal_delta", response.refusal)
    if type(response) is ModelResponse:
        yield trusted(
            ResponseEndEvent, {"type": "response_end", "response": response}, {"response"}
        )
    else:
        yield ResponseEndEvent(response=response)
