"""A loopback server that breaks on purpose: the provider emulators behind a queue of faults.

``FaultServer`` is an ASGI app in front of one of the emulators (OpenAI Chat,
Responses, Gemini, Ollama, Anthropic). Each request takes the next planned
``Fault`` from a queue and suffers it; with the queue empty, the emulator
answers normally. So a test plans "a 429, then a stall" and checks that the
run recovers, or fails with a named error, within a bounded time.

Three kinds of fault:

- the server's: an error status (429 with or without ``Retry-After``, 5xx, a
  huge error message, a 401 that echoes the key, an error inside a 200);
- the wire's: the emulator's real answer, mangled on the way out (cut
  half-way, the connection reset mid-body, a stall, a keep-alive trickle,
  malformed JSON, bytes that are not UTF-8, unknown events);
- the model's: a tool call with arguments that are not JSON, a call to a
  tool that does not exist, a huge answer. Wires whose tool arguments are
  always a JSON object (Gemini, Ollama, Anthropic) carry non-JSON arguments
  as an empty object, which the tool's schema then rejects.
"""

from __future__ import annotations

import contextvars
import inspect
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from .._messages import Message, ToolCallPart
from .._model import ModelRequest
from ._anthropic_emulator import AnthropicEmulator, anthropic_error
from ._asgi import Receive, Scope, Send, read_body
from ._function import Answer, ModelFunction
from ._gemini_emulator import GeminiEmulator, gemini_error
from ._ollama_emulator import OllamaEmulator
from ._openai_emulator import OpenAIChatEmulator, openai_error
from ._responses_emulator import OpenAIResponsesEmulator

__all__ = ["WIRES", "Fault", "FaultKind", "FaultServer", "Wire"]

Wire = Literal["openai-chat", "openai-responses", "gemini", "ollama", "anthropic"]
#: Every wire protocol a ``FaultServer`` speaks.
WIRES: tuple[Wire, ...] = ("openai-chat", "openai-responses", "gemini", "ollama", "anthropic")

FaultKind = Literal[
    "status",
    "error_event",
    "huge_error",
    "echo_key",
    "error_in_200",
    "reset",
    "cut",
    "stall",
    "trickle",
    "malformed_json",
    "invalid_utf8",
    "unknown_events",
    "bad_arguments",
    "unknown_tool",
    "huge_body",
]

_MODEL_FAULTS = frozenset({"bad_arguments", "unknown_tool", "huge_body"})
_WIRE_FAULTS = frozenset(
    {"reset", "cut", "stall", "trickle", "malformed_json", "invalid_utf8", "unknown_events"}
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One request's fault; build them with the class methods.

    Attributes:
        kind: What goes wrong.
        status: The HTTP status of a ``status`` fault.
        retry_after: ``Retry-After`` seconds sent with it, if any.
        seconds: How long a stall lasts, or the gap between keep-alives.
        size: Bytes of a huge body or error message.
        body: The error body to send instead of the wire's usual one.
    """

    kind: FaultKind
    status: int = 500
    retry_after: float | None = None
    seconds: float = 60.0
    size: int = 0
    body: Any = None

    @classmethod
    def error_status(
        cls, status: int, *, retry_after: float | None = None, body: Any = None
    ) -> Fault:
        """An error status in the wire's shape (429, 500, 502, 503, ...), or with ``body``."""
        return cls("status", status=status, retry_after=retry_after, body=body)

    @classmethod
    def error_event(cls, body: Any) -> Fault:
        """A 200 SSE stream that is one ``event: error`` carrying ``body`` (Groq's way)."""
        return cls("error_event", status=200, body=body)

    @classmethod
    def huge_error(cls, size: int = 20_000_000, *, status: int = 400) -> Fault:
        """An error status whose message is ``size`` characters long."""
        return cls("huge_error", status=status, size=size)

    @classmethod
    def echo_key(cls) -> Fault:
        """A 401 whose message repeats the key the request carried, as real providers do."""
        return cls("echo_key", status=401)

    @classmethod
    def error_in_200(cls) -> Fault:
        """A 200 whose body (or stream) is the wire's error object."""
        return cls("error_in_200", status=200)

    @classmethod
    def reset(cls) -> Fault:
        """The connection is dropped half-way through the body."""
        return cls("reset")

    @classmethod
    def cut(cls) -> Fault:
        """The body ends cleanly half-way: a stream without its end, half a JSON answer."""
        return cls("cut")

    @classmethod
    def stall(cls, seconds: float = 60.0) -> Fault:
        """The headers (and a stream's first frame) come, then nothing for ``seconds``."""
        return cls("stall", seconds=seconds)

    @classmethod
    def trickle(cls, every: float = 0.05) -> Fault:
        """Keep-alives (SSE comments, blank lines, spaces) every ``every`` s, never an answer."""
        return cls("trickle", seconds=every)

    @classmethod
    def malformed_json(cls) -> Fault:
        """A body, or a stream frame, that is not JSON."""
        return cls("malformed_json")

    @classmethod
    def invalid_utf8(cls) -> Fault:
        """A body, or a stream frame, with bytes that are not UTF-8."""
        return cls("invalid_utf8")

    @classmethod
    def unknown_events(cls) -> Fault:
        """The real answer with events, comments and fields no adapter knows mixed in."""
        return cls("unknown_events")

    @classmethod
    def bad_arguments(cls) -> Fault:
        """The model calls the first tool with arguments that are not JSON."""
        return cls("bad_arguments")

    @classmethod
    def unknown_tool(cls) -> Fault:
        """The model calls a tool that does not exist."""
        return cls("unknown_tool")

    @classmethod
    def huge_body(cls, size: int = 4_000_000) -> Fault:
        """The model answers with ``size`` characters of text."""
        return cls("huge_body", size=size)


#: The fault of the request being answered, for the wrapped model function.
_current: contextvars.ContextVar[Fault | None] = contextvars.ContextVar(
    "agentkit_fault", default=None
)


@dataclass(slots=True)
class _Captured:
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == b"content-type":
                return value.decode("latin-1")
        return ""


class FaultServer:
    """An ASGI app: one provider emulator, and a queue of faults for its next requests.

    Serve it with ``serve_asgi`` and point an adapter at it (``base_url``: the
    root plus ``/v1`` for the OpenAI wires, the root for the others).

    Args:
        wire: The protocol to speak.
        function: The scripted model, as for the emulators.
        **options: Passed to the emulator (``api_key``, ``chunk_size``...).

    Attributes:
        served: The faults applied so far, in order (``None`` for a normal answer).
        emulator: The emulator behind the faults.
    """

    def __init__(self, wire: Wire, function: ModelFunction, **options: Any) -> None:
        self.wire = wire
        self._function = function
        self._queue: deque[Fault] = deque()
        self.served: list[Fault | None] = []
        factory: Callable[..., Any] = {
            "openai-chat": OpenAIChatEmulator,
            "openai-responses": OpenAIResponsesEmulator,
            "gemini": GeminiEmulator,
            "ollama": OllamaEmulator,
            "anthropic": AnthropicEmulator,
        }[wire]
        self.emulator = factory(self._model, **options)

    def plan(self, *faults: Fault) -> FaultServer:
        """Queue ``faults`` for the next requests, one each, in order; returns self."""
        self._queue.extend(faults)
        return self

    def clear(self) -> None:
        """Forget the faults planned and not yet served."""
        self._queue.clear()

    @property
    def pending(self) -> int:
        """Faults planned and not yet served."""
        return len(self._queue)

    async def _model(self, request: ModelRequest) -> Answer:
        fault = _current.get()
        if fault is not None and fault.kind == "huge_body":
            return "x" * fault.size
        if fault is not None and fault.kind in ("bad_arguments", "unknown_tool"):
            tools = [t.name for t in request.tools]
            if fault.kind == "unknown_tool" or not tools:
                call = ToolCallPart(id="call_fault", name="no_such_tool", arguments={})
            else:
                call = ToolCallPart(id="call_fault", name=tools[0], raw_arguments='{"city": "Par')
            return Message(role="assistant", parts=[call])
        answer = self._function(request)
        if inspect.isawaitable(answer):
            answer = await answer
        return answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request, with the next fault if one is planned."""
        if scope["type"] != "http":
            return
        fault = self._queue.popleft() if self._queue else None
        self.served.append(fault)
        body = await read_body(receive)
        if fault is None or fault.kind in _MODEL_FAULTS:
            token = _current.set(fault)
            try:
                await self.emulator(scope, _replay(body), send)
            finally:
                _current.reset(token)
            return
        if fault.kind == "error_event":
            frame = b"event: error\ndata: " + json.dumps(fault.body).encode() + b"\n\n"
            await _respond(send, 200, frame, "text/event-stream")
            return
        if fault.kind in ("status", "huge_error", "echo_key", "error_in_200"):
            await self._error(scope, body, fault, send)
            return
        captured = await self._capture(scope, body)
        await self._mangle(captured, fault, receive, send)

    async def _capture(self, scope: Scope, body: bytes) -> _Captured:
        captured = _Captured()

        async def send(message: Mapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"
                ]
            elif message["type"] == "http.response.body" and message.get("body"):
                captured.chunks.append(bytes(message["body"]))

        await self.emulator(scope, _replay(body), send)
        return captured

    async def _error(self, scope: Scope, body: bytes, fault: Fault, send: Send) -> None:
        if fault.kind == "error_in_200":
            await self._error_in_200(scope, body, send)
            return
        headers: dict[str, str] = {}
        if fault.retry_after is not None:
            headers["retry-after"] = f"{fault.retry_after:g}"
        if fault.kind == "huge_error":
            message = "E" * fault.size
        elif fault.kind == "echo_key":
            message = f"Incorrect API key provided: {_key_of(scope)}. Check your key."
        else:
            message = f"planned fault: HTTP {fault.status}"
        error = self._error_body(fault.status, message) if fault.body is None else fault.body
        payload = json.dumps(error).encode()
        await _respond(send, fault.status, payload, "application/json", headers)

    def _error_body(self, status: int, message: str) -> Any:
        match self.wire:
            case "openai-chat" | "openai-responses":
                return openai_error(status, message).body
            case "gemini":
                return gemini_error(status, message).body
            case "ollama":
                return {"error": message}
            case "anthropic":
                return anthropic_error(status, message).body

    async def _error_in_200(self, scope: Scope, body: bytes, send: Send) -> None:
        streaming = _is_stream(scope, body)
        text = "planned fault: the upstream model failed"
        frame: bytes
        match self.wire:
            case "openai-chat":
                error: dict[str, Any] = {
                    "error": {"message": text, "type": "server_error", "code": None}
                }
                frame = b"data: " + json.dumps(error).encode() + b"\n\n"
                plain = json.dumps(error).encode()
            case "openai-responses":
                event = {"type": "error", "code": "server_error", "message": text}
                frame = b"event: error\ndata: " + json.dumps(event).encode() + b"\n\n"
                plain = json.dumps({"error": {"message": text, "type": "server_error"}}).encode()
            case "gemini":
                # Gemini answers errors as plain JSON, on its stream endpoint too.
                plain = json.dumps(gemini_error(500, text).body).encode()
                frame = plain
            case "ollama":
                plain = json.dumps({"error": text}).encode()
                frame = plain + b"\n"
            case "anthropic":
                error = {"type": "error", "error": {"type": "api_error", "message": text}}
                frame = b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n"
                plain = json.dumps(error).encode()
        if not streaming or self.wire == "gemini":
            content_type = "application/json" if not streaming else "text/event-stream"
            await _respond(send, 200, plain, content_type)
        else:
            kind = "application/x-ndjson" if self.wire == "ollama" else "text/event-stream"
            await _respond(send, 200, frame, kind)

    async def _mangle(
        self, captured: _Captured, fault: Fault, receive: Receive, send: Send
    ) -> None:
        chunks = captured.chunks or [b""]
        kind = captured.content_type
        streamed = not kind.startswith("application/json")
        ndjson = "ndjson" in kind
        # What a cut or a reset keeps: the first half of the frames, or of the
        # bytes when there is a single piece (a whole body, a one-frame stream).
        if len(chunks) >= 2 and streamed:
            kept = chunks[: len(chunks) // 2]
        else:
            whole = b"".join(chunks)
            kept = [whole[: len(whole) // 2]]
        await send(
            {"type": "http.response.start", "status": captured.status, "headers": captured.headers}
        )

        async def body(data: bytes, more: bool = True) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": more})

        match fault.kind:
            case "reset":
                for chunk in kept:
                    await body(chunk)
                raise _PlannedReset("planned fault: connection reset mid-body")
            case "cut":
                for chunk in kept:
                    await body(chunk)
                await body(b"", more=False)
            case "stall" | "trickle":
                if streamed:
                    await body(chunks[0])
                ping = b"\n" if ndjson else b": keep-alive\n\n" if streamed else b" "
                await _until_gone(receive, fault, lambda: body(ping))
                await body(b"", more=False)
            case "malformed_json" | "invalid_utf8":
                bad = b'{"oops' if fault.kind == "malformed_json" else b'{"t": "\xff\xfe"}'
                if not streamed:
                    whole = b"".join(chunks)
                    await body(bad if fault.kind == "malformed_json" else whole[:-1] + b"\xff}")
                else:
                    await body(chunks[0])
                    await body(bad + b"\n" if ndjson else b"data: " + bad + b"\n\n")
                await body(b"", more=False)
            case "unknown_events":
                if not streamed:
                    whole = json.loads(b"".join(chunks))
                    extra = {"x_unknown_field": {"nested": [1, "two"]}}
                    await body(json.dumps({**extra, **whole}).encode(), more=False)
                    return
                unknown = {"type": "x.unknown_event", "x_unknown": True}
                noise = json.dumps(unknown).encode()
                extra_frame = (
                    noise + b"\n"
                    if ndjson
                    else b": a comment\n\nevent: x-unknown\ndata: " + noise + b"\n\n"
                )
                for i, chunk in enumerate(chunks):
                    if i == 1:
                        await body(extra_frame)
                    await body(chunk)
                await body(b"", more=False)
            case _:  # pragma: no cover - the server and model faults never get here
                raise AssertionError(fault.kind)


class _PlannedReset(Exception):
    """Raised inside the app so that the server drops the connection mid-body."""


def _not_a_planned_reset(record: logging.LogRecord) -> bool:
    # The server logs every exception from the app with its traceback; a planned
    # reset is the fault doing its job, not news.
    return not (record.exc_info and isinstance(record.exc_info[1], _PlannedReset))


logging.getLogger("uvicorn.error").addFilter(_not_a_planned_reset)


def _replay(body: bytes) -> Receive:
    """A ``receive`` that gives ``body`` once and then waits (the client never leaves)."""
    given = False

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    return receive


async def _until_gone(receive: Receive, fault: Fault, ping: Callable[[], Awaitable[None]]) -> None:
    """Stall (or trickle ``ping`` every ``fault.seconds``) until the client hangs up."""
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        if fault.kind == "stall":
            await anyio.sleep(fault.seconds)
        else:
            while True:
                await anyio.sleep(fault.seconds)
                await ping()
        group.cancel_scope.cancel()


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    raw = [(b"content-type", content_type.encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _is_stream(scope: Scope, body: bytes) -> bool:
    if "streamGenerateContent" in scope.get("path", ""):
        return True
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return False
    # Ollama streams unless told not to.
    default = scope.get("path", "").startswith("/api/")
    return bool(parsed.get("stream", default)) if isinstance(parsed, dict) else False


def _key_of(scope: Scope) -> str:
    """The key the request carried, in whichever header or parameter its wire uses."""
    headers: dict[str, str] = {
        bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]
    }
    for name in ("x-api-key", "x-goog-api-key", "api-key"):
        if headers.get(name):
            return headers[name]
    auth = headers.get("authorization", "")
    if auth:
        return auth.partition(" ")[2] or auth
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    for item in query.split("&"):
        name, _, value = item.partition("=")
        if name == "key":
            return value
    return "(no key)"
