"""Pure conversion of Gemini answers into agentkit's neutral types.

A streamed chunk and a whole ``generateContent`` answer have the same shape,
so one reader serves both: ``GeminiChunkReader`` folds chunks into events
through ``StreamAccumulator``, and ``from_gemini_response`` is that reader
fed one body. The recorded quirks it handles (cases under
``tests/fixtures/real_traffic/gemini``):

- whole ``functionCall`` parts, several in one chunk, args as an object and
  no ``id`` before Gemini 3 (``parallel_function_calls_stream_25flash``);
- ``thoughtSignature`` on a function call, on a text part (possibly empty),
  or on a thought part; ``thought: true`` parts are reasoning text
  (``thinking_include_thoughts_*``, ``function_call_gemini3pro``);
- ``usageMetadata`` repeated on every chunk, cumulative: the last one counts
  (``text_stream_25flash``); ``thoughtsTokenCount`` outside
  ``candidatesTokenCount`` (total = prompt + candidates + thoughts);
- Vertex's ``partialArgs``/``willContinue`` function-call streaming, assembled
  into whole calls (``vertex_streamed_partial_function_args``);
- ``promptFeedback.blockReason`` and safety finish reasons, raised as
  ``ContentFilterError`` with status 200.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from agentkit import (
    FinishReason,
    ModelResponse,
    ReasoningDeltaEvent,
    ReasoningPart,
    ResponseEndEvent,
    RunWarning,
    StreamAccumulator,
    StreamEvent,
    Usage,
)
from agentkit.adapter import map_error_body, unchecked
from agentkit.exceptions import ContentFilterError, UnexpectedResponseError

from .._usage import exact_count
from ._convert import GENERATED_ID_PREFIX
from ._partial import PartialCall
from ._wire import FunctionCall, GenerateContentResponse

__all__ = [
    "BLOCKED_FINISH_REASONS",
    "GeminiChunkReader",
    "from_gemini_response",
    "from_gemini_usage",
    "map_gemini_finish_reason",
]

_FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",  # Vertex: the answer was blocked by Model Armor
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
    "MISSING_THOUGHT_SIGNATURE": "error",
}

#: Finish reasons meaning the provider blocked the answer: raised as ``ContentFilterError``.
BLOCKED_FINISH_REASONS = frozenset(k for k, v in _FINISH_REASONS.items() if v == "content_filter")


def map_gemini_finish_reason(raw: str | None, *, has_tool_calls: bool = False) -> FinishReason:
    """Normalise a ``finishReason``; a ``STOP`` that carries function calls is ``tool_calls``.

    ``LANGUAGE``, ``OTHER``, ``FINISH_REASON_UNSPECIFIED`` and unknown words are ``other``.
    """
    reason = _FINISH_REASONS.get(raw, "other") if raw else "other"
    return "tool_calls" if has_tool_calls and reason == "stop" else reason


def _has_counts(usage: Any) -> bool:
    return isinstance(usage, dict) and any(k.endswith("TokenCount") for k in usage)


def from_gemini_usage(usage: Any) -> Usage | None:
    """``usageMetadata`` to ``Usage``, or None when it holds no counts.

    As in OpenTelemetry, output includes reasoning: Gemini counts thoughts
    apart (``thoughtsTokenCount``; ``totalTokenCount`` = prompt + candidates +
    thoughts in every recording), so they are added to ``output_tokens``.
    ``promptTokenCount`` already includes ``cachedContentTokenCount``; tokens of
    tool-use prompts (``toolUsePromptTokenCount``) count as input.
    """
    if not _has_counts(usage):
        return None  # Vertex's intermediate chunks carry only {"trafficType": ...}
    thoughts = exact_count(usage.get("thoughtsTokenCount"))
    # Every value is an int >= 0 (exact_count), as unchecked() requires.
    return unchecked(
        Usage,
        input_tokens=exact_count(usage.get("promptTokenCount"))
        + exact_count(usage.get("toolUsePromptTokenCount")),
        output_tokens=exact_count(usage.get("candidatesTokenCount")) + thoughts,
        cache_read_input_tokens=exact_count(usage.get("cachedContentTokenCount")),
        reasoning_output_tokens=thoughts,
    )


# -- the reader -----------------------------------------------------------------------------


class GeminiChunkReader:
    """Folds ``generateContent`` chunks (or one whole answer) into neutral stream events.

    Call ``feed`` with each parsed SSE ``data:`` payload, then ``finish``.
    Thought text is collected into one ``ReasoningPart`` per run of thought
    parts, closed by the signature that ends it. A signature on any other
    part becomes a text-less ``ReasoningPart`` placed right before that part.
    Reasoning parts are stamped with the model *asked* (``model_id``), the
    name the next request is checked against; the response's ``model_id`` is
    the ``modelVersion`` that answered.

    Args:
        provider: Provider name for events, errors and reasoning stamps.
        model_id: The model asked.
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
        self.key_variable = key_variable
        self.provider = provider
        self.model_id = model_id
        self.warnings = list(warnings or [])
        self._usage: Any = None
        self.raw_finish_reason: str | None = None
        self._thought: list[str] = []
        self._calls = 0
        self._partial: PartialCall | None = None
        self._ignored: set[str] = set()

    @property
    def usage(self) -> Usage | None:
        """The usage reported so far (the last ``usageMetadata`` with counts)."""
        return from_gemini_usage(self._usage)

    def _unexpected(self, message: str) -> UnexpectedResponseError:
        return UnexpectedResponseError(message, provider=self.provider, model_id=self.model_id)

    def feed(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        """The events one chunk adds (the first chunk also starts the response).

        Raises:
            ProviderHTTPError: the chunk is an ``error`` object.
            ContentFilterError: the prompt or the answer was blocked.
            UnexpectedResponseError: the chunk has an impossible shape.
        """
        chunk: GenerateContentResponse = payload  # type: ignore[assignment]
        if chunk.get("error"):
            raise map_error_body(
                self.provider, self.model_id, chunk, key_variable=self.key_variable
            )
        acc = self._acc
        events: list[StreamEvent] = []
        if not acc.started:
            events.append(acc.start(chunk.get("responseId"), chunk.get("modelVersion")))
        usage = chunk.get("usageMetadata")
        # Most chunks carry the running total: its key answers without scanning the keys.
        if usage is not None and (
            (type(usage) is dict and "totalTokenCount" in usage) or _has_counts(usage)
        ):
            # Cumulative on every chunk: the last one is the total, made a Usage once.
            self._usage = usage
        feedback = chunk.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            reason = str(feedback["blockReason"])
            why = feedback.get("blockReasonMessage") or "no reason given"
            raise self._blocked(f"the prompt was blocked ({reason}): {why}", reason, chunk)
        for candidate in chunk.get("candidates") or ():
            if not isinstance(candidate, dict) or candidate.get("index", 0) != 0:
                continue  # agentkit never asks for more than one candidate
            content = candidate.get("content")
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts or ():
                if not isinstance(part, dict):
                    raise self._unexpected(f"a part is not an object: {json.dumps(part)[:200]}")
                if len(part) == 1 and type(text := part.get("text")) is str:
                    # The common part, text and nothing else: no thought, call or signature.
                    if self._thought:
                        self._flush_thought(None)
                    events += acc.add_text(text)
                else:
                    events += self._part(part)
            finish = candidate.get("finishReason")
            if finish:
                self.raw_finish_reason = str(finish)
                if finish in BLOCKED_FINISH_REASONS:
                    message = candidate.get("finishMessage") or "the answer was blocked"
                    raise self._blocked(f"{message} (finishReason {finish})", finish, chunk)
        return events

    def _blocked(self, message: str, code: str, body: Any) -> ContentFilterError:
        return ContentFilterError(
            message,
            provider=self.provider,
            model_id=self.model_id,
            status_code=200,
            body=dict(body),
            code=code,
        )

    def _part(self, part: Mapping[str, Any]) -> list[StreamEvent]:
        signature = part.get("thoughtSignature")
        text = part.get("text")
        if part.get("thought"):
            events: list[StreamEvent] = []
            if text:
                self._thought.append(str(text))
                events.append(ReasoningDeltaEvent(text=str(text)))
            if signature:
                self._flush_thought(str(signature))
            return events
        self._flush_thought(None)
        call = part.get("functionCall")
        if isinstance(call, dict):
            return self._call(call, signature)  # type: ignore[arg-type]
        if text is None:
            for kind in part.keys() - {"thoughtSignature"} - self._ignored:
                self._ignored.add(kind)
                self.warnings.append(
                    RunWarning(
                        kind="unsupported_feature",
                        feature=kind,
                        provider=self.provider,
                        message=f"a {kind!r} part of the answer was left out: agentkit does not "
                        "read it from Gemini",
                    )
                )
            if signature:
                self._sign(signature)
            return []
        if signature:
            self._sign(signature)  # the signature belongs to this text part
        return self._acc.add_text(str(text))

    def _sign(self, signature: Any) -> None:
        self._acc.add_part(
            ReasoningPart(signature=str(signature), provider=self.provider, model=self.model_id)
        )

    def _flush_thought(self, signature: str | None) -> None:
        # text="" (not None) marks a thought part, so the next request sends it as one.
        if self._thought or signature:
            self._acc.add_part(
                ReasoningPart(
                    text="".join(self._thought),
                    signature=signature,
                    provider=self.provider,
                    model=self.model_id,
                )
            )
            self._thought = []

    def _call_id(self, call: FunctionCall, index: int) -> str:
        call_id = call.get("id")
        if isinstance(call_id, str) and call_id:
            return call_id
        # Gemini 2.5 sends no ids; one made from the response id stays the same on replay.
        response_id = self._acc.response_id or uuid.uuid4().hex[:12]
        return f"{GENERATED_ID_PREFIX}{response_id}-{index}"

    def _call(self, call: FunctionCall, signature: Any) -> list[StreamEvent]:
        name = call.get("name")
        events: list[StreamEvent] = []
        if self._partial is not None and (name or not call.get("partialArgs")):
            events += self._end_partial()  # a new call, or {} closing the streamed one
        if not name and not call.get("partialArgs"):
            return events
        if signature:
            self._sign(signature)
        index = self._calls
        if name and not call.get("willContinue") and not call.get("partialArgs"):
            self._calls += 1
            args = call.get("args")
            return events + self._acc.whole_call(
                index, self._call_id(call, index), str(name), args if isinstance(args, dict) else {}
            )
        partial = self._partial
        if partial is None:
            self._calls += 1
            partial = self._partial = PartialCall(index)
            events += self._acc.start_call(index, self._call_id(call, index), str(name or ""))
        try:
            for piece in call.get("partialArgs") or ():
                partial.apply(piece)
        except (ValueError, TypeError) as exc:
            raise self._unexpected(f"unreadable partialArgs: {exc}") from exc
        return events

    def _end_partial(self) -> list[StreamEvent]:
        partial, self._partial = self._partial, None
        if partial is None:
            return []
        events = self._acc.add_arguments(partial.index, json.dumps(partial.args))
        return events + self._acc.end_call(partial.index, partial.args)

    def finish(self) -> list[StreamEvent]:
        """Close what is open and return it with the ``ResponseEndEvent``.

        Raises:
            UnexpectedResponseError: nothing came, or no ``finishReason`` did
                (Gemini sends no ``[DONE]``: a stream without one was cut short).
        """
        acc = self._acc
        raw = self.raw_finish_reason
        if not acc.started or raw is None:
            what = "was empty" if not acc.started else "ended without a finishReason"
            raise self._unexpected(f"the answer {what}: it was cut short or is not an answer")
        events = self._end_partial()
        self._flush_thought(None)
        return events + acc.finish(
            map_gemini_finish_reason(raw, has_tool_calls=self._calls > 0),
            raw_finish_reason=raw,
            usage=self.usage,
            warnings=self.warnings,
        )


def from_gemini_response(
    body: Any,
    *,
    provider: str,
    model_id: str,
    warnings: list[RunWarning] | None = None,
    key_variable: str | None = None,
) -> ModelResponse:
    """A whole ``generateContent`` body to a ``ModelResponse`` (the stream reader, fed once).

    Args:
        body: The parsed JSON body.
        provider: Provider name for the response.
        model_id: The model asked; the body's ``modelVersion`` names the one that answered.
        warnings: Request warnings to carry on the response.
        key_variable: The key's environment variable, named in authentication errors.

    Raises:
        ProviderHTTPError: the body is an ``error`` object.
        ContentFilterError: the prompt or the answer was blocked.
        UnexpectedResponseError: the body is not an answer.
    """
    reader = GeminiChunkReader(provider, model_id, warnings=warnings, key_variable=key_variable)
    if not isinstance(body, dict):
        raise reader._unexpected(f"expected a JSON object, got {json.dumps(body)[:200]}")
    reader.feed(body)
    end = reader.finish()[-1]
    assert isinstance(end, ResponseEndEvent)
    return end.response
