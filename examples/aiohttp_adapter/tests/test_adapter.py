"""The Relay adapter's aiohttp path against agentkit's OpenAI Chat emulator on a loopback port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import aclosing
from typing import Any

import aiohttp
import anyio
import pytest
from relay_agentkit import RelayAdapter, create_relay_adapter

from agentkit import (
    Message,
    ModelRequest,
    ModelSettings,
    ResponseEndEvent,
    StreamEvent,
    TextDeltaEvent,
    TextPart,
)
from agentkit.exceptions import (
    AuthenticationError,
    ProviderConnectionError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    UserError,
)
from agentkit.testing import OpenAIChatEmulator, openai_error, serve_asgi

KEY = "sk-test-relay"
STORY = "Once upon a time a gateway relayed every token, one by one, to the very end."


class Script:
    """The shared emulator's scripted model; each test sets ``answer``."""

    def __init__(self) -> None:
        self.answer: Any = "Hello through Relay."

    def __call__(self, request: ModelRequest) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Headers:
    """ASGI middleware keeping each request's headers, so tests can see what was sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


class Gateway:
    """The running emulator: its URL, script and what it received."""

    def __init__(self, emulator: OpenAIChatEmulator, script: Script, headers: Headers, url: str):
        self.emulator, self.script, self.headers, self.url = emulator, script, headers, url

    def adapter(self, **options: Any) -> RelayAdapter:
        options.setdefault("api_key", KEY)
        return create_relay_adapter("relay-1", base_url=self.url, **options)


@pytest.fixture(scope="module")
def running() -> Iterator[Gateway]:
    script = Script()
    emulator = OpenAIChatEmulator(script, api_key=KEY, chunk_size=4)
    headers = Headers(emulator)
    with serve_asgi(headers) as url:
        yield Gateway(emulator, script, headers, f"{url}/v1")


@pytest.fixture
def gateway(running: Gateway) -> Gateway:
    running.script.answer = "Hello through Relay."
    running.emulator.stream_delay = 0.0
    running.emulator.disconnected.clear()
    return running


def ask(text: str = "Hi", **settings: Any) -> ModelRequest:
    return ModelRequest(
        messages=[Message(role="user", parts=[TextPart(text=text)])],
        settings=ModelSettings(**settings),
    )


async def collect(adapter: RelayAdapter, request: ModelRequest) -> list[StreamEvent]:
    return [event async for event in adapter.stream(request)]


async def call(adapter: RelayAdapter, request: ModelRequest, *, streaming: bool) -> None:
    if streaming:
        await collect(adapter, request)
    else:
        await adapter.generate(request)


# -- answers -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_generate_returns_the_answer_and_usage(gateway: Gateway) -> None:
    response = await gateway.adapter().generate(ask())
    assert response.message.text == "Hello through Relay."
    assert response.finish_reason == "stop"
    assert response.usage is not None
    assert response.usage.output_tokens > 0
    assert response.provider == "relay"


@pytest.mark.anyio
async def test_the_request_is_chat_completions_with_key_and_headers(gateway: Gateway) -> None:
    adapter = gateway.adapter(headers={"x-relay-route": "eu"})
    await adapter.generate(ask("Route me", temperature=0.5))
    body = gateway.emulator.requests[-1]
    assert body["model"] == "relay-1"
    assert body["messages"] == [{"role": "user", "content": "Route me"}]
    assert body["temperature"] == 0.5
    assert "stream" not in body or body["stream"] is False
    sent = gateway.headers.seen[-1]
    assert sent["authorization"] == f"Bearer {KEY}"
    assert sent["x-relay-route"] == "eu"
    assert sent["content-type"] == "application/json"


@pytest.mark.anyio
async def test_stream_yields_deltas_then_the_whole_response(gateway: Gateway) -> None:
    gateway.script.answer = STORY
    events = await collect(gateway.adapter(), ask())
    deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
    assert len(deltas) > 5  # the emulator sends 4 characters a chunk
    assert "".join(deltas) == STORY
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    assert end.response.message.text == STORY
    assert end.response.usage is not None  # Relay reports usage in streams, as claimed
    assert gateway.emulator.requests[-1]["stream"] is True
    assert gateway.headers.seen[-1]["accept"] == "text/event-stream"


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_an_error_status_is_mapped_with_retry_after_and_never_retried(
    gateway: Gateway, streaming: bool
) -> None:
    gateway.script.answer = openai_error(
        429, "Slow down.", code="rate_limit_exceeded", headers={"Retry-After": "7"}
    )
    before = len(gateway.emulator.requests)
    adapter = gateway.adapter()
    with pytest.raises(RateLimitError) as caught:
        await call(adapter, ask(), streaming=streaming)
    error = caught.value
    assert error.status_code == 429
    assert error.retry_after == 7.0
    assert error.body == {
        "error": {
            "message": "Slow down.",
            "type": "invalid_request_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert error.provider == "relay"
    # One call, one request: retrying is the runner's business.
    assert len(gateway.emulator.requests) == before + 1


@pytest.mark.anyio
async def test_a_server_error_in_a_stream_request_is_a_server_error(gateway: Gateway) -> None:
    gateway.script.answer = openai_error(503, "Upstream is down.")
    with pytest.raises(ServerError, match="Upstream is down"):
        await collect(gateway.adapter(), ask())


@pytest.mark.anyio
async def test_a_bad_key_is_an_authentication_error_naming_the_variable(gateway: Gateway) -> None:
    with pytest.raises(AuthenticationError, match="RELAY_API_KEY") as caught:
        await gateway.adapter(api_key="sk-test-wrong").generate(ask())
    assert caught.value.status_code == 401


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there any more


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_an_unreachable_gateway_is_a_connection_error_from_aiohttp(streaming: bool) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    adapter = create_relay_adapter("relay-1", base_url=url, api_key=KEY)
    with pytest.raises(ProviderConnectionError, match="could not connect") as caught:
        await call(adapter, ask(), streaming=streaming)
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)


class Stalling:
    """An ASGI app that answers 200 and then, after ``first`` body bytes, goes quiet.

    It waits for ``release`` (set by the test at the end) instead of a fixed time.
    """

    def __init__(self, content_type: str, first: bytes) -> None:
        self.content_type = content_type
        self.first = first
        self.release = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", self.content_type.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.first, "more_body": True})
        await anyio.to_thread.run_sync(self.release.wait, 10.0)
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def stalling() -> Iterator[tuple[Stalling, str]]:
    chunk = {
        "id": "chatcmpl-stall",
        "model": "relay-1",
        "choices": [{"index": 0, "delta": {"content": "Hel"}}],
    }
    app = Stalling("text/event-stream", f"data: {json.dumps(chunk)}\n\n".encode())
    with serve_asgi(app) as url:
        try:
            yield app, f"{url}/v1"
        finally:
            app.release.set()


@pytest.mark.anyio
async def test_the_timeout_setting_bounds_each_wait_for_the_answer(
    stalling: tuple[Stalling, str],
) -> None:
    _, url = stalling
    adapter = create_relay_adapter("relay-1", base_url=url, api_key=KEY)
    events: list[StreamEvent] = []

    async def consume() -> None:
        async for event in adapter.stream(ask(timeout=0.3)):
            events.append(event)

    start = time.monotonic()
    with pytest.raises(ProviderConnectionError, match="timed out") as caught:
        await consume()
    assert time.monotonic() - start < 5  # the server would stall for 10 s
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert any(isinstance(e, TextDeltaEvent) and e.text == "Hel" for e in events)


@pytest.mark.anyio
async def test_the_timeout_setting_applies_to_generate(stalling: tuple[Stalling, str]) -> None:
    _, url = stalling
    adapter = create_relay_adapter("relay-1", base_url=url, api_key=KEY)
    with pytest.raises(ProviderConnectionError, match="timed out") as caught:
        await adapter.generate(ask(timeout=0.3))
    assert isinstance(caught.value.__cause__, TimeoutError)


class Fixed:
    """An ASGI app with one canned 200 answer, whatever was asked."""

    def __init__(self, content_type: str, body: bytes) -> None:
        self.content_type, self.body = content_type, body

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", self.content_type.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


@pytest.mark.anyio
async def test_a_body_that_is_not_json_is_an_unexpected_response() -> None:
    with serve_asgi(Fixed("text/html", b"<h1>Bad gateway</h1>")) as url:
        adapter = create_relay_adapter("relay-1", base_url=f"{url}/v1", api_key=KEY)
        with pytest.raises(UnexpectedResponseError, match="not JSON"):
            await adapter.generate(ask())


@pytest.mark.anyio
async def test_a_gateway_that_ignores_stream_still_yields_events() -> None:
    completion = {
        "id": "chatcmpl-whole",
        "object": "chat.completion",
        "model": "relay-1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "All at once."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
    }
    with serve_asgi(Fixed("application/json", json.dumps(completion).encode())) as url:
        adapter = create_relay_adapter("relay-1", base_url=f"{url}/v1", api_key=KEY)
        events = await collect(adapter, ask())
    assert "".join(e.text for e in events if isinstance(e, TextDeltaEvent)) == "All at once."
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    assert end.response.usage is not None
    assert end.response.usage.output_tokens == 3


# -- stopping early ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_aclose_mid_stream_closes_the_connection_at_once(gateway: Gateway) -> None:
    gateway.script.answer = STORY
    gateway.emulator.stream_delay = 0.05
    stream = gateway.adapter().stream(ask())
    seen = 0
    async for _ in stream:
        seen += 1
        if seen == 2:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    # Waited for off the loop, so the loop stays free to finish closing the socket.
    assert await anyio.to_thread.run_sync(gateway.emulator.disconnected.wait, 5.0)


@pytest.mark.anyio
async def test_cancelling_the_consumer_closes_the_connection(gateway: Gateway) -> None:
    gateway.script.answer = STORY
    gateway.emulator.stream_delay = 0.05
    two = anyio.Event()
    seen: list[StreamEvent] = []

    async def consume() -> None:
        async with aclosing(gateway.adapter().stream(ask())) as stream:  # type: ignore[type-var]
            async for event in stream:
                seen.append(event)
                if len(seen) == 2:
                    two.set()

    async with anyio.create_task_group() as group:
        group.start_soon(consume)
        await two.wait()
        # consume() is now waiting for the next chunk inside the adapter.
        group.cancel_scope.cancel()
    assert not any(isinstance(e, ResponseEndEvent) for e in seen)
    assert await anyio.to_thread.run_sync(gateway.emulator.disconnected.wait, 5.0)


# -- the factory -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_environment_supplies_defaults_and_options_win(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAY_API_KEY", KEY)
    monkeypatch.setenv("RELAY_BASE_URL", gateway.url)
    from_env = create_relay_adapter("relay-1")
    assert from_env.base_url == gateway.url
    assert (await from_env.generate(ask())).message.text == "Hello through Relay."
    # Options win over both variables: this key is wrong, so the emulator refuses it.
    other = create_relay_adapter("relay-1", base_url="http://127.0.0.1:9/v1", api_key="sk-x")
    assert other.base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(AuthenticationError):
        await create_relay_adapter("relay-1", api_key="sk-test-wrong").generate(ask())


def test_without_a_key_the_factory_says_which_variable_to_set() -> None:
    with pytest.raises(UserError, match="RELAY_API_KEY is not set"):
        create_relay_adapter("relay-1")
    with pytest.raises(UserError, match="no Relay model named"):
        create_relay_adapter("", api_key=KEY)


def test_http_client_of_another_stack_is_a_user_error() -> None:
    class NotASession:
        pass

    with pytest.raises(UserError, match=r"aiohttp\.ClientSession.*NotASession"):
        create_relay_adapter("relay-1", api_key=KEY, http_client=NotASession())  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_given_session_is_used_and_left_open(gateway: Gateway) -> None:
    async with aiohttp.ClientSession(headers={"x-caller-session": "yes"}) as session:
        adapter = gateway.adapter(http_client=session)
        assert adapter.session is session
        await adapter.generate(ask())
        assert gateway.headers.seen[-1]["x-caller-session"] == "yes"
        assert not session.closed  # the caller's to close
