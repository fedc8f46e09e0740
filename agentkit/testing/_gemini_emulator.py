"""A loopback Gemini API server whose answers come from a Python function.

``GeminiEmulator`` is a plain ASGI app speaking
``POST /v1beta/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``. It reads the wire request back into a
neutral ``ModelRequest``, asks a ``ModelFunction`` for the answer and writes
it the way the recordings in ``tests/fixtures/real_traffic/gemini`` show:
whole function calls in one chunk, ``usageMetadata`` on every chunk,
``finishReason`` on the last, frames ending in ``\\r\\n\\r\\n`` and no
``[DONE]``; a bad key is a 400 ``API_KEY_INVALID`` (labelled
``text/event-stream`` on the streaming endpoint, as recorded).

Like the OpenAI emulator, it writes the format independently of
``agentkit_adapters``, so a test checks two readings of it against each other.
"""

from __future__ import annotations

import base64
import json
import re
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
    Usage,
)
from .._model import ModelRequest, ModelResponse, ModelSettings, ToolDefinition
from ._asgi import Receive, Scope, Send, stream_body
from ._asgi import read_body as _read_body
from ._asgi import send_json as _send_json
from ._function import FunctionAdapter, ModelFunction
from ._openai_emulator import ScriptedHTTPError

__all__ = ["GeminiEmulator", "gemini_error", "parse_gemini_request"]

_ROUTE = re.compile(r"/v1(?:alpha|beta)?/models/([^/:]+):(generateContent|streamGenerateContent)")
_CACHES = re.compile(r"/v1(?:alpha|beta)?/cachedContents")
#: What a request naming a cached content may not carry itself (the API's 400).
_CACHED_FIELDS = ("systemInstruction", "tools", "toolConfig")
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def gemini_error(
    status: int,
    message: str,
    *,
    status_name: str | None = None,
    details: list[dict[str, Any]] | None = None,
    retry_delay: float | None = None,
    headers: Mapping[str, str] | None = None,
) -> ScriptedHTTPError:
    """An error in Google's shape (``{"error": {code, message, status, details}}``).

    Args:
        status: The HTTP status.
        message: ``error.message``.
        status_name: ``error.status``, e.g. ``RESOURCE_EXHAUSTED``; derived from
            ``status`` by default.
        details: ``error.details`` entries.
        retry_delay: Seconds, added as a ``google.rpc.RetryInfo`` detail
            (``"retryDelay": "34.4s"``, as in case ``error_429_resource_exhausted``).
        headers: Extra response headers.

    Returns:
        The exception (raise it from the scripted model).
    """
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": status_name or _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    items = list(details or [])
    if retry_delay is not None:
        items.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay:g}s"}
        )
    if items:
        error["details"] = items
    return ScriptedHTTPError(status, {"error": error}, headers)


def _bad_key() -> Any:
    # The body of case error_400_api_key_invalid, word for word.
    message = "API key not valid. Please pass a valid API key."
    return gemini_error(
        400,
        message,
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": message,
            },
        ],
    ).body


# -- wire request -> ModelRequest ------------------------------------------------------------

_BUDGET_EFFORT = {512: "minimal", 2048: "low", 8192: "medium", 24576: "high"}


def _media(part: dict[str, Any]) -> Part:
    if "fileData" in part:
        data = part["fileData"]
        return ImagePart(url=data["fileUri"], media_type=data.get("mimeType"))
    blob = part["inlineData"]
    raw = base64.b64decode(blob["data"])
    if blob["mimeType"].startswith("audio/"):
        return AudioPart(data=raw, media_type=blob["mimeType"])
    return ImagePart(data=raw, media_type=blob["mimeType"])


def _model_parts(parts: list[dict[str, Any]], model: str, calls: list[ToolCallPart]) -> list[Part]:
    out: list[Part] = []
    for part in parts:
        signature = part.get("thoughtSignature")
        if part.get("thought"):
            out.append(
                ReasoningPart(
                    text=part.get("text", ""), signature=signature, provider="gemini", model=model
                )
            )
            continue
        if signature:
            out.append(ReasoningPart(signature=signature, provider="gemini", model=model))
        if "functionCall" in part:
            call = part["functionCall"]
            call_id = call.get("id") or f"{call['name']}-{len(calls)}"
            calls.append(
                ToolCallPart(id=call_id, name=call["name"], arguments=call.get("args") or {})
            )
            out.append(calls[-1])
        elif "text" in part:
            if part["text"]:
                out.append(TextPart(text=part["text"]))
        else:
            out.append(_media(part))
    return out


def _result(response: dict[str, Any], calls: list[ToolCallPart]) -> ToolResultPart:
    # Without ids, a result answers the first open call of its name (Gemini 2.5's way).
    name = response["name"]
    call_id = response.get("id")
    if call_id is None:
        match = next((c for c in calls if c.name == name), None)
        if match is None:
            raise ValueError(f"a function response for {name!r} answers no function call")
        call_id = match.id
    calls[:] = [c for c in calls if c.id != call_id]
    payload = response.get("response") or {}
    is_error = "error" in payload and "output" not in payload
    value = payload.get("error" if is_error else "output", payload)
    text = value if isinstance(value, str) else json.dumps(value)
    return ToolResultPart(
        call_id=call_id, name=name, content=[TextPart(text=text)], is_error=is_error
    )


def parse_gemini_request(body: Any, model: str = "emulated") -> ModelRequest:
    """Read a ``generateContent`` body back into a neutral ``ModelRequest``.

    A ``user`` turn of function responses becomes a ``tool`` message;
    signatures become ``ReasoningPart`` s stamped ``gemini`` and ``model``.

    Raises:
        ValueError: the body is not a valid request (pydantic's errors included).
        KeyError: a required field is missing.
    """
    if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
        raise ValueError("the body must be a JSON object with a 'contents' array")
    messages: list[Message] = []
    system = body.get("systemInstruction")
    if system:
        messages.append(Message.system("".join(p.get("text", "") for p in system["parts"])))
    calls: list[ToolCallPart] = []
    for content in body["contents"]:
        role, parts = content.get("role", "user"), content["parts"]
        if role == "model":
            messages.append(Message(role="assistant", parts=_model_parts(parts, model, calls)))
            continue
        if role != "user":
            raise ValueError(f"unknown role {role!r}")
        results: list[Part] = [
            _result(p["functionResponse"], calls) for p in parts if "functionResponse" in p
        ]
        rest: list[Part] = [
            TextPart(text=p["text"]) if "text" in p else _media(p)
            for p in parts
            if "functionResponse" not in p
        ]
        if results:
            messages.append(Message(role="tool", parts=results))
        if rest or not results:
            messages.append(Message(role="user", parts=rest))
    tools = [
        ToolDefinition(
            name=d["name"],
            description=d.get("description"),
            input_schema=d.get("parametersJsonSchema")
            or d.get("parameters")
            or {"type": "object", "properties": {}},
        )
        for tool in body.get("tools") or ()
        for d in tool.get("functionDeclarations") or ()
    ]
    choice: str | None = None
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig")
    if calling:
        names = calling.get("allowedFunctionNames") or []
        mode = calling.get("mode", "AUTO")
        choice = (
            names[0]
            if mode == "ANY" and len(names) == 1
            else {"AUTO": "auto", "NONE": "none", "ANY": "required"}[mode]
        )
    config = dict(body.get("generationConfig") or {})
    output_schema = config.pop("responseJsonSchema", None) or config.pop("responseSchema", None)
    config.pop("responseMimeType", None)
    values: dict[str, Any] = {}
    for wire, name in (
        ("maxOutputTokens", "max_tokens"),
        ("temperature", "temperature"),
        ("topP", "top_p"),
        ("stopSequences", "stop"),
        ("seed", "seed"),
    ):
        if wire in config:
            values[name] = config.pop(wire)
    thinking = config.pop("thinkingConfig", None) or {}
    effort = thinking.get("thinkingLevel") or _BUDGET_EFFORT.get(thinking.get("thinkingBudget", -1))
    if effort:
        values["reasoning_effort"] = effort
    known = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
    extra = {k: v for k, v in body.items() if k not in known}
    if config:
        extra["generationConfig"] = config
    return ModelRequest(
        messages=messages,
        tools=tools,
        tool_choice=choice,
        output_schema=output_schema,
        settings=ModelSettings(**values, extra=extra),
    )


# -- ModelResponse -> wire -------------------------------------------------------------------

_WIRE_FINISH = {
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "error": "MALFORMED_FUNCTION_CALL",
    "other": "OTHER",
}


def _finish(response: ModelResponse) -> str:
    raw = response.raw_finish_reason
    if raw and raw.isupper():
        return raw  # already Gemini's word
    return _WIRE_FINISH.get(response.finish_reason, "STOP")


def _usage(usage: Usage | None, share: float = 1.0) -> dict[str, Any] | None:
    if usage is None:
        return None
    thoughts = usage.reasoning_output_tokens
    candidates = round((usage.output_tokens - thoughts) * share)
    wire: dict[str, Any] = {"promptTokenCount": usage.input_tokens}
    if candidates:
        wire["candidatesTokenCount"] = candidates
    wire["totalTokenCount"] = usage.input_tokens + candidates + thoughts
    wire["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": usage.input_tokens}]
    if thoughts:
        wire["thoughtsTokenCount"] = thoughts
    if usage.cache_read_input_tokens:
        wire["cachedContentTokenCount"] = usage.cache_read_input_tokens
    return wire


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class GeminiEmulator:
    """An ASGI app speaking the Gemini API's ``generateContent`` for a scripted model.

    The model function sees the neutral ``ModelRequest`` read back from the
    wire (``parse_gemini_request``) and answers like a ``FunctionAdapter`` 's;
    it may raise ``ScriptedHTTPError`` (see ``gemini_error``) to answer with an
    error instead: a status of 200 sends its body as the answer (a blocked
    prompt's ``promptFeedback``, say), as one SSE event when streaming.

    Args:
        function: The scripted model.
        api_key: When set, requests must carry it in ``x-goog-api-key`` (or
            ``?key=``) or get Gemini's 400 ``API_KEY_INVALID``.
        chunk_size: Characters per streamed text or thought fragment.
        stream_delay: Seconds to wait between streamed chunks.
        call_ids: Give function calls ids, as Gemini 3 does (2.5 gives none).
        thought_signatures: Sign the first function call of each answer (or
            its first part) with a fresh ``thoughtSignature``, as Gemini does.

    Attributes:
        requests: Every request body received, parsed.
        paths: The path and query of every request.
        calls: Every ``ModelRequest`` the function was asked.
        signatures: Every signature handed out, in order.
        cached_contents: Explicit caches made with ``POST cachedContents``, by
            name: the stored fields. A request naming one gets them back,
            and its usage reports their estimated tokens as cached.
        disconnected: Set when a client hung up in the middle of a stream.
    """

    def __init__(
        self,
        function: ModelFunction,
        *,
        api_key: str | None = None,
        chunk_size: int = 8,
        stream_delay: float = 0.0,
        call_ids: bool = False,
        thought_signatures: bool = False,
    ) -> None:
        self._model = FunctionAdapter(function, model_id="emulated")
        self.api_key = api_key
        self.chunk_size = chunk_size
        self.stream_delay = stream_delay
        self.call_ids = call_ids
        self.thought_signatures = thought_signatures
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.calls = self._model.calls
        self.signatures: list[str] = []
        self.cached_contents: dict[str, dict[str, Any]] = {}
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
        path, query = scope["path"], scope.get("query_string", b"").decode()
        self.paths.append(f"{path}?{query}" if query else path)
        route = _ROUTE.fullmatch(path)
        if scope["method"] == "POST" and _CACHES.fullmatch(path):
            await self._create_cache(send, json.loads(await _read_body(receive)))
            return
        if scope["method"] != "POST" or route is None:
            message = f"The requested URL {path} was not found on this server."
            await _send_json(send, 404, gemini_error(404, message).body)
            return
        model, streaming = route[1], route[2] == "streamGenerateContent"
        # The recorded stream-endpoint errors are plain JSON labelled text/event-stream.
        kind = "text/event-stream" if streaming else "application/json; charset=UTF-8"
        headers = dict(scope["headers"])
        key = headers.get(b"x-goog-api-key", b"").decode() or _query_key(query)
        if self.api_key is not None and key != self.api_key:
            await _send(send, 400, _bad_key(), kind)
            return
        try:
            body = json.loads(await _read_body(receive))
            self.requests.append(body)
            cached = self._cached_content(body)
            if isinstance(cached, ScriptedHTTPError):
                await _send(send, cached.status, cached.body, kind)
                return
            request = parse_gemini_request({**body, **cached}, model)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            await _send(send, 400, gemini_error(400, f"Invalid JSON payload: {exc!r}").body, kind)
            return
        try:
            response = await self._model.generate(request)
        except ScriptedHTTPError as exc:
            if exc.status == 200 and streaming:
                await self._stream(send, receive, iter([exc.body]))
            else:
                await _send(send, exc.status, exc.body, kind, exc.headers)
            return
        except Exception as exc:
            # A bug in the scripted model: say so in the 500, where the test will look.
            error = gemini_error(500, f"the scripted model raised {exc!r}")
            await _send(send, 500, error.body, kind)
            return
        if cached and response.usage is not None:
            tokens = min(_tokens(cached), response.usage.input_tokens)
            usage = response.usage.model_copy(update={"cache_read_input_tokens": tokens})
            response = response.model_copy(update={"usage": usage})
        base = {"modelVersion": model, "responseId": uuid.uuid4().hex[:22]}
        if streaming and "alt=sse" in query:
            await self._stream(send, receive, self._chunks(response, base))
        elif streaming:
            # Without alt=sse the API answers with one JSON array of chunks.
            await _send(send, 200, list(self._chunks(response, base)), "application/json")
        else:
            await _send(send, 200, self._whole(response, base), kind)

    async def _create_cache(self, send: Send, body: dict[str, Any]) -> None:
        name = f"cachedContents/{uuid.uuid4().hex[:12]}"
        self.cached_contents[name] = {k: body[k] for k in _CACHED_FIELDS if k in body}
        ttl = str(body.get("ttl", "3600s")).removesuffix("s")
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + float(ttl)))
        usage = {"totalTokenCount": _tokens(self.cached_contents[name])}
        answer = {"name": name, "model": body.get("model"), "expireTime": expires}
        await _send_json(send, 200, answer | {"usageMetadata": usage})

    def _cached_content(self, body: dict[str, Any]) -> dict[str, Any] | ScriptedHTTPError:
        """The fields a request's ``cachedContent`` stands for ({} when it names none)."""
        name = body.get("cachedContent")
        if name is None:
            return {}
        if any(field in body for field in _CACHED_FIELDS):
            return gemini_error(
                400,
                "CachedContent can not be used with GenerateContent request setting "
                "system_instruction, tools or tool_config.",
            )
        stored = self.cached_contents.get(name)
        if stored is None:
            return gemini_error(403, f"CachedContent not found (or permission denied): {name}")
        return stored

    def _parts(self, response: ModelResponse) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        pending: str | None = None
        for part in response.message.parts:
            wire: dict[str, Any]
            if isinstance(part, ReasoningPart):
                if part.text is None:
                    pending = part.signature
                    continue
                wire = {"text": part.text, "thought": True}
                if part.signature:
                    wire["thoughtSignature"] = part.signature
            elif isinstance(part, TextPart):
                wire = {"text": part.text}
            elif isinstance(part, ToolCallPart):
                call: dict[str, Any] = {"name": part.name, "args": part.arguments}
                if self.call_ids:
                    call = {"id": uuid.uuid4().hex[:8], **call}
                wire = {"functionCall": call}
            else:
                continue
            if pending:
                wire["thoughtSignature"], pending = pending, None
            parts.append(wire)
        if response.refusal:  # Gemini has no refusal field: the model says it in text
            parts.append({"text": response.refusal})
        if self.thought_signatures and parts:
            first = next((p for p in parts if "functionCall" in p), parts[0])
            if "thoughtSignature" not in first:
                signature = base64.b64encode(uuid.uuid4().bytes).decode()
                self.signatures.append(signature)
                first["thoughtSignature"] = signature
        return parts

    def _candidate(self, parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {}
        if parts:
            candidate["content"] = {"parts": parts, "role": "model"}
        if finish:
            candidate["finishReason"] = finish
            if finish == "STOP" and any("functionCall" in p for p in parts):
                candidate["finishMessage"] = "Model generated function call(s)."
        candidate["index"] = 0
        return candidate

    def _whole(self, response: ModelResponse, base: dict[str, Any]) -> dict[str, Any]:
        finish = _finish(response)
        parts = [] if finish in ("SAFETY", "PROHIBITED_CONTENT") else self._parts(response)
        body: dict[str, Any] = {"candidates": [self._candidate(parts, finish)]}
        usage = _usage(response.usage)
        return body | ({"usageMetadata": usage} if usage else {}) | base

    def _chunks(self, response: ModelResponse, base: dict[str, Any]) -> Iterator[dict[str, Any]]:
        finish = _finish(response)
        groups: list[list[dict[str, Any]]] = []  # the parts of each chunk
        for part in [] if finish in ("SAFETY", "PROHIBITED_CONTENT") else self._parts(response):
            if "functionCall" in part:
                if groups and "functionCall" in groups[-1][-1]:
                    groups[-1].append(part)  # parallel calls share one chunk, as recorded
                else:
                    groups.append([part])
                continue
            pieces = _pieces(part["text"], self.chunk_size)
            for i, piece in enumerate(pieces):
                wire = {**part, "text": piece}
                if i < len(pieces) - 1:
                    wire.pop("thoughtSignature", None)  # the signature rides on the last piece
                groups.append([wire])
        groups = groups or [[]]
        for i, parts in enumerate(groups):
            last = i == len(groups) - 1
            body: dict[str, Any] = {
                "candidates": [self._candidate(parts, finish if last else None)]
            }
            usage = _usage(response.usage, 1.0 if last else (i + 1) / len(groups))
            yield body | ({"usageMetadata": usage} if usage else {}) | base

    async def _stream(self, send: Send, receive: Receive, chunks: Iterator[dict[str, Any]]) -> None:
        # Gemini frames end in \r\n\r\n and there is no [DONE] (case text_stream_25flash).
        await stream_body(
            send,
            receive,
            (b"data: " + json.dumps(item).encode() + b"\r\n\r\n" for item in chunks),
            content_type="text/event-stream",
            disconnected=self.disconnected,
            delay=self.stream_delay,
        )


def _tokens(fields: dict[str, Any]) -> int:
    # Four bytes a token, as the adapters' estimates: the emulator has no tokenizer.
    return -(-len(json.dumps(fields, separators=(",", ":"))) // 4)


def _query_key(query: str) -> str:
    for item in query.split("&"):
        name, _, value = item.partition("=")
        if name == "key":
            return value
    return ""


async def _send(
    send: Send, status: int, body: Any, kind: str, headers: Mapping[str, str] | None = None
) -> None:
    # Pretty-printed, as Gemini sends it (case error_400_api_key_invalid).
    await _send_json(send, status, body, headers, content_type=kind, indent=2)
