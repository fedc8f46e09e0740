"""A loopback Ollama ``/api/chat`` server whose answers come from a Python function.

``OllamaEmulator`` (a plain ASGI app) reads the native request back into a
``ModelRequest``, asks a ``ModelFunction`` and answers as Ollama does: JSON
for ``stream: false``, else NDJSON with text and thinking in fragments, each
tool call whole with an argument *object*, ``done_reason: "stop"`` even after
a tool call, and the counts on the final ``done: true`` object. Errors are
plain strings: scripted ones, an unknown model (404), a model without tools
(400, as recorded in ``ollama/error_400_model_does_not_support_tools``) and an
error line inside a 200 stream. It writes the wire independently of
``agentkit_adapters``, so a test checks two readings of it against each other.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from .._messages import (
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from .._model import ModelRequest, ModelResponse, ModelSettings, ToolDefinition
from ._asgi import Receive, Scope, Send, send_json, stream_body
from ._asgi import read_body as _read_body
from ._asgi import respond as _respond
from ._function import FunctionAdapter, ModelFunction
from ._openai_emulator import ScriptedHTTPError

__all__ = ["OllamaEmulator", "ScriptedStreamError", "ollama_error", "parse_ollama_request"]


def ollama_error(
    status: int, message: str, *, headers: Mapping[str, str] | None = None
) -> ScriptedHTTPError:
    """An error in Ollama's shape (``{"error": "<message>"}``), ready to raise from a script."""
    return ScriptedHTTPError(status, {"error": message}, headers)


class ScriptedStreamError(Exception):
    """Raise from a scripted model to fail in the middle of a 200 stream.

    The emulator streams ``partial`` as text, then the line ``{"error": message}``
    and no ``done: true`` object. A non-streaming request gets a 500 instead.

    Args:
        message: The error text.
        partial: Text streamed before the error.
    """

    def __init__(self, message: str, partial: str = "") -> None:
        self.message = message
        self.partial = partial
        super().__init__(message)


# -- wire request -> ModelRequest ------------------------------------------------------------

_OPTIONS = {"num_predict": "max_tokens", **{k: k for k in ("temperature", "top_p", "stop", "seed")}}
_STRUCTURAL = {"model", "messages", "tools", "format", "options", "stream", "think"}
# Leading bytes of the image types vision models take (WebP files start with RIFF).
_MAGIC = {
    b"\x89PNG": "image/png",
    b"\xff\xd8": "image/jpeg",
    b"GIF8": "image/gif",
    b"RIFF": "image/webp",
}


def _user_parts(item: Mapping[str, Any]) -> list[Part]:
    parts: list[Part] = []
    if item.get("content"):
        parts.append(TextPart(text=item["content"]))
    for image in item.get("images") or ():
        data = base64.b64decode(image, validate=True)
        kind = next((t for m, t in _MAGIC.items() if data.startswith(m)), "image/png")
        parts.append(ImagePart(data=data, media_type=kind))
    return parts


def _assistant(item: Mapping[str, Any], model: str, pending: list[ToolCallPart]) -> Message:
    parts: list[Part] = []
    if item.get("thinking"):
        parts.append(ReasoningPart(text=item["thinking"], provider="ollama", model=model))
    if item.get("content"):
        parts.append(TextPart(text=item["content"]))
    for position, call in enumerate(item.get("tool_calls") or ()):
        function = call["function"]
        arguments = function.get("arguments", {})
        if not isinstance(arguments, dict):
            # What Go's decoder says when a client sends OpenAI-style string arguments.
            raise ValueError(
                "json: cannot unmarshal string into Go struct field "
                "ToolCallFunction.messages.tool_calls.function.arguments"
            )
        call_id = call.get("id") or f"call_{position}"
        part = ToolCallPart(id=call_id, name=function["name"], arguments=arguments)
        parts.append(part)
        pending.append(part)
    return Message(role="assistant", parts=parts)


def _tool_result(item: Mapping[str, Any], pending: list[ToolCallPart]) -> ToolResultPart:
    name = item.get("tool_name")
    call_id = item.get("tool_call_id")
    # Without an id (Ollama before 0.12.10), a result answers the first open call of its name.
    match = next(
        (c for c in pending if c.id == call_id or (call_id is None and c.name == name)), None
    )
    if match is not None:
        pending.remove(match)
    return ToolResultPart(
        call_id=call_id or (match.id if match else "unknown"),
        name=name or (match.name if match else None),
        content=[TextPart(text=item.get("content") or "")],
    )


def parse_ollama_request(body: Any) -> ModelRequest:
    """Read an ``/api/chat`` request body back into a neutral ``ModelRequest``.

    Consecutive ``role: "tool"`` messages become one tool message; a result
    without ``tool_call_id`` is matched to the first open call of its
    ``tool_name``. ``options`` map back to settings (others stay in
    ``extra["options"]``), a ``think`` level to ``reasoning_effort``.

    Raises:
        ValueError: the body is not a valid request (what Ollama would reject).
    """
    if not isinstance(body, dict) or not isinstance(body.get("messages", []), list):
        raise ValueError("the body must be a JSON object with a 'messages' array")
    model = str(body.get("model", ""))
    messages: list[Message] = []
    results: list[Part] = []
    pending: list[ToolCallPart] = []
    for item in body.get("messages") or ():
        role = item.get("role")
        if role != "tool" and results:
            messages.append(Message(role="tool", parts=results))
            results = []
        if role in ("system", "user"):
            messages.append(Message(role=role, parts=_user_parts(item)))
        elif role == "assistant":
            messages.append(_assistant(item, model, pending))
        elif role == "tool":
            results.append(_tool_result(item, pending))
        else:
            raise ValueError(f"invalid role: {role!r}")
    if results:
        messages.append(Message(role="tool", parts=results))
    tools = [
        ToolDefinition(
            name=t["function"]["name"],
            description=t["function"].get("description"),
            input_schema=t["function"].get("parameters") or {"type": "object", "properties": {}},
        )
        for t in body.get("tools") or ()
    ]
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {k: v for k, v in body.items() if k not in _STRUCTURAL}
    options = dict(body.get("options") or {})
    for key, name in _OPTIONS.items():
        if key in options:
            values[name] = options.pop(key)
    if isinstance(values.get("stop"), str):
        values["stop"] = [values["stop"]]
    if options:
        extra["options"] = options
    think = body.get("think")
    if think in ("low", "medium", "high"):
        values["reasoning_effort"] = think
    elif isinstance(think, bool):
        extra["think"] = think
    elif think is not None:
        raise ValueError(f'invalid think value: {think!r} (want a boolean or "low", ...)')
    output_schema = body.get("format") if isinstance(body.get("format"), dict) else None
    if isinstance(body.get("format"), str) and body["format"]:
        extra["format"] = body["format"]
    return ModelRequest(
        messages=messages,
        tools=tools,
        output_schema=output_schema,
        settings=ModelSettings(**values, extra=extra),
    )


# -- ModelResponse -> wire -------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _pieces(text: str, size: int) -> Iterator[str]:
    for i in range(0, len(text), max(1, size)):
        yield text[i : i + size]


class OllamaEmulator:
    """An ASGI app speaking Ollama's ``POST /api/chat`` for a scripted model.

    The model function sees the neutral ``ModelRequest`` read back from the
    wire and answers like a ``FunctionAdapter``'s; it may raise
    ``ScriptedHTTPError`` (see ``ollama_error``) or ``ScriptedStreamError``.

    Args:
        function: The scripted model.
        chunk_size: Characters per streamed text or thinking fragment.
        stream_delay: Seconds to wait between streamed lines.
        models: When set, other model names get Ollama's 404 ``model 'x' not found``.
        tools_supported: When False, a request with tools gets Ollama's 400
            ``... does not support tools``.
        tool_call_ids: Send tool-call ids (and ``function.index``), as Ollama
            does from 0.12.10 on; older servers send neither.

    Attributes:
        requests: Every request body received, parsed.
        calls: Every ``ModelRequest`` the function was asked.
        disconnected: Set when a client hung up in the middle of a stream.
    """

    def __init__(
        self,
        function: ModelFunction,
        *,
        chunk_size: int = 8,
        stream_delay: float = 0.0,
        models: set[str] | None = None,
        tools_supported: bool = True,
        tool_call_ids: bool = False,
    ) -> None:
        self._model = FunctionAdapter(function, model_id="emulated")
        self.chunk_size = chunk_size
        self.stream_delay = stream_delay
        self.models = models
        self.tools_supported = tools_supported
        self.tool_call_ids = tool_call_ids
        self.requests: list[dict[str, Any]] = []
        self.calls = self._model.calls
        self.disconnected = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http":
            return
        if scope["method"] != "POST" or scope["path"] != "/api/chat":
            await _respond(send, 404, b"404 page not found", "text/plain")
            return
        try:
            body = json.loads(await _read_body(receive))
            self.requests.append(body)
            request = parse_ollama_request(body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            await _send_json(send, 400, {"error": str(exc)})
            return
        model = str(body.get("model", ""))
        if self.models is not None and model not in self.models:
            await _send_json(send, 404, {"error": f"model '{model}' not found"})
        elif request.tools and not self.tools_supported:
            message = f"registry.ollama.ai/library/{model} does not support tools"
            await _send_json(send, 400, {"error": message})
        else:
            # Ollama streams unless told not to (case ollama/chat_format_json).
            await self._answer(send, receive, model, request, body.get("stream") is not False)

    async def _answer(
        self, send: Send, receive: Receive, model: str, request: ModelRequest, streaming: bool
    ) -> None:
        try:
            response = await self._model.generate(request)
        except ScriptedHTTPError as exc:
            await _send_json(send, exc.status, exc.body, exc.headers)
            return
        except ScriptedStreamError as exc:
            if not streaming:
                await _send_json(send, 500, {"error": exc.message})
                return
            lines = [self._line(model, {"content": p}) for p in _pieces(exc.partial, 4)]
            await self._stream(send, receive, iter([*lines, {"error": exc.message}]))
            return
        except Exception as exc:
            await _send_json(send, 500, {"error": f"the scripted model raised {exc!r}"})
            return
        if streaming:
            await self._stream(send, receive, self._lines(model, response))
        else:
            await _send_json(send, 200, self._final(model, response, self._message(response)))

    def _calls(self, response: ModelResponse) -> list[dict[str, Any]]:
        calls = []
        for index, part in enumerate(response.message.tool_calls):
            function: dict[str, Any] = {"name": part.name, "arguments": part.arguments}
            call: dict[str, Any] = {"function": function}
            if self.tool_call_ids:
                function["index"] = index
                call = {"id": f"call_{uuid.uuid4().hex[:8]}", **call}
            calls.append(call)
        return calls

    def _message(self, response: ModelResponse) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": response.message.text}
        thinking = "".join(
            p.text or "" for p in response.message.parts if isinstance(p, ReasoningPart)
        )
        if thinking:
            message["thinking"] = thinking
        calls = self._calls(response)
        if calls:
            message["tool_calls"] = calls
        return message

    @staticmethod
    def _line(model: str, message: dict[str, Any]) -> dict[str, Any]:
        wire = {"role": "assistant", "content": "", **message}
        return {"model": model, "created_at": _now(), "message": wire, "done": False}

    @staticmethod
    def _final(model: str, response: ModelResponse, message: dict[str, Any]) -> dict[str, Any]:
        # "stop" even after tool calls, as Ollama documents (ollama/tool_call_stream_docs_example).
        reason = "length" if response.finish_reason == "length" else "stop"
        usage = response.usage
        final: dict[str, Any] = {"model": model, "created_at": _now()}
        final["message"] = {"role": "assistant", **message}
        final |= {"done_reason": reason, "done": True, "total_duration": 10**6}
        if usage is not None:  # durations are nanoseconds
            final |= {"prompt_eval_count": usage.input_tokens, "prompt_eval_duration": 2 * 10**5}
            final |= {"eval_count": usage.output_tokens, "eval_duration": 7 * 10**5}
        return final

    def _lines(self, model: str, response: ModelResponse) -> Iterator[dict[str, Any]]:
        for part in response.message.parts:
            if isinstance(part, ReasoningPart) and part.text:
                for piece in _pieces(part.text, self.chunk_size):
                    yield self._line(model, {"thinking": piece})
            elif isinstance(part, TextPart):
                for piece in _pieces(part.text, self.chunk_size):
                    yield self._line(model, {"content": piece})
        calls = self._calls(response)
        if calls:
            yield self._line(model, {"tool_calls": calls})
        yield self._final(model, response, {"content": ""})

    async def _stream(self, send: Send, receive: Receive, lines: Iterator[dict[str, Any]]) -> None:
        await stream_body(
            send,
            receive,
            (json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines),
            content_type="application/x-ndjson",
            disconnected=self.disconnected,
            delay=self.stream_delay,
        )


async def _send_json(
    send: Send, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> None:
    await send_json(send, status, body, headers, content_type="application/json; charset=utf-8")
