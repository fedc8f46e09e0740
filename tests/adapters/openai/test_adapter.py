"""The adapter's HTTP path against the OpenAI emulator on a real loopback server."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
from agentkit_adapters import _http
from agentkit_adapters.openai import OpenAIChatAdapter, create_chat_adapter

import agentkit
from agentkit import (
    Agent,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningDeltaEvent,
    ReasoningPart,
    ResponseEndEvent,
    StreamEvent,
    TextDeltaEvent,
    TextPart,
    ToolCallDeltaEvent,
    ToolCallPart,
    ToolDefinition,
    tool,
)
from agentkit.exceptions import (
    AuthenticationError,
    ModelNotFoundError,
    ProviderConnectionError,
    RateLimitError,
    ServerError,
    UserError,
)
from agentkit.testing import OpenAIChatEmulator, openai_error, serve_asgi

KEY = "sk-emulated"
WEATHER = ToolDefinition(
    name="weather",
    description="Current weather.",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


class Script:
    """The scripted model of the shared emulator; each test sets ``answer``."""

    def __init__(self) -> None:
        self.answer: Any = "Hello from the emulator."

    def __call__(self, request: ModelRequest) -> Any:
        return self.answer(request) if callable(self.answer) else self.answer


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[OpenAIChatEmulator, Script, str]]:
    script = Script()
    emulator = OpenAIChatEmulator(script, api_key=KEY, chunk_size=4)
    with serve_asgi(emulator) as url:
        yield emulator, script, f"{url}/v1"


@pytest.fixture
def emulator(server: tuple[OpenAIChatEmulator, Script, str]) -> OpenAIChatEmulator:
    """The shared emulator, reset for this test."""
    emulator, script, _ = server
    script.answer = "Hello from the emulator."
    emulator.stream_delay = 0.0
    emulator.reasoning_field = None
    emulator.disconnected.clear()
    emulator.requests.clear()
    emulator.calls.clear()
    return emulator


@pytest.fixture
def script(server: tuple[OpenAIChatEmulator, Script, str], emulator: OpenAIChatEmulator) -> Script:
    return server[1]


@pytest.fixture
def adapter(
    server: tuple[OpenAIChatEmulator, Script, str], emulator: OpenAIChatEmulator
) -> OpenAIChatAdapter:
    return OpenAIChatAdapter("gpt-test", api_key=KEY, base_url=server[2])


def _ask(text: str = "hi", **kwargs: Any) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kwargs)


async def _events(adapter: OpenAIChatAdapter, request: ModelRequest) -> list[StreamEvent]:
    return [event async for event in adapter.stream(request)]


def _end(events: list[StreamEvent]) -> ModelResponse:
    assert isinstance(events[-1], ResponseEndEvent)
    return events[-1].response


# -- answers ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_generate_text(adapter: OpenAIChatAdapter, emulator: OpenAIChatEmulator) -> None:
    response = await adapter.generate(_ask())
    assert response.message == Message.assistant("Hello from the emulator.")
    assert (response.finish_reason, response.provider, response.model_id) == (
        "stop",
        "openai",
        "gpt-test",
    )
    assert response.usage is not None
    assert response.usage.output_tokens > 0
    assert response.response_id is not None
    assert response.response_id.startswith("chatcmpl-")
    assert emulator.requests == [
        {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}
    ]


@pytest.mark.anyio
async def test_stream_text(adapter: OpenAIChatAdapter) -> None:
    events = await _events(adapter, _ask())
    deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
    assert len(deltas) > 1
    response = _end(events)
    assert "".join(deltas) == response.message.text == "Hello from the emulator."
    assert response.usage is not None
    assert response.finish_reason == "stop"


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_parallel_tool_calls(
    adapter: OpenAIChatAdapter, script: Script, emulator: OpenAIChatEmulator, streaming: bool
) -> None:
    script.answer = [
        ToolCallPart(id="a", name="weather", arguments={"city": "Paris"}),
        ToolCallPart(id="b", name="weather", arguments={"city": "Rome"}),
    ]
    request = _ask("weather?", tools=[WEATHER], tool_choice="required")
    if streaming:
        events = await _events(adapter, request)
        # Arguments arrive in two or more fragments per call, like OpenAI's.
        assert sum(isinstance(e, ToolCallDeltaEvent) and e.index == 0 for e in events) >= 2
        response = _end(events)
    else:
        response = await adapter.generate(request)
    calls = response.message.tool_calls
    assert [(c.name, c.arguments) for c in calls] == [
        ("weather", {"city": "Paris"}),
        ("weather", {"city": "Rome"}),
    ]
    assert all(c.id.startswith("call_") for c in calls)
    assert len({c.id for c in calls}) == 2
    assert response.finish_reason == "tool_calls"
    # The emulator read our wire request back into the same neutral request.
    (seen,) = emulator.calls
    assert seen.tools == [WEATHER]
    assert seen.tool_choice == "required"
    assert emulator.requests[0]["tools"][0]["function"]["strict"] is True


@pytest.mark.anyio
async def test_tool_results_round_trip_through_the_wire(
    adapter: OpenAIChatAdapter, script: Script, emulator: OpenAIChatEmulator
) -> None:
    def answer(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            (result,) = last.parts
            assert isinstance(result, agentkit.ToolResultPart)
            return f"It is {result.text}."
        return [ToolCallPart(id="call_1", name="weather", arguments={"city": "Paris"})]

    script.answer = answer
    history = [Message.user("Weather in Paris?")]
    first = await adapter.generate(ModelRequest(messages=history, tools=[WEATHER]))
    (call,) = first.message.tool_calls
    history += [
        first.message,
        Message(
            role="tool",
            parts=[
                agentkit.ToolResultPart(
                    call_id=call.id, name="weather", content=[TextPart(text="sunny")]
                )
            ],
        ),
    ]
    second = await adapter.generate(ModelRequest(messages=history, tools=[WEATHER]))
    assert second.message.text == "It is sunny."
    assert emulator.calls[1].messages[1:] == history[1:]


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_structured_output(
    adapter: OpenAIChatAdapter, script: Script, emulator: OpenAIChatEmulator, streaming: bool
) -> None:
    schema = WEATHER.input_schema
    script.answer = lambda request: json.dumps({"city": "Oslo"})
    request = _ask("city?", output_schema=schema, output_name="City")
    if streaming:
        response = _end(await _events(adapter, request))
    else:
        response = await adapter.generate(request)
    assert json.loads(response.message.text) == {"city": "Oslo"}
    assert emulator.requests[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": schema, "strict": True},
    }
    assert emulator.calls[0].output_schema == schema


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_deepseek_style_reasoning(
    adapter: OpenAIChatAdapter, script: Script, emulator: OpenAIChatEmulator, streaming: bool
) -> None:
    emulator.reasoning_field = "reasoning_content"
    script.answer = [ReasoningPart(text="Two and two."), TextPart(text="4")]
    if streaming:
        events = await _events(adapter, _ask())
        assert any(isinstance(e, ReasoningDeltaEvent) for e in events)
        response = _end(events)
    else:
        response = await adapter.generate(_ask())
    assert response.message.parts == [
        ReasoningPart(text="Two and two.", provider="openai", model="gpt-test"),
        TextPart(text="4"),
    ]


@pytest.mark.anyio
async def test_settings_reach_the_wire(
    adapter: OpenAIChatAdapter, emulator: OpenAIChatEmulator
) -> None:
    settings = ModelSettings(max_tokens=20, temperature=0.1, stop=["x"], seed=3)
    await adapter.generate(_ask(settings=settings))
    sent = emulator.requests[0]
    assert (sent["max_completion_tokens"], sent["temperature"], sent["stop"], sent["seed"]) == (
        20,
        0.1,
        ["x"],
        3,
    )
    assert emulator.calls[0].settings == settings.model_copy(update={"timeout": None})


# -- errors ----------------------------------------------------------------------------------


async def _call(adapter: OpenAIChatAdapter, streaming: bool) -> None:
    if streaming:
        await _events(adapter, _ask())
    else:
        await adapter.generate(_ask())


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_wrong_key_is_an_authentication_error(
    server: tuple[OpenAIChatEmulator, Script, str], emulator: OpenAIChatEmulator, streaming: bool
) -> None:
    adapter = OpenAIChatAdapter("gpt-test", api_key="sk-wrong", base_url=server[2])
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY") as info:
        await _call(adapter, streaming)
    assert (info.value.status_code, info.value.code, info.value.provider) == (
        401,
        "invalid_api_key",
        "openai",
    )


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_rate_limit_carries_retry_after(
    adapter: OpenAIChatAdapter, script: Script, streaming: bool
) -> None:
    def answer(request: ModelRequest) -> Any:
        raise openai_error(
            429,
            "Rate limit reached for gpt-test.",
            code="rate_limit_exceeded",
            error_type="requests",
            headers={"Retry-After": "3"},
        )

    script.answer = answer
    with pytest.raises(RateLimitError) as info:
        await _call(adapter, streaming)
    assert info.value.retry_after == 3.0
    assert info.value.status_code == 429


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [(500, None, ServerError), (404, "model_not_found", ModelNotFoundError)],
)
async def test_error_statuses(
    adapter: OpenAIChatAdapter, script: Script, status: int, code: str | None, cls: type
) -> None:
    def answer(request: ModelRequest) -> Any:
        raise openai_error(status, "scripted failure", code=code)

    script.answer = answer
    for streaming in (False, True):
        with pytest.raises(cls, match="scripted failure"):
            await _call(adapter, streaming)


@pytest.mark.anyio
async def test_a_bug_in_the_script_is_a_server_error_that_names_it(
    adapter: OpenAIChatAdapter, script: Script
) -> None:
    def answer(request: ModelRequest) -> str:
        raise KeyError("missing")

    script.answer = answer
    with pytest.raises(ServerError, match="KeyError"):
        await adapter.generate(_ask())


@pytest.mark.anyio
async def test_emulator_rejects_a_malformed_request(
    server: tuple[OpenAIChatEmulator, Script, str], emulator: OpenAIChatEmulator
) -> None:
    async with httpx2.AsyncClient() as client:
        auth = {"authorization": f"Bearer {KEY}"}
        url = f"{server[2]}/chat/completions"
        bad = await client.post(url, json={"messages": [{"role": "robot"}]}, headers=auth)
        missing = await client.post(f"{server[2]}/nothing", json={}, headers=auth)
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "invalid_request_error"
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_url"


@pytest.mark.anyio
async def test_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = OpenAIChatAdapter("m", api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ProviderConnectionError, match="could not connect") as info:
        await adapter.generate(_ask())
    # The httpx2 error holds the request and its key: it is not chained.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


@pytest.mark.anyio
async def test_timeout_setting_applies(adapter: OpenAIChatAdapter, script: Script) -> None:
    async def slow(request: ModelRequest) -> str:
        await anyio.sleep(2)
        return "late"

    script.answer = slow
    with pytest.raises(ProviderConnectionError, match="timed out"):
        await adapter.generate(_ask(settings=ModelSettings(timeout=0.2)))


# -- cancellation ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_closing_a_stream_closes_the_connection(
    adapter: OpenAIChatAdapter, script: Script, emulator: OpenAIChatEmulator
) -> None:
    script.answer = "word " * 200
    emulator.stream_delay = 0.01
    stream = adapter.stream(_ask())
    seen = [await anext(stream) for _ in range(3)]
    assert isinstance(seen[-1], TextDeltaEvent)
    await stream.aclose()  # type: ignore[attr-defined]
    assert await anyio.to_thread.run_sync(emulator.disconnected.wait, 5)


@pytest.mark.anyio
async def test_cancelling_the_consumer_closes_the_connection(
    adapter: OpenAIChatAdapter, script: Script, emulator: OpenAIChatEmulator
) -> None:
    script.answer = "word " * 200
    emulator.stream_delay = 0.01
    received = 0
    with anyio.CancelScope() as scope:
        async for _ in adapter.stream(_ask()):
            received += 1
            if received == 3:
                scope.cancel()  # as a timeout or a user's Ctrl-C would
    assert scope.cancelled_caught
    # The cancel lands at the next real wait: events already parsed from one read
    # may still arrive, but the 200-word answer must not run to its end.
    assert 3 <= received < 50
    assert await anyio.to_thread.run_sync(emulator.disconnected.wait, 5)


@pytest.mark.anyio
async def test_closing_a_run_stream_mid_answer_closes_the_connection(
    adapter: OpenAIChatAdapter, script: Script, emulator: OpenAIChatEmulator
) -> None:
    script.answer = "word " * 200
    emulator.stream_delay = 0.01
    events = agentkit.run_stream(Agent(name="talker"), "Talk.", model=adapter)
    deltas = 0
    async for event in events:
        deltas += isinstance(event, TextDeltaEvent)
        if deltas == 3:
            break
    await events.aclose()
    assert await anyio.to_thread.run_sync(emulator.disconnected.wait, 5)
    with pytest.raises(StopAsyncIteration):
        await anext(events)


@pytest.mark.anyio
async def test_cancelling_a_run_stream_consumer_closes_the_connection(
    adapter: OpenAIChatAdapter, script: Script, emulator: OpenAIChatEmulator
) -> None:
    script.answer = "word " * 200
    emulator.stream_delay = 0.01
    deltas = 0
    with anyio.CancelScope() as scope:
        async for event in agentkit.run_stream(Agent(name="talker"), "Talk.", model=adapter):
            deltas += isinstance(event, TextDeltaEvent)
            if deltas == 3:
                scope.cancel()
    assert scope.cancelled_caught
    assert deltas == 3
    assert await anyio.to_thread.run_sync(emulator.disconnected.wait, 5)


# -- clients, factory, runner ----------------------------------------------------------------


@pytest.mark.anyio
async def test_adapters_share_one_client_per_base_url(
    server: tuple[OpenAIChatEmulator, Script, str], emulator: OpenAIChatEmulator
) -> None:
    first = OpenAIChatAdapter("a", api_key=KEY, base_url=server[2])
    second = OpenAIChatAdapter("b", api_key=KEY, base_url=server[2] + "/")
    other = OpenAIChatAdapter(
        "a", api_key=KEY, base_url=server[2].replace("127.0.0.1", "localhost")
    )
    assert first.client is second.client
    assert first.client is not other.client
    await first.generate(_ask())
    await second.generate(_ask())
    assert [r["model"] for r in emulator.requests] == ["a", "b"]


def test_run_sync_twice_uses_a_fresh_client_per_event_loop(
    server: tuple[OpenAIChatEmulator, Script, str], emulator: OpenAIChatEmulator
) -> None:
    adapter = OpenAIChatAdapter("gpt-test", api_key=KEY, base_url=server[2])
    agent = Agent(name="greeter")
    for _ in range(2):
        assert agentkit.run_sync(agent, "hi", model=adapter).output == "Hello from the emulator."


def test_shared_clients_close_with_their_loop(
    server: tuple[OpenAIChatEmulator, Script, str], emulator: OpenAIChatEmulator
) -> None:
    adapter = OpenAIChatAdapter("gpt-test", api_key=KEY, base_url=server[2])

    async def call() -> httpx2.AsyncClient:
        await adapter.generate(_ask())  # leaves a keep-alive connection open
        return adapter.client

    first = asyncio.run(call())
    assert first.is_closed  # closed by asyncio.run's shutdown of async generators
    second = asyncio.run(call())
    assert second is not first
    assert second.is_closed
    assert not any(loop.is_closed() and clients for loop, clients in _http._clients.items())


@pytest.mark.anyio
async def test_agent_run_with_a_tool_over_the_wire(
    adapter: OpenAIChatAdapter, script: Script
) -> None:
    @tool
    def weather(city: str) -> str:
        """Current weather in a city."""
        return f"sunny in {city}"

    def answer(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            (result,) = last.parts
            assert isinstance(result, agentkit.ToolResultPart)
            return "Done: " + result.text
        return [ToolCallPart(id="x", name="weather", arguments={"city": "Lima"})]

    script.answer = answer
    agent = Agent(name="forecaster", tools=[weather])
    result = await agentkit.run(agent, "Weather in Lima?", model=adapter)
    assert result.output == "Done: sunny in Lima"
    streamed = [e async for e in agentkit.run_stream(agent, "Weather in Lima?", model=adapter)]
    assert streamed[-1].result.output == "Done: sunny in Lima"  # type: ignore[union-attr]


def test_factory_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, server: tuple[OpenAIChatEmulator, Script, str]
) -> None:
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        create_chat_adapter("gpt-test")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server[2])
    adapter = agentkit.resolve_model("openai:gpt-test")
    assert isinstance(adapter, OpenAIChatAdapter)
    assert (adapter.model_id, adapter.base_url) == ("gpt-test", server[2])
    assert isinstance(adapter, agentkit.ModelAdapter)
    caps = adapter.capabilities
    assert caps.image_input
    assert not caps.reasoning
    assert caps.tool_choice == {"auto", "none", "required", "named"}
    assert "reasoning_effort" in caps.settings
