"""Pure conversion of Ollama ``/api/chat`` answers into agentkit's neutral types.

``from_ollama_response`` reads a whole answer (``stream: false``);
``OllamaChunkReader`` folds NDJSON lines into stream events through
``StreamAccumulator``; ``map_ollama_error`` turns ``{"error": "..."}`` bodies
into agentkit's error tree. The real-traffic cases under
``tests/fixtures/real_traffic/ollama`` are cited where a quirk drives the code.
"""

from __future__ import annotations

import hashlib
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
from agentkit.adapter import map_http_error, parse_tool_arguments, unchecked
from agentkit.exceptions import (
    AdapterError,
    ModelNotFoundError,
    UnexpectedResponseError,
    UnsupportedFeatureError,
)

from .._usage import lenient_count
from ._wire import OllamaChatResponse, OllamaToolCall

__all__ = [
    "OllamaChunkReader",
    "from_ollama_response",
    "from_ollama_usage",
    "map_ollama_error",
    "map_ollama_finish_reason",
    "ollama_call_id",
]


def map_ollama_finish_reason(raw: str | None, *, has_tool_calls: bool) -> FinishReason:
    """Normalise ``done_reason``.

    Ollama says ``stop`` even when it calls a tool (Ollama's documented
    example ``ollama/tool_call_stream_docs_example``; a docs example, not a
    recording), so a ``stop`` with calls is
    ``tool_calls``. A missing reason (servers before ``done_reason`` existed)
    on a finished answer counts as ``stop``; ``load``/``unload`` and unknown
    words are ``other``.
    """
    if raw is None or raw == "stop":
        return "tool_calls" if has_tool_calls else "stop"
    if raw == "length":
        return "length"
    return "other"


def from_ollama_usage(body: Mapping[str, Any]) -> Usage | None:
    """Usage from ``prompt_eval_count`` / ``eval_count`` of the final object.

    ``eval_count`` includes thinking tokens, which Ollama does not count
    apart. A prompt served wholly from the cache may have no
    ``prompt_eval_count`` (the field is omitted when zero): that is 0 here.

    Returns:
        The usage, or None when the object carries neither count.
    """
    prompt = body.get("prompt_eval_count")
    output = body.get("eval_count")
    if prompt is None and output is None:
        return None
    # Both are ints >= 0 (lenient_count), as unchecked() requires.
    return unchecked(Usage, input_tokens=lenient_count(prompt), output_tokens=lenient_count(output))


def ollama_call_id(index: int, name: str, arguments: Any, created_at: str | None) -> str:
    """A stable id for a tool call that came without one (Ollama before 0.12.10).

    The same answer always gets the same ids; answers at different times get
    different ones, so ids do not repeat across the turns of a conversation.
    """
    seed = json.dumps([created_at, index, name, arguments], sort_keys=True, default=str)
    return "call_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def _arguments(value: Any) -> dict[str, Any] | str | None:
    """Arguments arrive as an object; anything else is kept as text for the runner."""
    if value is None or isinstance(value, dict | str):
        return value
    return json.dumps(value)


def _snippet(value: Any) -> str:
    return json.dumps(value, default=str)[:300]


def map_ollama_error(
    provider: str,
    model_id: str,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    base_url: str | None = None,
) -> AdapterError:
    """Translate an Ollama error (``{"error": "<text>"}``) into agentkit's tree.

    On top of the shared mapping:

    - ``"... does not support tools"`` (400, case
      ``ollama/error_400_model_does_not_support_tools``) and its siblings
      (``thinking``, ``insert``, ...) become ``UnsupportedFeatureError``, with
      the HTTP error as ``__cause__``: the model cannot do what was asked, so
      a model chain moves on to the next model instead of failing the run.
    - an unknown model (404 ``model 'x' not found``) is a
      ``ModelNotFoundError`` that says to ``ollama pull`` it.

    Pure: the caller raises what is returned.
    """
    error = map_http_error(provider, model_id, status, headers, body, base_url=base_url)
    parsed = error.body
    text = parsed.get("error") if isinstance(parsed, dict) else parsed
    text = text if isinstance(text, str) else ""
    if "does not support" in text:
        unsupported = UnsupportedFeatureError(
            f"{text}: pick a model that can (for tools e.g. llama3.1 or qwen3; for "
            "thinking e.g. qwen3 or deepseek-r1), or leave the feature out",
            provider=provider,
            model_id=model_id,
        )
        unsupported.__cause__ = error
        return unsupported
    if isinstance(error, ModelNotFoundError) or (status == 404 and "not found" in text):
        where = f" at {base_url}" if base_url else ""
        return ModelNotFoundError(
            f"model {model_id!r} not found{where}: {text or 'HTTP 404'} "
            f"(download it with `ollama pull {model_id}`, or see `ollama list`)",
            provider=provider,
            model_id=model_id,
            status_code=error.status_code,
            body=parsed,
            retry_after=error.retry_after,
            code=error.code,
        )
    return error


def from_ollama_response(
    body: Any,
    *,
    provider: str,
    model_id: str,
    warnings: list[RunWarning] | None = None,
) -> ModelResponse:
    """A whole ``/api/chat`` answer (``stream: false``) to a ``ModelResponse``.

    Args:
        body: The parsed JSON body.
        provider: Provider name for the response.
        model_id: The model asked; the body's ``model`` wins when present.
        warnings: Request warnings to carry on the response.

    Returns:
        Reasoning (``message.thinking``), text and tool calls, in that order.

    Raises:
        AdapterError: the body is an ``{"error": ...}`` object (see ``map_ollama_error``).
        UnexpectedResponseError: the body has no message.
    """
    if not isinstance(body, dict):
        raise UnexpectedResponseError(
            f"expected a JSON object, got {_snippet(body)}", provider=provider, model_id=model_id
        )
    answer: OllamaChatResponse = body  # type: ignore[assignment]
    if "error" in answer:
        raise map_ollama_error(provider, model_id, 200, {}, answer)
    message = answer.get("message")
    if not isinstance(message, dict):
        raise UnexpectedResponseError(
            f"the answer has no message: {_snippet(body)}", provider=provider, model_id=model_id
        )
    answered_by = str(answer.get("model") or model_id)
    parts: list[Part] = []
    thinking = message.get("thinking")
    if thinking:
        parts.append(
            unchecked(ReasoningPart, text=str(thinking), provider=provider, model=answered_by)
        )
    content = message.get("content")
    if content:
        parts.append(unchecked(TextPart, text=str(content)))
    calls: list[OllamaToolCall] = message.get("tool_calls") or []
    created = answer.get("created_at")
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise UnexpectedResponseError(
                f"a tool call of an unknown kind: {_snippet(call)}",
                provider=provider,
                model_id=model_id,
            )
        name = str(function.get("name") or "")
        raw = _arguments(function.get("arguments"))
        arguments, invalid = parse_tool_arguments(raw)
        if arguments is raw:
            arguments = dict(arguments)  # the wire's object: copied, as validation would
        parts.append(
            unchecked(
                ToolCallPart,
                id=str(call.get("id") or ollama_call_id(index, name, raw, created)),
                name=name,
                arguments=arguments,
                raw_arguments=invalid,
            )
        )
    raw_reason = answer.get("done_reason")
    # Every value is coerced to its field's type (str(), lenient_count, a fresh dict of
    # arguments) but done_reason, passed on from the wire: anything but a str or
    # None goes through validation, which says what is wrong, as before.
    build = unchecked if raw_reason is None or type(raw_reason) is str else _validated
    return build(
        ModelResponse,
        message=unchecked(Message, role="assistant", parts=parts),
        finish_reason=map_ollama_finish_reason(raw_reason, has_tool_calls=bool(calls)),
        raw_finish_reason=raw_reason,
        usage=from_ollama_usage(answer),
        provider=provider,
        model_id=answered_by,
        warnings=list(warnings) if warnings else [],
    )


def _validated(cls: type[ModelResponse], /, **fields: Any) -> ModelResponse:
    return cls(**fields)


class OllamaChunkReader:
    """Folds ``/api/chat`` NDJSON objects into neutral stream events.

    Call ``feed`` with each parsed line, then ``finish`` once the body ends.
    Text and thinking arrive as fragments (case ``ollama/chat_stream_ndjson_gemma3``);
    a tool call arrives whole in one object (the documented example
    ``ollama/tool_call_stream_docs_example``), so each becomes start, one
    delta and end at once; the counts and ``done_reason`` come on the last
    object, ``done: true``; an ``{"error": ...}`` line can replace it while
    the status stays 200.

    Args:
        provider: Provider name for events and errors.
        model_id: The model asked; the objects' ``model`` wins when present.
        warnings: Request warnings to carry on the final response.
    """

    __slots__ = ("_acc", "_calls", "done", "raw_finish_reason", "usage", "warnings")

    def __init__(
        self, provider: str, model_id: str, *, warnings: list[RunWarning] | None = None
    ) -> None:
        self._acc = StreamAccumulator(provider, model_id)
        self._calls = 0
        self.done = False
        self.raw_finish_reason: str | None = None
        self.usage: Usage | None = None
        self.warnings = warnings or []

    def feed(self, payload: Mapping[str, Any]) -> list[StreamEvent]:
        """The events one parsed NDJSON object adds (the first also starts the response).

        Raises:
            AdapterError: the object is an error line (``map_ollama_error``, status 200).
        """
        chunk: OllamaChatResponse = payload  # type: ignore[assignment]
        acc = self._acc
        if "error" in chunk:
            raise map_ollama_error(acc.provider, acc.model_id, 200, {}, dict(chunk))
        events: list[StreamEvent] = []
        if not acc.started:
            events.append(acc.start(None, chunk.get("model")))
        message = chunk.get("message")
        if message:
            thinking = message.get("thinking")
            if thinking:
                events += acc.add_reasoning(thinking)
            content = message.get("content")
            if content:
                events += acc.add_text(content)
            for call in message.get("tool_calls") or ():
                events += self._tool_call(call, chunk.get("created_at"))
        if chunk.get("done"):
            self.done = True
            self.raw_finish_reason = chunk.get("done_reason")
            self.usage = from_ollama_usage(chunk)
        return events

    def _tool_call(self, call: OllamaToolCall, created_at: str | None) -> list[StreamEvent]:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            raise UnexpectedResponseError(
                f"a tool call of an unknown kind: {_snippet(call)}",
                provider=self._acc.provider,
                model_id=self._acc.model_id,
            )
        index = self._calls
        self._calls += 1
        name = str(function.get("name") or "")
        arguments = _arguments(function.get("arguments"))
        call_id = call.get("id") or ollama_call_id(index, name, arguments, created_at)
        return self._acc.whole_call(index, str(call_id), name, arguments)

    def finish(self) -> list[StreamEvent]:
        """Return the ``ResponseEndEvent`` (after any still-open tool call).

        Raises:
            UnexpectedResponseError: the body was empty or ended before ``done: true``.
        """
        acc = self._acc
        if not acc.started or not self.done:
            what = "was empty" if not acc.started else "ended before the final done:true object"
            raise UnexpectedResponseError(
                f"the stream {what}", provider=acc.provider, model_id=acc.model_id
            )
        raw = self.raw_finish_reason
        return acc.finish(
            map_ollama_finish_reason(raw, has_tool_calls=self._calls > 0),
            raw_finish_reason=raw,
            usage=self.usage,
            warnings=self.warnings,
        )
