"""A loopback OpenAI Responses server whose answers come from a Python function.

``OpenAIResponsesEmulator`` (ASGI) reads ``POST /v1/responses`` back into a
neutral ``ModelRequest``, asks a ``ModelFunction``, and answers with a
``response`` object or typed SSE events (``event:``/``data:`` lines,
``sequence_number``, fragments, no ``[DONE]``) shaped after the recordings in
``tests/fixtures/real_traffic/openai_responses``. It shares no code with
``agentkit_adapters``: the adapter's tests check two readings of the format.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from .._messages import (
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
from ._openai_emulator import (
    ScriptedHTTPError,
    _args,
    _content_parts,
    _pieces,
    openai_error,
)

__all__ = ["OpenAIResponsesEmulator", "ScriptedResponseFailure", "parse_responses_request"]

_CUSTOM_SCHEMA = {"type": "object", "properties": {"input": {"type": "string"}}}
_NO_ARGS: dict[str, Any] = {"type": "object", "properties": {}}
_SETTINGS = {"max_output_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p"}
_SETTINGS |= {"parallel_tool_calls": "parallel_tool_calls"}
_STRUCTURAL = {"model", "input", "instructions", "tools", "tool_choice", "text", "stream"}
_STRUCTURAL |= {"reasoning"}
_ASSISTANT_ITEMS = {"function_call", "custom_tool_call", "reasoning"}
#: Call item type -> (stream event stem, field streamed in fragments).
_CALL_EVENTS = {
    "function_call": ("function_call_arguments", "arguments"),
    "custom_tool_call": ("custom_tool_call_input", "input"),
}
_RESULT_ITEMS = {"function_call_output", "custom_tool_call_output"}


class ScriptedResponseFailure(Exception):
    """Raise from a scripted model to fail the call the way OpenAI fails a stream.

    Streamed: a 200 stream of ``response.created``, an ``error`` event and
    ``response.failed`` (recording ``stream_error_insufficient_quota``).
    Not streamed: HTTP ``status`` with the same error.

    Args:
        code: ``error.code``, e.g. ``insufficient_quota``.
        message: ``error.message``.
        status: The HTTP status of the non-streamed answer.
    """

    def __init__(self, code: str, message: str, *, status: int = 500) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"scripted stream error {code}")


# -- wire request -> ModelRequest ------------------------------------------------------------


def _content(content: Any) -> list[Part]:
    """Message content, read by the Chat emulator's reader once renamed to its part types."""
    if isinstance(content, str):
        return [TextPart(text=content)]
    chat: list[dict[str, Any]] = []
    for item in content or ():
        kind = item.get("type")
        if kind in ("input_text", "output_text"):
            chat.append({"type": "text", "text": item["text"]})
        elif kind == "input_image":
            chat.append({"type": "image_url", "image_url": {"url": item["image_url"]}})
        elif kind != "refusal":
            raise ValueError(f"unsupported content part type {kind!r}")
    return _content_parts(chat)


def _assistant_part(item: dict[str, Any]) -> Part:
    kind = item["type"]
    if kind == "reasoning":
        summary = "\n\n".join(s["text"] for s in item.get("summary") or ())
        signature = item.get("encrypted_content")
        return ReasoningPart(text=summary or None, signature=signature, id=item.get("id"))
    call = {"id": item["call_id"], "name": item["name"]}
    if kind == "custom_tool_call":
        return ToolCallPart(**call, arguments={"input": item["input"]})
    return ToolCallPart(**call, **_args(item.get("arguments") or "{}"))


def parse_responses_request(body: Any) -> ModelRequest:
    """Read a Responses request body back into a neutral ``ModelRequest``.

    ``instructions`` becomes a first system message and ``developer`` counts as
    ``system``. Consecutive assistant-side items (an assistant message, function
    and custom tool calls, reasoning) make one assistant message, and
    consecutive tool outputs one tool message, the way the runner writes them.
    Custom tools become definitions taking one string ``input``.

    Raises:
        ValueError: the body is not a valid request (pydantic's errors included).
    """
    if not isinstance(body, dict) or not isinstance(body.get("input"), str | list):
        raise ValueError("the body must be a JSON object with an 'input' string or array")
    items = body["input"]
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    messages: list[Message] = []
    if body.get("instructions"):
        messages.append(Message.system(body["instructions"]))
    pending: list[Part] = []
    pending_role: str | None = None
    names: dict[str, str] = {}
    for item in items:
        kind = item.get("type", "message")
        role = item.get("role")
        side = "assistant" if kind in _ASSISTANT_ITEMS or role == "assistant" else None
        side = "tool" if kind in _RESULT_ITEMS else side
        if pending and (side is None or side != pending_role):
            messages.append(Message(role=pending_role, parts=pending))
            pending = []
        if kind in _RESULT_ITEMS:
            text = [TextPart(text=item["output"])]
            call_id = item["call_id"]
            pending.append(ToolResultPart(call_id=call_id, name=names.get(call_id), content=text))
        elif kind in _ASSISTANT_ITEMS:
            part = _assistant_part(item)
            if isinstance(part, ToolCallPart):
                names[part.id] = part.name
            pending.append(part)
        elif kind == "message" and role == "assistant":
            pending.extend(_content(item.get("content")))
        elif kind == "message" and role in ("user", "system", "developer"):
            neutral = "user" if role == "user" else "system"
            messages.append(Message(role=neutral, parts=_content(item.get("content"))))
        else:
            raise ValueError(f"unknown input item {kind!r} (role {role!r})")
        pending_role = side
    if pending:
        messages.append(Message(role=pending_role, parts=pending))
    tools = [
        ToolDefinition(name=t["name"], description=t.get("description"), input_schema=schema)
        for t in body.get("tools") or ()
        if t.get("type") in ("function", "custom")
        for schema in [_CUSTOM_SCHEMA if t["type"] == "custom" else t.get("parameters") or _NO_ARGS]
    ]
    choice = body.get("tool_choice")
    choice = choice["name"] if isinstance(choice, dict) else choice
    text_format = (body.get("text") or {}).get("format") or {}
    schema = text_format.get("schema") if text_format.get("type") == "json_schema" else None
    values: dict[str, Any] = {_SETTINGS[k]: v for k, v in body.items() if k in _SETTINGS}
    if (body.get("reasoning") or {}).get("effort"):
        values["reasoning_effort"] = body["reasoning"]["effort"]
    extra = {k: v for k, v in body.items() if k not in _SETTINGS and k not in _STRUCTURAL}
    return ModelRequest(
        messages=messages,
        tools=tools,
        tool_choice=choice,
        output_schema=schema,
        output_name=text_format.get("name", "output"),
        settings=ModelSettings(**values, extra=extra),
    )


# -- ModelResponse -> wire -------------------------------------------------------------------


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _usage(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    wire: dict[str, Any] = {"input_tokens": usage.input_tokens}
    wire["input_tokens_details"] = {"cached_tokens": usage.cache_read_input_tokens}
    wire["output_tokens"] = usage.output_tokens
    wire["output_tokens_details"] = {"reasoning_tokens": usage.reasoning_output_tokens}
    return wire | {"total_tokens": usage.total_tokens}


def _output(response: ModelResponse, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``output`` items for ``response``: consecutive texts share one message item."""
    custom = {t["name"] for t in body.get("tools") or () if t.get("type") == "custom"}
    encrypt = "reasoning.encrypted_content" in (body.get("include") or ())
    items: list[dict[str, Any]] = []
    status = "incomplete" if response.finish_reason in ("length", "content_filter") else "completed"
    for part in response.message.parts:
        if isinstance(part, TextPart):
            if not items or items[-1]["type"] != "message":
                items.append({"id": _id("msg"), "type": "message", "status": status})
                items[-1] |= {"content": [], "role": "assistant"}
            text = {"type": "output_text", "annotations": [], "logprobs": [], "text": part.text}
            items[-1]["content"].append(text)
        elif isinstance(part, ReasoningPart):
            summary = [{"type": "summary_text", "text": part.text}] if part.text else []
            secret = part.signature or (f"gAAAA{uuid.uuid4().hex}" if encrypt else None)
            item = {"id": part.id or _id("rs"), "type": "reasoning", "summary": summary}
            items.append(item | ({"encrypted_content": secret} if encrypt else {}))
        elif isinstance(part, ToolCallPart):
            call_id = part.id if part.id.startswith("call_") else _id("call")
            if part.name in custom:
                value = part.arguments.get("input", part.raw_arguments or "")
                item = {"type": "custom_tool_call", "id": _id("ctc"), "input": value}
            else:
                value = part.raw_arguments or json.dumps(part.arguments)
                item = {"id": _id("fc"), "type": "function_call", "arguments": value}
            items.append(item | {"status": "completed", "call_id": call_id, "name": part.name})
    if response.refusal:
        refusal = [{"type": "refusal", "refusal": response.refusal}]
        message = {"id": _id("msg"), "type": "message", "status": status, "role": "assistant"}
        items.append(message | {"content": refusal})
    return items


def _echoed(body: dict[str, Any]) -> dict[str, Any]:
    """The request's settings as a response object reports them (all required by the
    Open Responses ``ResponseResource`` schema, and sent so by OpenAI and DeepSeek)."""
    tools = [
        {"description": None, "parameters": None, "strict": None} | tool
        for tool in body.get("tools") or ()
        if tool.get("type") == "function"
    ]
    reasoning = body.get("reasoning") or {}
    return {
        "previous_response_id": body.get("previous_response_id"),
        "instructions": body.get("instructions"),
        "tools": tools,
        "tool_choice": body.get("tool_choice", "auto"),
        "truncation": body.get("truncation", "disabled"),
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "text": body.get("text") or {"format": {"type": "text"}},
        "top_p": body.get("top_p", 1.0),
        "presence_penalty": body.get("presence_penalty", 0.0),
        "frequency_penalty": body.get("frequency_penalty", 0.0),
        "top_logprobs": body.get("top_logprobs", 0),
        "temperature": body.get("temperature", 1.0),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "background": False,
        "service_tier": "default",
        "metadata": body.get("metadata") or {},
        "safety_identifier": body.get("safety_identifier"),
        "prompt_cache_key": body.get("prompt_cache_key"),
    }


def _failure(body: dict[str, Any], exc: ScriptedResponseFailure) -> Iterator[dict[str, Any]]:
    response: dict[str, Any] = {"id": _id("resp"), "status": "in_progress", "error": None}
    response |= {"model": body.get("model"), "output": [], "usage": None}
    yield {"type": "response.created", "response": response}
    yield {"type": "response.in_progress", "response": response}
    error = {"code": exc.code, "message": exc.message}
    yield {"type": "error", "error": error | {"type": exc.code, "param": None}}
    yield {"type": "response.failed", "response": response | {"status": "failed", "error": error}}


class OpenAIResponsesEmulator:
    """An ASGI app speaking ``POST /v1/responses`` for a scripted model.

    The function answers like a ``FunctionAdapter``'s, or raises
    ``ScriptedHTTPError`` (see ``openai_error``) or ``ScriptedResponseFailure``.
    Finish reasons ``length`` and ``content_filter`` become ``status:
    "incomplete"`` with that reason.

    Args:
        function: The scripted model.
        api_key: When set, requests must carry ``Authorization: Bearer <api_key>``
            or get OpenAI's 401.
        chunk_size: Characters per streamed text or argument fragment.
        stream_delay: Seconds to wait between streamed events.

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
    ) -> None:
        self._model = FunctionAdapter(function, model_id="emulated")
        self.api_key = api_key
        self.chunk_size = chunk_size
        self.stream_delay = stream_delay
        self.requests: list[dict[str, Any]] = []
        self.calls = self._model.calls
        self.disconnected = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] != "http":
            return  # no lifespan: there is nothing to start or stop
        method, path = scope["method"], scope["path"]
        expected = f"Bearer {self.api_key}".encode()
        if method != "POST" or not path.endswith("/responses"):
            error = openai_error(404, f"Unknown request URL: {method} {path}.", code="unknown_url")
        elif self.api_key is not None and dict(scope["headers"]).get(b"authorization") != expected:
            error = openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
        else:
            await self._answer(send, receive)
            return
        await _send_json(send, error.status, error.body)

    async def _answer(self, send: Send, receive: Receive) -> None:
        try:
            body = json.loads(await _read_body(receive))
            self.requests.append(body)
            request = parse_responses_request(body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            await _send_json(send, 400, openai_error(400, f"Invalid request: {exc!r}").body)
            return
        try:
            answer = await self._model.generate(request)
        except ScriptedResponseFailure as exc:
            if body.get("stream"):
                await self._stream(send, receive, _failure(body, exc))
                return
            error = openai_error(exc.status, exc.message, code=exc.code, error_type=exc.code)
            await _send_json(send, exc.status, error.body)
        except ScriptedHTTPError as exc:
            await _send_json(send, exc.status, exc.body, exc.headers)
        except Exception as exc:
            # A bug in the scripted model: say so in the 500, where the test will look.
            error = openai_error(500, f"the scripted model raised {exc!r}")
            await _send_json(send, 500, error.body)
        else:
            final = self._response(answer, body)
            if not body.get("stream"):
                await _send_json(send, 200, final)
                return
            await self._stream(send, receive, self._events(final))

    def _response(self, answer: ModelResponse, body: dict[str, Any]) -> dict[str, Any]:
        reason = {"length": "max_output_tokens", "content_filter": "content_filter"}
        incomplete = reason.get(answer.finish_reason)
        now = int(time.time())
        response = {"id": _id("resp"), "object": "response", "created_at": now}
        response["status"] = "incomplete" if incomplete else "completed"
        response["completed_at"] = None if incomplete else now
        response |= {"error": None, "model": str(body.get("model", "emulated"))}
        response["incomplete_details"] = {"reason": incomplete} if incomplete else None
        response |= {"output": _output(answer, body), "store": body.get("store", True)}
        return response | _echoed(body) | {"usage": _usage(answer.usage)}

    def _events(self, final: dict[str, Any]) -> Iterator[dict[str, Any]]:
        opening = final | {"status": "in_progress", "output": [], "usage": None}
        opening |= {"incomplete_details": None, "completed_at": None}
        yield {"type": "response.created", "response": opening}
        yield {"type": "response.in_progress", "response": opening}
        for index, item in enumerate(final["output"]):
            yield from self._item_events(index, item)
        yield {"type": f"response.{final['status']}", "response": final}

    def _item_events(self, index: int, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        kind, size = item["type"], self.chunk_size
        empty: dict[str, Any] = {"message": {"content": []}, "reasoning": {"summary": []}}.get(
            kind, {"arguments": ""} if kind == "function_call" else {"input": ""}
        )
        yield {"type": "response.output_item.added", "output_index": index, "item": item | empty}
        at = {"item_id": item["id"], "output_index": index}
        if kind in _CALL_EVENTS:
            name, field = _CALL_EVENTS[kind]
            for piece in _pieces(item[field], size, at_least=2):
                yield {"type": f"response.{name}.delta", **at, "delta": piece}
            yield {"type": f"response.{name}.done", **at, field: item[field]}
        for number, part in enumerate(item.get("content") or item.get("summary") or ()):
            text_kind = {"output_text": "output_text", "refusal": "refusal"}.get(part["type"])
            text = part.get("text", part.get("refusal", ""))
            where = at | ({"content_index": number} if text_kind else {"summary_index": number})
            event = "content_part" if text_kind else "reasoning_summary_part"
            text_kind = text_kind or "reasoning_summary_text"
            blank = part | ({"refusal": ""} if part["type"] == "refusal" else {"text": ""})
            yield {"type": f"response.{event}.added", **where, "part": blank}
            for piece in _pieces(text, size):
                yield {"type": f"response.{text_kind}.delta", **where, "delta": piece}
            done = "refusal" if part["type"] == "refusal" else "text"
            yield {"type": f"response.{text_kind}.done", **where, done: text}
            yield {"type": f"response.{event}.done", **where, "part": part}
        yield {"type": "response.output_item.done", "output_index": index, "item": item}

    async def _stream(self, send: Send, receive: Receive, events: Iterator[dict[str, Any]]) -> None:
        def frames() -> Iterator[bytes]:
            for number, event in enumerate(events):
                event = {"type": event["type"], "sequence_number": number, **event}
                yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()

        await stream_body(
            send,
            receive,
            frames(),
            content_type="text/event-stream; charset=utf-8",
            disconnected=self.disconnected,
            delay=self.stream_delay,
        )
