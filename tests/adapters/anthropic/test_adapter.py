"""The Anthropic adapter's HTTP path against the Anthropic emulator on a real loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from agentkit_adapters.anthropic import AnthropicAdapter, create_anthropic_adapter
from pydantic import BaseModel

import agentkit
from agentkit import (
    Agent,
    ImagePart,
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
    ToolResultPart,
    Usage,
)
from agentkit.exceptions import (
    AuthenticationError,
    ContextLengthError,
    RateLimitError,
    ServerError,
    UserError,
)
from agentkit.testing import (
    AnthropicEmulator,
    ScriptedStreamError,
    anthropic_error,
    serve_asgi,
)

pytestmark = pytest.mark.anyio

KEY = "sk-test-planted"
MODEL = "claude-sonnet-4-5"
WEATHER = ToolDefinition(
    name="weather",
    description="Current weather.",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


class Script:
    """The scripted model of the shared emulator; each test sets ``answer``."""

    def __init__(self) -> None:
        self.answer: Any = "Hello from the emulator."

    def __call__(self, request: ModelRequest) -> Any:
        return self.answer(request) if callable(self.answer) else self.answer


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[AnthropicEmulator, Script, str]]:
    script = Script()
    emulator = AnthropicEmulator(script, api_key=KEY, chunk_size=4)
    with serve_asgi(emulator) as url:
        yield emulator, script, url


@pytest.fixture
def emulator(server: tuple[AnthropicEmulator, Script, str]) -> AnthropicEmulator:
    """The shared emulator, reset for this test."""
    emulator, script, _ = server
    script.answer = "Hello from the emulator."
    emulator.stream_delay = 0.0
    emulator.disconnected.clear()
    for log in (emulator.requests, emulator.headers, emulator.calls, emulator.call_ids):
        log.clear()
    emulator.signatures.clear()
    return emulator


@pytest.fixture
def script(server: tuple[AnthropicEmulator, Script, str], emulator: AnthropicEmulator) -> Script:
    return server[1]


@pytest.fixture
def url(server: tuple[AnthropicEmulator, Script, str], emulator: AnthropicEmulator) -> str:
    return server[2]


@pytest.fixture
def adapter(url: str) -> AnthropicAdapter:
    return AnthropicAdapter(MODEL, api_key=KEY, base_url=url)


def _ask(text: str = "hi", **kwargs: Any) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kwargs)


async def _events(adapter: AnthropicAdapter, request: ModelRequest) -> list[StreamEvent]:
    return [event async for event in adapter.stream(request)]


def _end(events: list[StreamEvent]) -> ModelResponse:
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    return end.response


@pytest.mark.parametrize("stream", [False, True])
async def test_text(adapter: AnthropicAdapter, emulator: AnthropicEmulator, stream: bool) -> None:
    request = ModelRequest(messages=[Message.system("Be brief."), Message.user("hi")])
    if stream:
        events = await _events(adapter, request)
        deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
        assert deltas == ["Hell", "o fr", "om t", "he e", "mula", "tor."]
        response = _end(events)
    else:
        response = await adapter.generate(request)
    assert response.message.parts == [TextPart(text="Hello from the emulator.")]
    assert (response.finish_reason, response.raw_finish_reason) == ("stop", "end_turn")
    assert response.model_id == MODEL
    assert response.response_id is not None
    assert response.response_id.startswith("msg_")
    (body,) = emulator.requests
    assert body["model"] == MODEL
    assert body["max_tokens"] == 16000
    assert body["system"] == [{"type": "text", "text": "Be brief."}]
    assert body.get("stream", False) is stream
    (headers,) = emulator.headers
    assert headers["x-api-key"] == KEY
    assert headers["anthropic-version"] == "2023-06-01"
    (asked,) = emulator.calls
    assert asked.messages == request.messages


@pytest.mark.parametrize("stream", [False, True])
async def test_parallel_tool_calls_and_their_results(
    adapter: AnthropicAdapter, script: Script, emulator: AnthropicEmulator, stream: bool
) -> None:
    script.answer = [
        TextPart(text="Checking both."),
        ToolCallPart(id="a", name="weather", arguments={"city": "Paris"}),
        ToolCallPart(id="b", name="weather", arguments={"city": "Oslo"}),
    ]
    request = _ask(
        "Paris and Oslo?", tools=[WEATHER], settings=ModelSettings(parallel_tool_calls=True)
    )
    if stream:
        events = await _events(adapter, request)
        fragments = [e.arguments_delta for e in events if isinstance(e, ToolCallDeltaEvent)]
        assert len(fragments) > 2  # arguments came in pieces of 4 characters
        response = _end(events)
    else:
        response = await adapter.generate(request)
    first, second = emulator.call_ids
    assert response.message.parts == [
        TextPart(text="Checking both."),
        ToolCallPart(id=first, name="weather", arguments={"city": "Paris"}),
        ToolCallPart(id=second, name="weather", arguments={"city": "Oslo"}),
    ]
    assert response.finish_reason == "tool_calls"
    assert emulator.requests[0]["tool_choice"] == {
        "type": "auto",
        "disable_parallel_tool_use": False,
    }
    # The next turn carries the results; the emulator reads them back as a tool message.
    script.answer = "Paris 20 C, Oslo 5 C."
    follow_up = ModelRequest(
        messages=[
            *request.messages,
            response.message,
            Message(
                role="tool",
                parts=[
                    ToolResultPart(call_id=first, content=[TextPart(text="20 C")]),
                    ToolResultPart(call_id=second, content=[TextPart(text="boom")], is_error=True),
                ],
            ),
        ],
        tools=[WEATHER],
    )
    final = await adapter.generate(follow_up)
    assert final.message.text == "Paris 20 C, Oslo 5 C."
    assert emulator.calls[-1].messages[-1] == Message(
        role="tool",
        parts=[
            ToolResultPart(call_id=first, content=[TextPart(text="20 C")]),
            ToolResultPart(call_id=second, content=[TextPart(text="boom")], is_error=True),
        ],
    )


@pytest.mark.parametrize("stream", [False, True])
async def test_thinking_is_signed_and_sent_back_unchanged(
    adapter: AnthropicAdapter, script: Script, emulator: AnthropicEmulator, stream: bool
) -> None:
    script.answer = [ReasoningPart(text="Think it through."), TextPart(text="42")]
    request = _ask("?", settings=ModelSettings(reasoning_effort="low"))
    if stream:
        events = await _events(adapter, request)
        thought = "".join(e.text for e in events if isinstance(e, ReasoningDeltaEvent))
        assert thought == "Think it through."
        response = _end(events)
    else:
        response = await adapter.generate(request)
    (signature,) = emulator.signatures
    assert response.message.parts == [
        ReasoningPart(
            text="Think it through.", signature=signature, provider="anthropic", model=MODEL
        ),
        TextPart(text="42"),
    ]
    assert emulator.requests[0]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    script.answer = "Still 42."
    await adapter.generate(
        ModelRequest(messages=[*request.messages, response.message, Message.user("sure?")])
    )
    assert emulator.requests[1]["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "Think it through.",
        "signature": signature,
    }


async def test_image_input(adapter: AnthropicAdapter, emulator: AnthropicEmulator) -> None:
    image = ImagePart(data=b"\x89PNG\r\n\x1a\n", media_type="image/png")
    await adapter.generate(
        ModelRequest(messages=[Message(role="user", parts=[TextPart(text="What?"), image])])
    )
    assert emulator.calls[0].messages[0].parts[1] == image


@pytest.mark.parametrize("stream", [False, True])
async def test_cache_usage_comes_back_in_neutral_terms(
    url: str, script: Script, emulator: AnthropicEmulator, stream: bool
) -> None:
    usage = Usage(input_tokens=1000, output_tokens=20, cache_read_input_tokens=900)
    script.answer = ModelResponse(
        message=Message.assistant("ok"),
        finish_reason="stop",
        usage=usage,
        provider="x",
        model_id="x",
    )
    adapter = create_anthropic_adapter(MODEL, base_url=url, api_key=KEY, prompt_cache=True)
    request = ModelRequest(messages=[Message.system("Long."), Message.user("q")], tools=[WEATHER])
    response = _end(await _events(adapter, request)) if stream else await adapter.generate(request)
    assert response.usage == usage
    body = emulator.requests[0]
    ephemeral = {"type": "ephemeral"}
    assert body["tools"][-1]["cache_control"] == ephemeral
    assert body["system"][-1]["cache_control"] == ephemeral
    assert body["messages"][-1]["content"][-1]["cache_control"] == ephemeral


async def test_a_bad_key_is_an_authentication_error(url: str) -> None:
    adapter = AnthropicAdapter(MODEL, api_key="sk-test-wrong", base_url=url)
    with pytest.raises(AuthenticationError, match=r"invalid x-api-key.*ANTHROPIC_API_KEY"):
        await adapter.generate(_ask())


@pytest.mark.parametrize("stream", [False, True])
async def test_scripted_errors(adapter: AnthropicAdapter, script: Script, stream: bool) -> None:
    async def call() -> None:
        if stream:
            await _events(adapter, _ask())
        else:
            await adapter.generate(_ask())

    def fail(error: Exception) -> Any:
        def raise_it(_: ModelRequest) -> Any:
            raise error

        return raise_it

    script.answer = fail(anthropic_error(529, "Overloaded"))
    with pytest.raises(ServerError, match="Overloaded") as overloaded:
        await call()
    assert (overloaded.value.status_code, overloaded.value.code) == (529, "overloaded_error")
    script.answer = fail(anthropic_error(429, "Too many requests", headers={"retry-after": "3"}))
    with pytest.raises(RateLimitError) as limited:
        await call()
    assert limited.value.retry_after == 3.0
    script.answer = fail(anthropic_error(400, "prompt is too long: 300000 tokens > 200000 maximum"))
    with pytest.raises(ContextLengthError, match="context window: prompt is too long"):
        await call()


async def test_an_error_event_in_the_middle_of_a_stream(
    adapter: AnthropicAdapter, script: Script
) -> None:
    def overloaded(_: ModelRequest) -> Any:
        raise ScriptedStreamError("Overloaded", partial="Half an ans")

    script.answer = overloaded
    seen: list[StreamEvent] = []

    async def consume() -> None:
        async for event in adapter.stream(_ask()):
            seen.append(event)

    with pytest.raises(ServerError, match="Overloaded") as caught:
        await consume()
    assert caught.value.status_code == 200
    assert "".join(e.text for e in seen if isinstance(e, TextDeltaEvent)) == "Half an ans"
    with pytest.raises(ServerError) as whole:
        await adapter.generate(_ask())
    assert whole.value.status_code == 529


async def test_closing_the_stream_early_closes_the_connection(
    adapter: AnthropicAdapter, script: Script, emulator: AnthropicEmulator
) -> None:
    script.answer = "word " * 200
    emulator.stream_delay = 0.01
    stream = adapter.stream(_ask())
    seen = [await anext(stream) for _ in range(3)]
    assert isinstance(seen[-1], TextDeltaEvent)
    await stream.aclose()  # type: ignore[attr-defined]
    assert await anyio.to_thread.run_sync(emulator.disconnected.wait, 5)


# -- factory and runner ----------------------------------------------------------------------


def test_factory_options_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY is not set"):
        create_anthropic_adapter(MODEL)
    with pytest.raises(UserError, match="no Anthropic model named"):
        create_anthropic_adapter("", api_key=KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    adapter = agentkit.resolve_model(f"anthropic:{MODEL}")
    assert isinstance(adapter, AnthropicAdapter)
    assert (adapter.model_id, adapter.base_url) == (MODEL, url)
    assert adapter._http.headers["x-api-key"] == "from-env"
    chosen = create_anthropic_adapter(
        MODEL, base_url="http://127.0.0.1:9/v1", api_key=KEY, headers={"anthropic-beta": "x"}
    )
    assert chosen.base_url == "http://127.0.0.1:9/v1"
    assert chosen._url == "http://127.0.0.1:9/v1/messages"  # no second /v1
    assert chosen._http.headers["x-api-key"] == KEY
    assert chosen._http.headers["anthropic-beta"] == "x"
    assert create_anthropic_adapter.wire_protocol == "anthropic"  # type: ignore[attr-defined]
    # The factory's own option travels through a model string's options.
    cached = agentkit.resolve_model(f"anthropic:{MODEL}", prompt_cache=True)
    assert isinstance(cached, AnthropicAdapter)
    assert cached.prompt_cache is True
    assert adapter.prompt_cache is False


class Forecast(BaseModel):
    city: str
    temperature_c: int


@pytest.mark.parametrize(
    ("model", "native"), [("claude-sonnet-4-5", True), ("claude-sonnet-4-0", False)]
)
async def test_structured_output_native_or_through_a_forced_tool(
    url: str, script: Script, emulator: AnthropicEmulator, model: str, native: bool
) -> None:
    def answer(request: ModelRequest) -> Any:
        if request.output_schema is not None:
            return '{"city": "Oslo", "temperature_c": 5}'
        (tool,) = request.tools
        return [
            ToolCallPart(id="x", name=tool.name, arguments={"city": "Oslo", "temperature_c": 5})
        ]

    script.answer = answer
    agent = Agent(name="forecaster", output_type=Forecast)
    adapter = AnthropicAdapter(model, api_key=KEY, base_url=url)
    result = await agentkit.run(agent, "Oslo?", model=adapter)
    assert result.output == Forecast(city="Oslo", temperature_c=5)
    body = emulator.requests[0]
    if native:
        schema = body["output_config"]["format"]["schema"]
        assert schema["additionalProperties"] is False
        assert "tools" not in body
    else:
        assert "output_config" not in body
        assert body["tool_choice"] == {"type": "any"}
        assert [t["name"] for t in body["tools"]] == ["final_result"]
