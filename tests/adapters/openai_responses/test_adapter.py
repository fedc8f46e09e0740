"""The adapter's HTTP path against the Responses emulator on a real loopback server."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from agentkit_adapters.openai_responses import OpenAIResponsesAdapter, create_responses_adapter

import agentkit
from agentkit import (
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningDeltaEvent,
    ReasoningPart,
    RefusalDeltaEvent,
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
    ModelNotFoundError,
    ProviderConnectionError,
    RateLimitError,
    ServerError,
    UserError,
)
from agentkit.testing import (
    OpenAIResponsesEmulator,
    ScriptedResponseFailure,
    openai_error,
    serve_asgi,
)

pytestmark = pytest.mark.anyio

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
WEATHER_UNIT = ToolDefinition(
    name="weather",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city"],
        "additionalProperties": False,
    },
)
EXAMPLE = Path(__file__).parents[3] / "examples" / "weather" / "agent.yaml"


class Script:
    """The scripted model of the shared emulator; each test sets ``answer``."""

    def __init__(self) -> None:
        self.answer: Any = "Hello from the emulator."

    def __call__(self, request: ModelRequest) -> Any:
        return self.answer(request) if callable(self.answer) else self.answer


Server = tuple[OpenAIResponsesEmulator, Script, str]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    script = Script()
    emulator = OpenAIResponsesEmulator(script, api_key=KEY, chunk_size=4)
    with serve_asgi(emulator) as url:
        yield emulator, script, f"{url}/v1"


@pytest.fixture
def emulator(server: Server) -> OpenAIResponsesEmulator:
    """The shared emulator, reset for this test."""
    emulator, script, _ = server
    script.answer = "Hello from the emulator."
    emulator.stream_delay = 0.0
    emulator.disconnected.clear()
    emulator.requests.clear()
    emulator.calls.clear()
    return emulator


@pytest.fixture
def script(server: Server, emulator: OpenAIResponsesEmulator) -> Script:
    return server[1]


@pytest.fixture
def adapter(server: Server, emulator: OpenAIResponsesEmulator) -> OpenAIResponsesAdapter:
    return OpenAIResponsesAdapter("gpt-test", api_key=KEY, base_url=server[2])


def _ask(text: str = "hi", **kwargs: Any) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kwargs)


async def _events(adapter: OpenAIResponsesAdapter, request: ModelRequest) -> list[StreamEvent]:
    return [event async for event in adapter.stream(request)]


def _end(events: list[StreamEvent]) -> ModelResponse:
    assert isinstance(events[-1], ResponseEndEvent)
    return events[-1].response


async def _answer(
    adapter: OpenAIResponsesAdapter, request: ModelRequest, streaming: bool
) -> ModelResponse:
    if streaming:
        return _end(await _events(adapter, request))
    return await adapter.generate(request)


# -- answers ---------------------------------------------------------------------------------


async def test_generate_text(
    adapter: OpenAIResponsesAdapter, emulator: OpenAIResponsesEmulator
) -> None:
    response = await adapter.generate(_ask())
    assert response.message == Message.assistant("Hello from the emulator.")
    assert (response.finish_reason, response.raw_finish_reason) == ("stop", "completed")
    assert (response.provider, response.model_id) == ("openai", "gpt-test")
    assert response.usage is not None
    assert response.usage.output_tokens > 0
    assert response.response_id is not None
    assert response.response_id.startswith("resp_")
    assert emulator.requests == [
        {"model": "gpt-test", "input": [{"role": "user", "content": "hi"}], "store": False}
    ]


async def test_stream_text(adapter: OpenAIResponsesAdapter) -> None:
    events = await _events(adapter, _ask())
    deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
    assert len(deltas) > 1
    response = _end(events)
    assert "".join(deltas) == response.message.text == "Hello from the emulator."
    assert response.usage is not None
    assert response.finish_reason == "stop"


@pytest.mark.parametrize("streaming", [False, True])
async def test_parallel_tool_calls(
    adapter: OpenAIResponsesAdapter,
    script: Script,
    emulator: OpenAIResponsesEmulator,
    streaming: bool,
) -> None:
    script.answer = [
        ToolCallPart(id="a", name="weather", arguments={"city": "Paris"}),
        ToolCallPart(id="b", name="weather", arguments={"city": "Rome"}),
    ]
    request = _ask("weather?", tools=[WEATHER], tool_choice="required")
    if streaming:
        events = await _events(adapter, request)
        # Arguments arrive in two or more fragments per call, as OpenAI sends them.
        assert sum(isinstance(e, ToolCallDeltaEvent) and e.index == 1 for e in events) >= 2
        response = _end(events)
    else:
        response = await adapter.generate(request)
    calls = response.message.tool_calls
    assert [(c.name, c.arguments) for c in calls] == [
        ("weather", {"city": "Paris"}),
        ("weather", {"city": "Rome"}),
    ]
    assert all(c.id.startswith("call_") for c in calls)
    assert response.finish_reason == "tool_calls"
    (seen,) = emulator.calls
    assert (seen.tools, seen.tool_choice) == ([WEATHER], "required")
    assert emulator.requests[0]["tools"][0] == {
        "type": "function",
        "name": "weather",
        "description": "Current weather.",
        "parameters": WEATHER.input_schema,
        "strict": True,
    }


async def test_tool_results_round_trip_through_the_wire(
    adapter: OpenAIResponsesAdapter, script: Script, emulator: OpenAIResponsesEmulator
) -> None:
    def answer(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            (result,) = last.parts
            assert isinstance(result, ToolResultPart)
            return f"It is {result.text}."
        return [ToolCallPart(id="call_1", name="weather", arguments={"city": "Paris"})]

    script.answer = answer
    history = [Message.user("Weather in Paris?")]
    first = await adapter.generate(ModelRequest(messages=history, tools=[WEATHER]))
    (call,) = first.message.tool_calls
    result = ToolResultPart(call_id=call.id, name="weather", content=[TextPart(text="sunny")])
    history += [first.message, Message(role="tool", parts=[result])]
    second = await adapter.generate(ModelRequest(messages=history, tools=[WEATHER]))
    assert second.message.text == "It is sunny."
    assert emulator.calls[1].messages[1:] == history[1:]


@pytest.mark.parametrize("streaming", [False, True])
async def test_strict_nulls_for_left_out_fields_are_stripped(
    adapter: OpenAIResponsesAdapter, script: Script, streaming: bool
) -> None:
    # Strict mode made "unit" required and nullable; the model says null for "left out".
    script.answer = [
        ToolCallPart(id="call_1", name="weather", arguments={"city": "Oslo", "unit": None})
    ]
    response = await _answer(adapter, _ask(tools=[WEATHER_UNIT]), streaming)
    assert response.message.tool_calls == [
        ToolCallPart(id="call_1", name="weather", arguments={"city": "Oslo"})
    ]
    assert "required" in [w.feature for w in response.warnings]  # reported, not hidden


@pytest.mark.parametrize("streaming", [False, True])
async def test_structured_output(
    adapter: OpenAIResponsesAdapter,
    script: Script,
    emulator: OpenAIResponsesEmulator,
    streaming: bool,
) -> None:
    schema = WEATHER.input_schema
    script.answer = json.dumps({"city": "Oslo"})
    response = await _answer(adapter, _ask(output_schema=schema, output_name="City"), streaming)
    assert json.loads(response.message.text) == {"city": "Oslo"}
    assert emulator.requests[0]["text"] == {
        "format": {"type": "json_schema", "name": "City", "schema": schema, "strict": True}
    }
    assert emulator.calls[0].output_schema == schema


@pytest.mark.parametrize("streaming", [False, True])
async def test_reasoning_is_carried_over_encrypted(
    adapter: OpenAIResponsesAdapter,
    script: Script,
    emulator: OpenAIResponsesEmulator,
    streaming: bool,
) -> None:
    script.answer = [
        ReasoningPart(text="Look it up."),
        ToolCallPart(id="call_1", name="weather", arguments={"city": "Oslo"}),
    ]
    settings = ModelSettings(reasoning_effort="low")
    request = _ask(tools=[WEATHER], settings=settings)
    if streaming:
        events = await _events(adapter, request)
        assert (
            "".join(e.text for e in events if isinstance(e, ReasoningDeltaEvent)) == "Look it up."
        )
        first = _end(events)
    else:
        first = await adapter.generate(request)
    reasoning, call = first.message.parts
    assert isinstance(reasoning, ReasoningPart)
    assert (reasoning.text, reasoning.provider, reasoning.model) == (
        "Look it up.",
        "openai",
        "gpt-test",
    )
    assert reasoning.signature is not None  # include: reasoning.encrypted_content
    assert reasoning.id is not None
    assert reasoning.id.startswith("rs_")
    result = ToolResultPart(call_id=call.id, content=[TextPart(text="cold")])  # type: ignore[union-attr]
    script.answer = "Cold."
    follow_up = ModelRequest(
        messages=[*request.messages, first.message, Message(role="tool", parts=[result])],
        tools=[WEATHER],
        settings=settings,
    )
    assert (await _answer(adapter, follow_up, streaming)).message.text == "Cold."
    sent = emulator.requests[1]
    assert sent["include"] == ["reasoning.encrypted_content"]
    assert sent["input"][1] == {
        "type": "reasoning",
        "id": reasoning.id,
        "summary": [{"type": "summary_text", "text": "Look it up."}],
        "encrypted_content": reasoning.signature,
    }


@pytest.mark.parametrize("streaming", [False, True])
async def test_refusal(adapter: OpenAIResponsesAdapter, script: Script, streaming: bool) -> None:
    script.answer = lambda request: ModelResponse(
        message=Message(role="assistant", parts=[]),
        finish_reason="refusal",
        refusal="I can't help with that.",
        provider="function",
        model_id="f",
    )
    if streaming:
        events = await _events(adapter, _ask())
        assert "".join(e.text for e in events if isinstance(e, RefusalDeltaEvent)) == (
            "I can't help with that."
        )
        response = _end(events)
    else:
        response = await adapter.generate(_ask())
    assert (response.refusal, response.finish_reason) == ("I can't help with that.", "refusal")
    assert response.message.parts == []


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize(
    ("finish", "raw"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
async def test_incomplete_answers(
    adapter: OpenAIResponsesAdapter, script: Script, streaming: bool, finish: Any, raw: str
) -> None:
    script.answer = lambda request: ModelResponse(
        message=Message.assistant("Alabama, Alaska"),
        finish_reason=finish,
        usage=Usage(input_tokens=3, output_tokens=5),
        provider="function",
        model_id="f",
    )
    response = await _answer(adapter, _ask(), streaming)
    assert (response.finish_reason, response.raw_finish_reason) == (finish, raw)
    assert response.message.text == "Alabama, Alaska"
    assert response.usage == Usage(input_tokens=3, output_tokens=5)


@pytest.mark.parametrize("streaming", [False, True])
async def test_custom_tool_calls_over_the_wire(
    adapter: OpenAIResponsesAdapter,
    script: Script,
    emulator: OpenAIResponsesEmulator,
    streaming: bool,
) -> None:
    custom = {"type": "custom", "name": "write_sql", "description": "Write SQL."}
    script.answer = [ToolCallPart(id="call_7", name="write_sql", arguments={"input": "SELECT 1"})]
    request = _ask(settings=ModelSettings(extra={"tools": [custom]}))
    response = await _answer(adapter, request, streaming)
    assert response.message.parts == [
        ToolCallPart(id="call_7", name="write_sql", arguments={"input": "SELECT 1"})
    ]
    assert emulator.requests[0]["tools"] == [custom]


async def test_settings_reach_the_wire(
    adapter: OpenAIResponsesAdapter, emulator: OpenAIResponsesEmulator
) -> None:
    settings = ModelSettings(max_tokens=20, temperature=0.1, top_p=0.5, seed=3)
    response = await adapter.generate(_ask(settings=settings))
    sent = emulator.requests[0]
    assert (sent["max_output_tokens"], sent["temperature"], sent["top_p"]) == (20, 0.1, 0.5)
    assert "seed" not in sent
    assert [(w.kind, w.feature) for w in response.warnings] == [("unsupported_setting", "seed")]
    seen = emulator.calls[0].settings
    assert (seen.max_tokens, seen.temperature, seen.top_p) == (20, 0.1, 0.5)


# -- errors ----------------------------------------------------------------------------------


async def _call(adapter: OpenAIResponsesAdapter, streaming: bool) -> None:
    await _answer(adapter, _ask(), streaming)


@pytest.mark.parametrize("streaming", [False, True])
async def test_wrong_key_is_an_authentication_error(server: Server, streaming: bool) -> None:
    adapter = OpenAIResponsesAdapter("gpt-test", api_key="sk-wrong", base_url=server[2])
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY") as info:
        await _call(adapter, streaming)
    assert (info.value.status_code, info.value.code) == (401, "invalid_api_key")


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "model_not_found", ModelNotFoundError),  # OpenAI's status on /v1/responses
        (500, None, ServerError),
    ],
)
async def test_error_statuses(
    adapter: OpenAIResponsesAdapter, script: Script, status: int, code: str | None, cls: type
) -> None:
    def answer(request: ModelRequest) -> Any:
        raise openai_error(status, "scripted failure", code=code)

    script.answer = answer
    for streaming in (False, True):
        with pytest.raises(cls, match="scripted failure"):
            await _call(adapter, streaming)


@pytest.mark.parametrize("streaming", [False, True])
async def test_rate_limit_carries_retry_after(
    adapter: OpenAIResponsesAdapter, script: Script, streaming: bool
) -> None:
    def answer(request: ModelRequest) -> Any:
        raise openai_error(
            429, "Slow down.", code="rate_limit_exceeded", headers={"retry-after": "3"}
        )

    script.answer = answer
    with pytest.raises(RateLimitError) as info:
        await _call(adapter, streaming)
    assert (info.value.retry_after, info.value.status_code) == (3.0, 429)


@pytest.mark.parametrize(("streaming", "status"), [(False, 429), (True, 200)])
async def test_quota_error_inside_a_200_stream(
    adapter: OpenAIResponsesAdapter, script: Script, streaming: bool, status: int
) -> None:
    def answer(request: ModelRequest) -> Any:
        raise ScriptedResponseFailure("insufficient_quota", "You exceeded your quota.", status=429)

    script.answer = answer
    with pytest.raises(RateLimitError, match="exceeded your quota") as info:
        await _call(adapter, streaming)
    assert (info.value.status_code, info.value.code) == (status, "insufficient_quota")


async def test_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = OpenAIResponsesAdapter("m", api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ProviderConnectionError, match="could not connect"):
        await adapter.generate(_ask())


async def test_timeout_setting_applies(adapter: OpenAIResponsesAdapter, script: Script) -> None:
    async def slow(request: ModelRequest) -> str:
        await anyio.sleep(2)
        return "late"

    script.answer = slow
    with pytest.raises(ProviderConnectionError, match="timed out"):
        await adapter.generate(_ask(settings=ModelSettings(timeout=0.2)))


# -- cancellation ----------------------------------------------------------------------------


async def test_closing_a_stream_closes_the_connection(
    adapter: OpenAIResponsesAdapter, script: Script, emulator: OpenAIResponsesEmulator
) -> None:
    script.answer = "word " * 200
    emulator.stream_delay = 0.01
    stream = adapter.stream(_ask())
    seen = [await anext(stream) for _ in range(3)]
    assert isinstance(seen[-1], TextDeltaEvent)
    await stream.aclose()  # type: ignore[attr-defined]
    assert await anyio.to_thread.run_sync(emulator.disconnected.wait, 5)


async def test_cancelling_the_consumer_closes_the_connection(
    adapter: OpenAIResponsesAdapter, script: Script, emulator: OpenAIResponsesEmulator
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
    assert received == 3
    assert await anyio.to_thread.run_sync(emulator.disconnected.wait, 5)


# -- the factory and the example agent -------------------------------------------------------


def test_factory_reads_the_environment(monkeypatch: pytest.MonkeyPatch, server: Server) -> None:
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        create_responses_adapter("gpt-test")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server[2])
    adapter = agentkit.resolve_model("openai-responses:gpt-test")
    assert isinstance(adapter, OpenAIResponsesAdapter)
    assert (adapter.model_id, adapter.base_url, adapter.provider) == (
        "gpt-test",
        server[2],
        "openai",
    )
    assert isinstance(adapter, agentkit.ModelAdapter)
    caps = adapter.capabilities
    assert caps.image_input
    assert caps.reasoning
    assert caps.tool_call_streaming
    assert caps.usage_in_stream
    assert caps.tool_choice == {"auto", "none", "required", "named"}
    assert caps.structured_output == {"native", "tool", "prompted"}
    assert "reasoning_effort" in caps.settings
    assert not {"stop", "seed"} & caps.settings


def _weather_script(request: ModelRequest) -> Any:
    last = request.messages[-1]
    if last.role == "tool":
        (result,) = last.parts
        assert isinstance(result, ToolResultPart)
        weather = result.structured_content or json.loads(result.text)
        return (
            f"It is {weather['temperature_c']} °C and {weather['conditions']} in {weather['city']}."
        )
    # A strict-mode model writes null for the left-out optional "unit".
    return [
        ToolCallPart(id="call_w", name="get_weather", arguments={"city": "Paris", "unit": None})
    ]


@pytest.mark.parametrize("lossy", [False, True])
async def test_the_weather_example_runs_over_the_wire(
    adapter: OpenAIResponsesAdapter, script: Script, emulator: OpenAIResponsesEmulator, lossy: bool
) -> None:
    agent = agentkit.load_agent(EXAMPLE)
    agent.allow_lossy_schemas = lossy
    script.answer = (
        _weather_script
        if lossy
        else lambda r: (
            _weather_script(r)
            if r.messages[-1].role == "tool"
            else [ToolCallPart(id="call_w", name="get_weather", arguments={"city": "Paris"})]
        )
    )
    result = await agentkit.run(agent, "What's the weather in Paris?", model=adapter)
    tool_result = result.messages[-2].parts[0]
    assert isinstance(tool_result, ToolResultPart)
    assert not tool_result.is_error  # the stand-in null for "unit" never reached the tool
    weather = tool_result.structured_content or json.loads(tool_result.text)
    assert weather["city"] == "Paris"
    assert result.output == (
        f"It is {weather['temperature_c']} °C and {weather['conditions']} in Paris."
    )
    first = emulator.requests[0]
    assert first["input"][0] == {"role": "developer", "content": agent.instructions}
    assert (first["temperature"], first["max_output_tokens"]) == (0, 256)
    (tool,) = first["tools"]
    # Strict only when the agent accepts closing the tool's open object.
    assert tool["strict"] is lossy
    assert (tool["parameters"]["properties"]["unit"]["type"] == ["string", "null"]) is lossy
    # Turn two carries the call and its result back.
    kinds = [item.get("type", "message") for item in emulator.requests[1]["input"]]
    assert kinds == ["message", "message", "function_call", "function_call_output"]
    assert result.usage.requests == 2

    streamed = [e async for e in agentkit.run_stream(agent, "Weather in Paris?", model=adapter)]
    assert streamed[-1].result.output == result.output  # type: ignore[union-attr]
