"""A loopback Anthropic Messages API server whose answers come from a Python function.

``AnthropicEmulator`` is a plain ASGI app speaking ``POST /v1/messages``. It
reads the wire request back into a neutral ``ModelRequest``, asks a
``ModelFunction`` for the answer and writes it the way the recordings in
``tests/fixtures/real_traffic/anthropic`` show: ``event:`` + ``data:``
pairs, a ``ping`` after the first block starts, JSON padded with spaces
before its last brace, ``tool_use`` blocks that start with ``input: {}``
and continue as ``input_json_delta`` fragments (the first one ``""``), a
placeholder ``output_tokens`` in ``message_start`` and the totals in
``message_delta``; ``input_tokens`` leaves the cached tokens out. A bad key
is a 401 ``authentication_error``, a missing ``max_tokens`` or
``anthropic-version`` a 400 ``invalid_request_error``, and so is a request
the API refuses although well formed (``refused_by_the_api``: thinking
beside a forced tool, ``temperature`` with ``top_p`` on Claude Sonnet 4.5).

Like the other emulators, it writes the format independently of
``agentkit_adapters``, so a test checks two readings of it against each other.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from .._messages import (
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from .._model import ModelRequest, ModelResponse, ModelSettings, ToolDefinition
from ._asgi import Receive, Scope, Send, stream_body
from ._asgi import read_body as _read_body
from ._asgi import send_json as _send_json
from ._function import FunctionAdapter, ModelFunction
from ._ollama_emulator import ScriptedStreamError
from ._openai_emulator import ScriptedHTTPError

__all__ = ["AnthropicEmulator", "anthropic_error", "parse_anthropic_request"]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def anthropic_error(
    status: int,
    message: str,
    *,
    error_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ScriptedHTTPError:
    """An error in Anthropic's shape (``{"type": "error", "error": {type, message}, request_id}``).

    Args:
        status: The HTTP status (529 is Anthropic's "overloaded").
        message: ``error.message``.
        error_type: ``error.type``; derived from ``status`` by default
            (``overloaded_error`` for 529, ``api_error`` for other 5xx).
        headers: Extra response headers, e.g. ``{"retry-after": "2"}``.

    Returns:
        The exception (raise it from the scripted model; a status of 200 sends
        the error as an ``event: error`` inside a stream).
    """
    kind = (
        error_type
        or _ERROR_TYPES.get(status)
        or ("api_error" if status >= 500 else "invalid_request_error")
    )
    body = {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": f"req_{uuid.uuid4().hex[:24]}",
    }
    return ScriptedHTTPError(status, body, headers)


# -- wire request -> ModelRequest ------------------------------------------------------------

_BUDGET_EFFORT = {1024: "minimal", 2048: "low", 8192: "medium", 24576: "high"}
_STRUCTURAL = {
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "max_tokens",
    "temperature",
    "top_p",
    "stop_sequences",
    "thinking",
    "output_config",
    "stream",
    "anthropic_version",
}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise ValueError("content must be a string or a list of blocks")
    return content


def _image(block: dict[str, Any]) -> ImagePart:
    source = block["source"]
    if source["type"] == "url":
        return ImagePart(url=source["url"])
    return ImagePart(data=base64.b64decode(source["data"]), media_type=source["media_type"])


def _result(block: dict[str, Any]) -> ToolResultPart:
    content: list[Any] = []
    for item in _blocks(block.get("content", [])):
        if item["type"] == "text":
            content.append(TextPart(text=item["text"]))
        elif item["type"] == "image":
            content.append(_image(item))
        else:
            raise ValueError(f"unsupported tool_result block {item['type']!r}")
    return ToolResultPart(
        call_id=block["tool_use_id"], content=content, is_error=bool(block.get("is_error"))
    )


def _assistant(blocks: list[dict[str, Any]], model: str) -> Message:
    parts: list[Part] = []
    for block in blocks:
        kind = block["type"]
        if kind == "text":
            parts.append(TextPart(text=block["text"]))
        elif kind == "tool_use":
            parts.append(ToolCallPart(id=block["id"], name=block["name"], arguments=block["input"]))
        elif kind == "thinking":
            parts.append(
                ReasoningPart(
                    text=block["thinking"],
                    signature=block["signature"],
                    provider="anthropic",
                    model=model,
                )
            )
        elif kind == "redacted_thinking":
            parts.append(ReasoningPart(signature=block["data"], provider="anthropic", model=model))
        else:
            raise ValueError(f"unsupported assistant block {kind!r}")
    return Message(role="assistant", parts=parts)


def _user(blocks: list[dict[str, Any]]) -> list[Message]:
    results: list[Part] = [_result(b) for b in blocks if b["type"] == "tool_result"]
    rest: list[Part] = []
    for block in blocks:
        if block["type"] == "text":
            rest.append(TextPart(text=block["text"]))
        elif block["type"] == "image":
            rest.append(_image(block))
        elif block["type"] != "tool_result":
            raise ValueError(f"unsupported user block {block['type']!r}")
    messages = [Message(role="tool", parts=results)] if results else []
    if rest or not results:
        messages.append(Message(role="user", parts=rest))
    return messages


def _tool_choice(wire: Any) -> tuple[str | None, bool | None]:
    if not isinstance(wire, dict):
        return None, None
    kind = wire["type"]
    choice = {"auto": "auto", "any": "required", "none": "none"}.get(kind) or wire["name"]
    disabled = wire.get("disable_parallel_tool_use")
    return choice, None if disabled is None else not disabled


def parse_anthropic_request(body: Any, model: str = "emulated") -> ModelRequest:
    """Read a Messages API body back into a neutral ``ModelRequest``.

    A ``user`` turn of ``tool_result`` blocks becomes a ``tool`` message (and
    a ``user`` one for any other blocks); ``thinking`` / ``redacted_thinking``
    become ``ReasoningPart`` s stamped ``anthropic`` and ``model``; a thinking
    budget of 1024/2048/8192/24576 reads as ``reasoning_effort``. Keys it
    does not model (``top_k``, ``metadata``, ``cache_control``...) land in
    ``settings.extra``; ``cache_control`` marks on blocks are dropped.

    Raises:
        ValueError: the body is not a valid request (pydantic's errors included).
        KeyError: a required field is missing.
    """
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise ValueError("messages: Field required")
    if not isinstance(body.get("max_tokens"), int):
        raise ValueError("max_tokens: Field required")
    messages: list[Message] = [
        Message.system(block["text"]) for block in _blocks(body.get("system") or [])
    ]
    for turn in body["messages"]:
        blocks = _blocks(turn["content"])
        if turn["role"] == "assistant":
            messages.append(_assistant(blocks, model))
        elif turn["role"] == "user":
            messages += _user(blocks)
        else:
            raise ValueError(f"messages: unexpected role {turn['role']!r}")
    tools = [
        ToolDefinition(
            name=t["name"], description=t.get("description"), input_schema=t["input_schema"]
        )
        for t in body.get("tools") or ()
    ]
    choice, parallel = _tool_choice(body.get("tool_choice"))
    values: dict[str, Any] = {"max_tokens": body["max_tokens"], "parallel_tool_calls": parallel}
    for wire, name in (
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("stop_sequences", "stop"),
    ):
        if wire in body:
            values[name] = body[wire]
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "enabled":
        effort = _BUDGET_EFFORT.get(thinking.get("budget_tokens", 0))
        if effort is None:
            raise ValueError(
                f"thinking.budget_tokens {thinking.get('budget_tokens')} is not one of agentkit's"
            )
        values["reasoning_effort"] = effort
    output_format = (body.get("output_config") or {}).get("format") or {}
    extra = {k: v for k, v in body.items() if k not in _STRUCTURAL}
    return ModelRequest(
        messages=messages,
        tools=tools,
        tool_choice=choice,
        output_schema=output_format.get("schema"),
        settings=ModelSettings(**values, extra=extra),
    )


# Family-first ids ("claude-sonnet-4-5", "claude-opus-4-1-20250805"); the minor
# version is one or two digits, not the date that may follow the major one.
_FAMILY_FIRST = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?!\d)")


def _both_samplers_refused(model: str) -> bool:
    # Claude Opus 4.1, Sonnet 4.5 and later take temperature or top_p, not both.
    found = _FAMILY_FIRST.search(model)
    return found is not None and (int(found[1]), int(found[2] or 0)) >= (4, 1)


def refused_by_the_api(body: dict[str, Any]) -> str | None:
    """Why the Messages API would answer ``body`` with a 400, in its words; None: it would not.

    The rules a request can break although every field is well formed: a
    thinking budget must be below ``max_tokens``, thinking takes no forced
    tool, no ``temperature`` but 1 and no ``top_p`` below 0.95; Claude Opus
    4.1, Sonnet 4.5 and later refuse ``temperature`` and ``top_p`` together.
    """
    model = str(body.get("model") or "")
    if "temperature" in body and "top_p" in body and _both_samplers_refused(model):
        return (
            "`temperature` and `top_p` cannot both be specified for this model. "
            "Please use only one."
        )
    thinking = body.get("thinking") or {}
    if thinking.get("type") != "enabled":
        return None
    if thinking.get("budget_tokens", 0) >= body["max_tokens"]:
        return "`max_tokens` must be greater than `thinking.budget_tokens`."
    if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return "Thinking may not be enabled when tool_choice forces tool use."
    if body.get("temperature", 1) != 1:
        return "`temperature` may only be set to 1 when thinking is enabled."
    if body.get("top_p", 1) < 0.95:
        return "`top_p` must be greater than or equal to 0.95 when thinking is enabled."
    return None


# -- ModelResponse -> wire -------------------------------------------------------------------

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_STOP_REASONS |= {"refusal": "refusal", "content_filter": "refusal"}
_ANTHROPIC_WORDS = frozenset(
    {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}
)


def _stop_reason(response: ModelResponse) -> str:
    if response.raw_finish_reason in _ANTHROPIC_WORDS:
        return response.raw_finish_reason
    return _STOP_REASONS.get(response.finish_reason, "end_turn")


def _usage(usage: Usage | None) -> dict[str, Any]:
    if usage is None:
        usage = Usage()
    cached = usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    return {
        # Anthropic counts only the tokens after the last cache breakpoint here.
        "input_tokens": max(0, usage.input_tokens - cached),
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "output_tokens": usage.output_tokens,
    }


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class AnthropicEmulator:
    """An ASGI app speaking the Anthropic Messages API for a scripted model.

    The model function sees the neutral ``ModelRequest`` read back from the
    wire (``parse_anthropic_request``) and answers like a ``FunctionAdapter`` 's;
    it may raise ``ScriptedHTTPError`` (see ``anthropic_error``) to answer with
    an error, or ``ScriptedStreamError`` to fail a stream midway with an
    ``overloaded_error`` event (a 529 when not streaming).

    Args:
        function: The scripted model.
        api_key: When set, requests must carry it in ``x-api-key`` or get a
            401 ``authentication_error`` (``invalid x-api-key``, as recorded).
        chunk_size: Characters per streamed text, thinking or argument fragment.
        stream_delay: Seconds to wait between streamed events.
        sign_thinking: Give reasoning parts without a signature a fresh one
            (Anthropic signs every thinking block).

    Attributes:
        requests: Every request body received, parsed.
        headers: The headers of every request, lower-cased names.
        calls: Every ``ModelRequest`` the function was asked.
        call_ids: Every ``tool_use`` id handed out, in order.
        signatures: Every thinking signature handed out, in order.
        disconnected: Set when a client hung up in the middle of a stream.
    """

    def __init__(
        self,
        function: ModelFunction,
        *,
        api_key: str | None = None,
        chunk_size: int = 8,
        stream_delay: float = 0.0,
        sign_thinking: bool = True,
    ) -> None:
        self._model = FunctionAdapter(function, model_id="emulated")
        self.api_key = api_key
        self.chunk_size = chunk_size
        self.stream_delay = stream_delay
        self.sign_thinking = sign_thinking
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.calls = self._model.calls
        self.call_ids: list[str] = []
        self.signatures: list[str] = []
        self.disconnected = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST" or scope["path"] != "/v1/messages":
            await _error(send, anthropic_error(404, f"Not found: {scope['path']}"))
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.headers.append(headers)
        if self.api_key is not None and headers.get("x-api-key") != self.api_key:
            await _error(send, anthropic_error(401, "invalid x-api-key"))
            return
        if "anthropic-version" not in headers:
            await _error(send, anthropic_error(400, "anthropic-version: header is required"))
            return
        try:
            body = json.loads(await _read_body(receive))
            self.requests.append(body)
            model = str(body.get("model") or "emulated")
            request = parse_anthropic_request(body, model)
            refused = refused_by_the_api(body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            await _error(send, anthropic_error(400, str(exc)))
            return
        if refused is not None:
            await _error(send, anthropic_error(400, refused))
            return
        streaming = bool(body.get("stream"))
        try:
            response = await self._model.generate(request)
        except ScriptedHTTPError as exc:
            if exc.status == 200 and streaming:
                await self._stream(send, receive, iter([("error", exc.body)]))
            else:
                await _error(send, exc)
            return
        except ScriptedStreamError as exc:
            if not streaming:
                await _error(send, anthropic_error(529, exc.message))
                return
            partial = ModelResponse(
                message=Message.assistant(exc.partial),
                finish_reason="stop",
                provider="x",
                model_id=model,
            )
            events = list(self._events(partial, model))[:-2]  # no message_delta, no message_stop
            failure = anthropic_error(200, exc.message, error_type="overloaded_error").body
            await self._stream(send, receive, iter([*events, ("error", failure)]))
            return
        except Exception as exc:
            # A bug in the scripted model: say so in the 500, where the test will look.
            await _error(send, anthropic_error(500, f"the scripted model raised {exc!r}"))
            return
        if streaming:
            await self._stream(send, receive, self._events(response, model))
        else:
            await _send_json(send, 200, self._whole(response, model))

    def _content(self, response: ModelResponse) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        for part in response.message.parts:
            if isinstance(part, ReasoningPart):
                if part.text is None:
                    blocks.append({"type": "redacted_thinking", "data": part.signature or ""})
                    continue
                signature = part.signature
                if signature is None and self.sign_thinking:
                    signature = base64.b64encode(uuid.uuid4().bytes).decode()
                    self.signatures.append(signature)
                blocks.append(
                    {"type": "thinking", "thinking": part.text, "signature": signature or ""}
                )
            elif isinstance(part, TextPart):
                blocks.append({"type": "text", "text": part.text})
            elif isinstance(part, ToolCallPart):
                # Ids the script made up are replaced by Anthropic-looking ones; toolu_... ids
                # are kept, so a script can say which ids the wire carries.
                call_id = (
                    part.id if part.id.startswith("toolu_") else f"toolu_{uuid.uuid4().hex[:24]}"
                )
                self.call_ids.append(call_id)
                blocks.append(
                    {"type": "tool_use", "id": call_id, "name": part.name, "input": part.arguments}
                )
        if response.refusal:
            blocks.append({"type": "text", "text": response.refusal})
        return blocks

    def _message(self, response: ModelResponse, model: str) -> dict[str, Any]:
        return {
            "model": model,
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**_usage(response.usage), "service_tier": "standard"},
        }

    def _whole(self, response: ModelResponse, model: str) -> dict[str, Any]:
        message = self._message(response, model)
        message["content"] = self._content(response)
        message["stop_reason"] = "refusal" if response.refusal else _stop_reason(response)
        return message

    def _events(self, response: ModelResponse, model: str) -> Iterator[tuple[str, dict[str, Any]]]:
        start = self._message(response, model)
        start["usage"]["output_tokens"] = 1  # a placeholder, as recorded; the total comes last
        yield "message_start", {"type": "message_start", "message": start}
        for index, block in enumerate(self._content(response)):
            kind = block["type"]
            opening: dict[str, Any] = block
            deltas: list[dict[str, Any]] = []
            if kind == "text":
                opening = {"type": "text", "text": ""}
                deltas = [
                    {"type": "text_delta", "text": t}
                    for t in _pieces(block["text"], self.chunk_size)
                ]
            elif kind == "tool_use":
                opening = {**block, "input": {}}
                arguments = json.dumps(block["input"])
                deltas = [{"type": "input_json_delta", "partial_json": ""}]
                deltas += [
                    {"type": "input_json_delta", "partial_json": p}
                    for p in _pieces(arguments, self.chunk_size)
                ]
            elif kind == "thinking":
                opening = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [
                    {"type": "thinking_delta", "thinking": t}
                    for t in _pieces(block["thinking"], self.chunk_size)
                ]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            yield (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opening},
            )
            if index == 0:
                yield "ping", {"type": "ping"}
            for delta in deltas:
                yield (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            yield "content_block_stop", {"type": "content_block_stop", "index": index}
        stop = "refusal" if response.refusal else _stop_reason(response)
        yield (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": _usage(response.usage),
            },
        )
        yield "message_stop", {"type": "message_stop"}

    async def _stream(
        self, send: Send, receive: Receive, events: Iterator[tuple[str, dict[str, Any]]]
    ) -> None:
        await stream_body(
            send,
            receive,
            (_frame(name, payload, i) for i, (name, payload) in enumerate(events)),
            content_type="text/event-stream; charset=utf-8",
            disconnected=self.disconnected,
            delay=self.stream_delay,
        )


def _frame(name: str, payload: dict[str, Any], position: int) -> bytes:
    # A ping has a space after its colon; other data lines are padded with spaces
    # before their last brace (both as recorded in text_stream_sonnet4).
    data = json.dumps(payload, separators=(",", ":"))
    data = '{"type": "ping"}' if name == "ping" else data[:-1] + " " * (position % 7) + "}"
    return f"event: {name}\ndata: {data}\n\n".encode()


async def _error(send: Send, error: ScriptedHTTPError) -> None:
    await _send_json(send, error.status, error.body, error.headers)
