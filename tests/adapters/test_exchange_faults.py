"""The exchange under faults a real host produces: bad bytes, huge errors, echoed keys, stalls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx2
import pytest
from agentkit_adapters._exchange import ERROR_BODY_LIMIT, HTTPExchange, StreamPlan

from agentkit import Message, ModelResponse, TextDeltaEvent
from agentkit._http_errors import MESSAGE_LIMIT
from agentkit.adapter import map_error_body, map_http_error
from agentkit.exceptions import (
    AuthenticationError,
    BadRequestError,
    ProviderConnectionError,
    ProviderTimeoutError,
    ServerError,
    ToolCallRejectedError,
    UnexpectedResponseError,
)

pytestmark = pytest.mark.anyio

URL = "http://127.0.0.1:9/v1/x"
KEY = "sk-test-planted-0123456789abcdef"


def _exchange(handler: Any, **options: Any) -> HTTPExchange:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    options.setdefault("headers", {"authorization": f"Bearer {KEY}"})
    return HTTPExchange("acme", "m-1", "http://127.0.0.1:9/v1", client=client, **options)


def _answer(status: int, body: Any, content_type: str = "text/event-stream", **headers: str):  # type: ignore[no-untyped-def]
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            status, headers={"content-type": content_type, **headers}, content=body
        )

    return handler


def _plan() -> StreamPlan:
    def whole(data: Any) -> ModelResponse:
        return ModelResponse(message=Message.assistant("x"), provider="acme", model_id="m-1")

    return StreamPlan(
        {"stream": True},
        feed=lambda frame: [TextDeltaEvent(text=str(frame.data.get("t", "")))],
        finish=lambda done: [],
        whole=whole,
    )


async def _call(exchange: HTTPExchange, call: str) -> None:
    if call == "post":
        await exchange.post(URL, {})
    else:
        await _stream(exchange)


async def _stream(exchange: HTTPExchange, **options: Any) -> list[str]:
    events = exchange.stream(URL, _plan, framing="sse", **options)
    return [e.text async for e in events if isinstance(e, TextDeltaEvent)]


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [error]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [e for e in (item.__cause__, item.__context__) if e is not None]


def _everything(error: BaseException) -> str:
    """Every message, repr, argument and attribute along the exception chain."""
    parts = []
    for item in _chain(error):
        parts += [str(item), repr(item), repr(item.args), repr(vars(item))]
        request = getattr(item, "_request", None)
        if request is not None:
            parts.append(repr(dict(request.headers)))
    return "\n".join(parts)


# -- 1: bytes that are not UTF-8 --------------------------------------------------------------


async def test_invalid_utf8_in_a_stream_line_is_an_unexpected_response() -> None:
    body = b'data: {"t": "a"}\n\ndata: {"t": "\xff\xfe"}\n\n'
    with pytest.raises(UnexpectedResponseError, match="not valid UTF-8") as info:
        await _stream(_exchange(_answer(200, body)))
    assert info.value.provider == "acme"


async def test_invalid_utf8_in_an_event_name_too() -> None:
    with pytest.raises(UnexpectedResponseError, match="acme: a stream line is not valid UTF-8"):
        await _stream(_exchange(_answer(200, b'event: \xc3\x28\ndata: {"t": "a"}\n\n')))


# -- 3: error bodies are bounded ----------------------------------------------------------------


async def test_a_huge_error_message_is_cut_and_the_body_read_with_a_limit() -> None:
    message = "x" * 5_000_000
    body = json.dumps({"error": {"message": message}}).encode()
    for call in ("post", "stream"):
        exchange = _exchange(_answer(400, body, "application/json"))
        with pytest.raises(BadRequestError) as info:
            await _call(exchange, call)
        text = str(info.value)
        assert len(text) < MESSAGE_LIMIT + 200, call
        # Cut at the read limit, the body is no longer JSON: the text is cut
        # again, and the count covers what was never read.
        assert f"({len(body) - MESSAGE_LIMIT} bytes more)" in text, call
        assert len(repr(info.value.body)) < 10_000


def test_map_http_error_cuts_the_message_and_every_body_string() -> None:
    error = map_http_error("acme", "m", 500, {}, {"error": {"message": "y" * 100_000}})
    assert isinstance(error, ServerError)
    assert str(error).endswith(f"… ({100_000 - MESSAGE_LIMIT} bytes more)")
    assert len(error.body["error"]["message"]) < 8_100


def test_a_short_error_is_left_whole() -> None:
    error = map_http_error("acme", "m", 500, {}, {"error": {"message": "broke"}})
    assert str(error) == "acme: 500 provider error (usually temporary): broke"


def test_the_read_limit_is_a_bound_not_the_whole_body() -> None:
    assert ERROR_BODY_LIMIT <= 1 << 20


# -- 4: keys never leave ------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["post", "stream"])
async def test_a_401_that_echoes_the_key_has_it_scrubbed(call: str) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}
    exchange = _exchange(_answer(401, json.dumps(body).encode(), "application/json"))
    with pytest.raises(AuthenticationError) as info:
        await _call(exchange, call)
    assert KEY not in _everything(info.value)
    assert "Incorrect API key provided: [redacted]." in str(info.value)
    assert info.value.body["error"]["message"] == "Incorrect API key provided: [redacted]."


@pytest.mark.parametrize("header", ["x-api-key", "x-goog-api-key", "api-key", "authorization"])
async def test_every_credential_header_is_scrubbed(header: str) -> None:
    body = json.dumps({"error": {"message": f"bad key {KEY}"}}).encode()
    exchange = _exchange(_answer(403, body, "application/json"), headers={header: KEY})
    with pytest.raises(AuthenticationError) as info:
        await exchange.post(URL, {})
    assert KEY not in _everything(info.value)


async def test_an_in_band_error_event_is_scrubbed_too() -> None:
    body = b'event: error\ndata: {"error": {"message": "key ' + KEY.encode() + b' is bad"}}\n\n'

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    exchange = _exchange(handler)
    plan = _plan()

    def error_plan() -> StreamPlan:
        def feed(frame: Any) -> list[TextDeltaEvent]:
            raise exchange.in_band_error(frame.data)

        return StreamPlan(plan.body, feed=feed, finish=plan.finish, whole=plan.whole)

    with pytest.raises(ServerError) as info:
        async for _ in exchange.stream(URL, error_plan, framing="sse"):
            pass
    assert KEY not in _everything(info.value)


@pytest.mark.parametrize("call", ["post", "stream"])
async def test_a_connection_error_does_not_chain_the_request(call: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    exchange = _exchange(handler)
    with pytest.raises(ProviderConnectionError, match="could not connect") as info:
        await _call(exchange, call)
    assert KEY not in _everything(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


# -- 2: a deadline for the whole call -----------------------------------------------------------


class Trickle:
    """A body that sends a keep-alive comment every ``every`` seconds, forever."""

    def __init__(self, every: float) -> None:
        self.every = every

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'data: {"t": "a"}\n\n'
        while True:
            await anyio.sleep(self.every)
            yield b": keep-alive\n\n"


async def test_keep_alives_do_not_outlive_the_deadline() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, content=Trickle(0.02)
        )

    started = anyio.current_time()
    with pytest.raises(ProviderTimeoutError, match=r"deadline of 0\.3 s") as info:
        await _stream(_exchange(handler), http_timeout=0.3)
    assert 0.3 <= anyio.current_time() - started < 2
    assert (info.value.limit, info.value.seconds) == ("deadline", 0.3)
    assert isinstance(info.value, ProviderConnectionError)  # retried like one


async def test_a_whole_answer_is_bounded_by_the_deadline_too() -> None:
    async def slow() -> AsyncIterator[bytes]:
        yield b'{"ok": '
        await anyio.sleep(5)
        yield b"true}"

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=slow())

    with pytest.raises(ProviderTimeoutError, match=r"deadline of 0\.2 s"):
        await _exchange(handler).post_json(URL, {}, http_timeout=0.2)


async def test_a_deadline_that_is_not_reached_changes_nothing() -> None:
    body = b'data: {"t": "a"}\n\ndata: {"t": "b"}\n\ndata: [DONE]\n\n'
    assert await _stream(_exchange(_answer(200, body)), http_timeout=5) == ["a", "b"]


# -- 5: in-band statuses and rejected tool calls ------------------------------------------------


def test_an_error_event_that_names_400_is_a_bad_request() -> None:
    # Groq's "event: error" inside a 200 stream carries the status it stands for.
    body = {"error": {"message": "bad", "type": "invalid_request_error"}, "status_code": 400}
    error = map_error_body("groq", "m", body)
    assert type(error) is BadRequestError
    assert error.status_code == 200  # what came over the wire


def test_groq_tool_use_failed_is_a_rejected_tool_call() -> None:
    body = {
        "error": {
            "message": "Failed to call a function. See 'failed_generation' for more details.",
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "failed_generation": '<function=get_weather{"city": "Paris"}</function>',
        }
    }
    error = map_http_error("groq", "m", 400, {}, body)
    assert isinstance(error, ToolCallRejectedError)
    assert isinstance(error, BadRequestError)
    assert error.generation == '<function=get_weather{"city": "Paris"}</function>'
    streamed = map_error_body("groq", "m", {**body, "status_code": 400})
    assert isinstance(streamed, ToolCallRejectedError)
