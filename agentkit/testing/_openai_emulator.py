"""A loopback OpenAI Chat Completions server whose answers come from a Python function.

``OpenAIChatEmulator`` is a plain ASGI app (no web framework needed). It reads
the wire request back into a neutral ``ModelRequest``, asks a ``ModelFunction``
(the same kind ``FunctionAdapter`` takes) for the answer, and writes it in
OpenAI's wire format: JSON, or SSE with text in small deltas, tool-call
arguments in two or more fragments and a final usage chunk. So any OpenAI
client, ours or not, can be tested against a scripted model without a key or a
network. ``serve_asgi`` runs it (or any ASGI app) on a free loopback port.

This module writes the wire format independently of ``agentkit_adapters``, on
purpose: a test of the adapter against the emulator checks two readings of the
OpenAI format against each other instead of one against itself.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from .._messages import (
    AudioPart,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from .._model import ModelRequest, ModelResponse, ModelSettings, ToolDefinition
from ._asgi import Receive, Scope, Send, stream_body
from ._asgi import read_body as _read_body
from ._asgi import send_json as _send_json
from ._asgi import serve_asgi as serve_asgi
from ._function import FunctionAdapter, ModelFunction

__all__ = [
    "OpenAIChatEmulator",
    "ScriptedHTTPError",
    "openai_error",
    "parse_chat_request",
    "serve_asgi",
]


class ScriptedHTTPError(Exception):
    """Raise from a scripted model to make the emulator answer with an HTTP error.

    Args:
        status: The HTTP status.
        body: The JSON body.
        headers: Extra response headers, e.g. ``{"retry-after": "2"}``.
    """

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        super().__init__(f"scripted HTTP {status}")


def openai_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    error_type: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ScriptedHTTPError:
    """An error in OpenAI's shape, ready to raise from a scripted model.

    Args:
        status: The HTTP status.
        message: ``error.message``.
        code: ``error.code``, e.g. ``rate_limit_exceeded``.
        error_type: ``error.type``; by default ``server_error`` for 5xx, else
            ``invalid_request_error``.
        param: ``error.param``.
        headers: Extra response headers.

    Returns:
        The exception (raise it).
    """
    kind = error_type or ("server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return ScriptedHTTPError(status, body, headers)


# -- wire request -> ModelRequest ------------------------------------------------------------

_SETTINGS = {
    "max_completion_tokens": "max_tokens",
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "stop": "stop",
    "seed": "seed",
    "parallel_tool_calls": "parallel_tool_calls",
    "reasoning_effort": "reasoning_effort",
}
_STRUCTURAL = {"model", "messages", "tools", "tool_choice", "response_format", "stream"}
_STRUCTURAL |= {"stream_options"}
_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


def _content_parts(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(text=content)]
    parts: list[Part] = []
    for item in content:
        kind = item.get("type")
        if kind == "text":
            parts.append(TextPart(text=item["text"]))
        elif kind == "image_url":
            url = item["image_url"]["url"]
            if url.startswith("data:"):
                header, _, data = url.partition(",")
                media_type = header[5:].split(";")[0]
                parts.append(ImagePart(data=base64.b64decode(data), media_type=media_type))
            else:
                parts.append(ImagePart(url=url))
        elif kind == "input_audio":
            audio = item["input_audio"]
            media_type = _AUDIO_TYPES.get(audio["format"], f"audio/{audio['format']}")
            parts.append(AudioPart(data=base64.b64decode(audio["data"]), media_type=media_type))
        else:
            raise ValueError(f"unsupported content part type {kind!r}")
    return parts


def _text(content: Any) -> str:
    return "".join(p.text for p in _content_parts(content) if isinstance(p, TextPart))


def parse_chat_request(body: Any) -> ModelRequest:
    """Read a Chat Completions request body back into a neutral ``ModelRequest``.

    Consecutive ``role: "tool"`` messages become one tool message, the way the
    runner writes them; ``developer`` counts as ``system``.

    Raises:
        ValueError: the body is not a valid request (pydantic's errors included).
    """
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise ValueError("the body must be a JSON object with a 'messages' array")
    messages: list[Message] = []
    results: list[Part] = []
    names: dict[str, str] = {}
    for item in body["messages"]:
        role = item.get("role")
        if role != "tool" and results:
            messages.append(Message(role="tool", parts=results))
            results = []
        if role in ("system", "developer", "user"):
            parts = _content_parts(item.get("content"))
            messages.append(Message(role="system" if role != "user" else "user", parts=parts))
        elif role == "assistant":
            parts = [TextPart(text=t)] if (t := _text(item.get("content"))) else []
            for call in item.get("tool_calls") or ():
                function = call["function"]
                names[call["id"]] = function["name"]
                raw = function.get("arguments") or "{}"
                parts.append(ToolCallPart(id=call["id"], name=function["name"], **_args(raw)))
            messages.append(Message(role="assistant", parts=parts))
        elif role == "tool":
            call_id = item["tool_call_id"]
            text = TextPart(text=_text(item.get("content")))
            results.append(ToolResultPart(call_id=call_id, name=names.get(call_id), content=[text]))
        else:
            raise ValueError(f"unknown message role {role!r}")
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
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        choice = choice["function"]["name"]
    output_schema, output_name = None, "output"
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        output_schema = response_format["json_schema"].get("schema")
        output_name = response_format["json_schema"].get("name", "output")
    values: dict[str, Any] = {_SETTINGS[k]: v for k, v in body.items() if k in _SETTINGS}
    if isinstance(values.get("stop"), str):
        values["stop"] = [values["stop"]]
    extra = {k: v for k, v in body.items() if k not in _SETTINGS and k not in _STRUCTURAL}
    return ModelRequest(
        messages=messages,
        tools=tools,
        tool_choice=choice,
        output_schema=output_schema,
        output_name=output_name,
        settings=ModelSettings(**values, extra=extra),
    )


def _args(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {"raw_arguments": raw}
    return {"arguments": value} if isinstance(value, dict) else {"raw_arguments": raw}


# -- ModelResponse -> wire -------------------------------------------------------------------

_WIRE_FINISH = {"length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter"}


def _usage(response: ModelResponse) -> dict[str, Any] | None:
    usage = response.usage
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_output_tokens},
    }


def _pieces(text: str, size: int, at_least: int = 1) -> list[str]:
    size = max(1, min(size, -(-len(text) // at_least)))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class OpenAIChatEmulator:
    """An ASGI app speaking ``POST /v1/chat/completions`` for a scripted model.

    The model function sees the neutral ``ModelRequest`` read back from the
    wire and answers like a ``FunctionAdapter``'s: text, a ``Message``, parts,
    or a whole ``ModelResponse``; it may raise ``ScriptedHTTPError`` (see
    ``openai_error``) to answer with an HTTP error instead.

    Args:
        function: The scripted model.
        api_key: When set, requests must carry ``Authorization: Bearer <api_key>``
            or get OpenAI's 401.
        chunk_size: Characters per streamed text or argument fragment.
        stream_delay: Seconds to wait between streamed chunks.
        reasoning_field: Stream and return reasoning parts under this key
            (``reasoning_content``, as DeepSeek does); None leaves them out, as OpenAI does.

    Attributes:
        requests: Every request body received, parsed.
        calls: Every ``ModelRequest`` the function was asked.
        disconnected: Set when a client hung up in the middle of a stream.
    """

    def __init__(
        self,
        function: ModelFunction,
        *,
        api_key: str | None = None,
        chunk_size: int = 8,
        stream_delay: float = 0.0,
        reasoning_field: str | None = None,
    ) -> None:
        self._model = FunctionAdapter(function, model_id="emulated")
        self.api_key = api_key
        self.chunk_size = chunk_size
        self.stream_delay = stream_delay
        self.reasoning_field = reasoning_field
        self.requests: list[dict[str, Any]] = []
        self.calls = self._model.calls
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
        method, path = scope["method"], scope["path"]
        if method == "GET" and path.endswith("/models"):
            await _send_json(send, 200, {"object": "list", "data": []})
            return
        if method != "POST" or not path.endswith("/chat/completions"):
            error = openai_error(404, f"Unknown request URL: {method} {path}.", code="unknown_url")
            await _send_json(send, 404, error.body)
            return
        headers = dict(scope["headers"])
        if self.api_key is not None and headers.get(b"authorization") != (
            f"Bearer {self.api_key}".encode()
        ):
            error = openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
            await _send_json(send, 401, error.body)
            return
        try:
            body = json.loads(await _read_body(receive))
            self.requests.append(body)
            request = parse_chat_request(body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            await _send_json(send, 400, openai_error(400, f"Invalid request: {exc!r}").body)
            return
        try:
            response = await self._model.generate(request)
        except ScriptedHTTPError as exc:
            await _send_json(send, exc.status, exc.body, exc.headers)
            return
        except Exception as exc:
            # A bug in the scripted model: say so in the 500, where the test will look.
            message = f"the scripted model raised {exc!r}"
            await _send_json(send, 500, openai_error(500, message).body)
            return
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        model = str(body.get("model", "emulated"))
        # Ids the script made up are replaced by OpenAI-looking ones; call_... ids are kept.
        ids = {
            p.id: p.id if p.id.startswith("call_") else f"call_{uuid.uuid4().hex[:24]}"
            for p in response.message.tool_calls
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = self._chunks(response, completion_id, model, ids, include_usage)
            await self._stream(send, receive, chunks)
        else:
            await _send_json(send, 200, self._completion(response, completion_id, model, ids))

    def _completion(
        self, response: ModelResponse, completion_id: str, model: str, ids: dict[str, str]
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant"}
        text = response.message.text
        calls = response.message.tool_calls
        message["content"] = text or (None if calls or response.refusal else "")
        message["refusal"] = response.refusal
        reasoning = "".join(
            p.text or "" for p in response.message.parts if isinstance(p, ReasoningPart)
        )
        if reasoning and self.reasoning_field:
            message[self.reasoning_field] = reasoning
        if calls:
            message["tool_calls"] = [
                {
                    "id": ids[c.id],
                    "type": "function",
                    "function": {
                        "name": c.name,
                        "arguments": c.raw_arguments or json.dumps(c.arguments),
                    },
                }
                for c in calls
            ]
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish(response),
                }
            ],
            "usage": _usage(response),
            "system_fingerprint": "fp_agentkit",
        }

    @staticmethod
    def _finish(response: ModelResponse) -> str:
        return response.raw_finish_reason or _WIRE_FINISH.get(response.finish_reason, "stop")

    def _chunks(
        self,
        response: ModelResponse,
        completion_id: str,
        model: str,
        ids: dict[str, str],
        include_usage: bool,
    ) -> Iterator[dict[str, Any]]:
        base: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk"}
        base |= {"created": int(time.time()), "model": model, "system_fingerprint": "fp_agentkit"}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return base | {"choices": [choice]} | ({"usage": None} if include_usage else {})

        # The first delta's shape follows the recordings: content "" for text,
        # null beside tool calls, refusal "" when refusing.
        if response.refusal:
            yield chunk({"role": "assistant", "content": None, "refusal": ""})
        else:
            content = "" if response.message.text else None
            yield chunk({"role": "assistant", "content": content, "refusal": None})
        index = 0
        for part in response.message.parts:
            if isinstance(part, TextPart):
                for piece in _pieces(part.text, self.chunk_size):
                    yield chunk({"content": piece})
            elif isinstance(part, ReasoningPart) and part.text and self.reasoning_field:
                for piece in _pieces(part.text, self.chunk_size):
                    yield chunk({self.reasoning_field: piece})
            elif isinstance(part, ToolCallPart):
                opening = {"name": part.name, "arguments": ""}
                start = {"index": index, "id": ids[part.id], "type": "function"}
                yield chunk({"tool_calls": [start | {"function": opening}]})
                arguments = part.raw_arguments or json.dumps(part.arguments)
                for piece in _pieces(arguments, self.chunk_size, at_least=2):
                    fragment = {"index": index, "function": {"arguments": piece}}
                    yield chunk({"tool_calls": [fragment]})
                index += 1
        if response.refusal:
            for piece in _pieces(response.refusal, self.chunk_size):
                yield chunk({"refusal": piece})
        yield chunk({}, self._finish(response))
        usage = _usage(response)
        if include_usage and usage is not None:
            yield base | {"choices": [], "usage": usage}

    async def _stream(self, send: Send, receive: Receive, chunks: Iterator[dict[str, Any]]) -> None:
        await stream_body(
            send,
            receive,
            (b"data: " + json.dumps(item).encode() + b"\n\n" for item in chunks),
            content_type="text/event-stream; charset=utf-8",
            disconnected=self.disconnected,
            delay=self.stream_delay,
            final=b"data: [DONE]\n\n",
        )
