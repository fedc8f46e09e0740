"""Folding stream events into a response, and unfolding a response into events.

Both directions live here so that streaming and non-streaming calls share one
path: an adapter that streams feeds its events through ``StreamAccumulator``;
a non-streaming answer becomes the same events through ``response_events``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

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
        return ResponseStartEvent(
            provider=self.provider, model_id=self.model_id, response_id=self.response_id
        )

    def _flush_text(self) -> None:
        if self._reasoning:
            self._parts.append(
                ReasoningPart(
                    text="".join(self._reasoning), provider=self.provider, model=self.model_id
                )
            )
            self._reasoning = []
        if self._text:
            self._parts.append(TextPart(text="".join(self._text)))
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
        return [ToolCallStartEvent(index=index, id=call_id, name=name)]

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
        call = ToolCallPart(
            id=pending.id, name=pending.name, arguments=parsed, raw_arguments=invalid
        )
        self._parts.append(call)
        self._ended.append((index, call))
        if type(index) is int:  # the call was just validated: only the index is the adapter's
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
        response = ModelResponse(
            message=Message(role="assistant", parts=self._parts),
            finish_reason=finish_reason,
            raw_finish_reason=raw_finish_reason,
            usage=usage,
            provider=self.provider,
            model_id=self.model_id,
            response_id=self.response_id,
            refusal=refusal,
            warnings=warnings or [],
        )
        # The response was just validated: the event around it needs no check.
        values = {"type": "response_end", "response": response}
        events.append(trusted(ResponseEndEvent, values, {"response"}))
        return events


def response_events(response: ModelResponse) -> Iterator[StreamEvent]:
    """The events a stream would have produced for this whole response."""
    yield ResponseStartEvent(
        provider=response.provider, model_id=response.model_id, response_id=response.response_id
    )
    index = 0
    for part in response.message.parts:
        if isinstance(part, TextPart):
            yield TextDeltaEvent(text=part.text)
        elif isinstance(part, ReasoningPart) and part.text:
            yield ReasoningDeltaEvent(text=part.text)
        elif isinstance(part, ToolCallPart):
            yield ToolCallStartEvent(index=index, id=part.id, name=part.name)
            arguments = part.raw_arguments or json.dumps(part.arguments)
            yield ToolCallDeltaEvent(index=index, arguments_delta=arguments)
            yield ToolCallEndEvent(index=index, call=part)
            index += 1
    if response.refusal:
        yield RefusalDeltaEvent(text=response.refusal)
    yield ResponseEndEvent(response=response)
