"""The native adapter's HTTP path against the Ollama emulator on a real loopback server."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.ollama import OLLAMA_CAPABILITIES, OllamaAdapter, create_ollama_adapter

import agentkit
from agentkit import (
    ImagePart,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningDeltaEvent,
    ReasoningPart,
    ResponseEndEvent,
    RunEndEvent,
    StreamEvent,
    TextDeltaEvent,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)
from agentkit.exceptions import (
    ModelCallError,
    ModelNotFoundError,
    ProviderConnectionError,
    ServerError,
    UnsupportedFeatureError,
    UserError,
)
from agentkit.testing import OllamaEmulator, ScriptedStreamError, ollama_error, serve_asgi

pytestmark = pytest.mark.anyio

WEATHER_AGENT = Path(__file__).parents[3] / "examples" / "weather" / "agent.yaml"
WEATHER = ToolDefinition(
    name="weather",
    description="Current weather.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
)


class Script:
    """The scripted model of the shared emulator; each test sets ``answer``."""

    def __init__(self) -> None:
        self.answer: Any = "Hello from Ollama."

    def __call__(self, request: ModelRequest) -> Any:
        return self.answer(request) if callable(self.answer) else self.answer


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[OllamaEmulator, Script, str]]:
    script = Script()
    emulator = OllamaEmulator(script, chunk_size=4, models={"llama3.2", "qwen3:8b"})
    with serve_asgi(emulator) as url:
        yield emulator, script, url


@pytest.fixture
def emulator(server: tuple[OllamaEmulator, Script, str]) -> OllamaEmulator:
    emulator, script, _ = server
    script.answer = "Hello from Ollama."
    emulator.stream_delay = 0.0
    emulator.tools_supported = True
    emulator.tool_call_ids = False
    emulator.disconnected.clear()
    emulator.requests.clear()
    emulator.calls.clear()
    return emulator


@pytest.fixture
def script(server: tuple[OllamaEmulator, Script, str], emulator: OllamaEmulator) -> Script:
    return server[1]


@pytest.fixture
def adapter(server: tuple[OllamaEmulator, Script, str], emulator: OllamaEmulator) -> OllamaAdapter:
    return OllamaAdapter("llama3.2", host=server[2])


def _ask(text: str = "hi", **kwargs: Any) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kwargs)


async def _events(adapter: OllamaAdapter, request: ModelRequest) -> list[StreamEvent]:
    return [event async for event in adapter.stream(request)]


def _end(events: list[StreamEvent]) -> ModelResponse:
    assert isinstance(events[-1], ResponseEndEvent)
    return events[-1].response


async def _call(adapter: OllamaAdapter, request: ModelRequest, streaming: bool) -> ModelResponse:
    return _end(await _events(adapter, request)) if streaming else await adapter.generate(request)


# -- answers ---------------------------------------------------------------------------------


async def test_generate_text(adapter: OllamaAdapter, emulator: OllamaEmulator) -> None:
    response = await adapter.generate(_ask(settings=ModelSettings(max_tokens=32, temperature=0)))
    assert response.message == Message.assistant("Hello from Ollama.")
    assert (response.finish_reason, response.raw_finish_reason) == ("stop", "stop")
    assert (response.provider, response.model_id) == ("ollama", "llama3.2")
    assert response.usage is not None
    assert response.usage.output_tokens > 0
    assert emulator.requests == [
        {
            "model": "llama3.2",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": False,
            "options": {"num_predict": 32, "temperature": 0},
        }
    ]


async def test_stream_text(adapter: OllamaAdapter) -> None:
    events = await _events(adapter, _ask())
    deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
    assert len(deltas) > 1
    response = _end(events)
    assert "".join(deltas) == response.message.text == "Hello from Ollama."
    assert response.usage == (await adapter.generate(_ask())).usage


@pytest.mark.parametrize("server_ids", [False, True])
@pytest.mark.parametrize("streaming", [False, True])
async def test_tool_calls_round_trip(
    adapter: OllamaAdapter,
    emulator: OllamaEmulator,
    script: Script,
    server_ids: bool,
    streaming: bool,
) -> None:
    emulator.tool_call_ids = server_ids

    def model(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            results = [p for p in last.parts if isinstance(p, ToolResultPart)]
            return " / ".join(f"{r.name}: {r.text}" for r in results)
        return [
            ToolCallPart(id="x1", name="weather", arguments={"city": "Paris"}),
            ToolCallPart(id="x2", name="weather", arguments={"city": "Rome"}),
        ]

    script.answer = model
    request = _ask("Paris and Rome?", tools=[WEATHER])
    first = await _call(adapter, request, streaming)
    calls = first.message.tool_calls
    assert [c.arguments for c in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert len({c.id for c in calls}) == 2
    assert all(c.id.startswith("call_") for c in calls)
    assert first.finish_reason == "tool_calls"
    results = [
        ToolResultPart(call_id=c.id, content=[TextPart(text=f"{c.arguments['city']} 20 C")])
        for c in calls
    ]
    follow_up = ModelRequest(
        messages=[*request.messages, first.message, Message(role="tool", parts=results)],
        tools=[WEATHER],
    )
    second = await adapter.generate(follow_up)
    assert second.message.text == "weather: Paris 20 C / weather: Rome 20 C"
    sent = emulator.requests[-1]["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert [(m["role"], m["tool_name"]) for m in sent[2:]] == [("tool", "weather")] * 2


async def test_thinking_streams_as_reasoning(
    adapter: OllamaAdapter, emulator: OllamaEmulator, script: Script
) -> None:
    script.answer = [ReasoningPart(text="Let me think about it."), TextPart(text="42.")]
    request = _ask(settings=ModelSettings(reasoning_effort="high"))
    events = await _events(adapter, request)
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDeltaEvent))
    assert reasoning == "Let me think about it."
    assert _end(events).message.parts == [
        ReasoningPart(text=reasoning, provider="ollama", model="llama3.2"),
        TextPart(text="42."),
    ]
    assert emulator.requests[-1]["think"] == "high"
    assert "think" not in emulator.requests[-1].get("options", {})
    assert emulator.calls[-1].settings.reasoning_effort == "high"


async def test_structured_output_is_sent_as_format(
    adapter: OllamaAdapter, emulator: OllamaEmulator, script: Script
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    script.answer = '{"n": 3}'
    response = await adapter.generate(_ask(output_schema=schema))
    assert json.loads(response.message.text) == {"n": 3}
    assert emulator.requests[-1]["format"] == schema
    assert emulator.calls[-1].output_schema == schema


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
async def test_unknown_model(server: tuple[Any, Any, str], streaming: bool) -> None:
    adapter = OllamaAdapter("llama9", host=server[2])
    with pytest.raises(ModelNotFoundError, match="ollama pull llama9") as info:
        await _call(adapter, _ask(), streaming)
    assert info.value.status_code == 404


@pytest.mark.parametrize("streaming", [False, True])
async def test_model_without_tools(
    adapter: OllamaAdapter, emulator: OllamaEmulator, streaming: bool
) -> None:
    emulator.tools_supported = False
    with pytest.raises(UnsupportedFeatureError, match="does not support tools"):
        await _call(adapter, _ask(tools=[WEATHER]), streaming)
    # Without tools the same model answers.
    assert (await adapter.generate(_ask())).message.text == "Hello from Ollama."


async def test_error_line_mid_stream(adapter: OllamaAdapter, script: Script) -> None:
    def model(request: ModelRequest) -> Any:
        raise ScriptedStreamError("an error was encountered while running the model", "Hel")

    script.answer = model
    seen: list[StreamEvent] = []

    async def consume() -> None:
        async for event in adapter.stream(_ask()):
            seen.append(event)

    with pytest.raises(ServerError, match="while running the model") as info:
        await consume()
    assert info.value.status_code == 200
    assert [e.text for e in seen if isinstance(e, TextDeltaEvent)] == ["Hel"]
    with pytest.raises(ServerError) as whole:
        await adapter.generate(_ask())
    assert whole.value.status_code == 500


async def test_scripted_http_error(adapter: OllamaAdapter, script: Script) -> None:
    def model(request: ModelRequest) -> Any:
        raise ollama_error(503, "server busy, please try again", headers={"retry-after": "2"})

    script.answer = model
    with pytest.raises(ServerError) as info:
        await adapter.generate(_ask())
    assert (info.value.status_code, info.value.retry_after) == (503, 2.0)


async def test_nothing_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = OllamaAdapter("llama3.2", host=f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderConnectionError, match="is the server running"):
        await adapter.generate(_ask())


async def test_closing_the_stream_early_closes_the_connection(
    adapter: OllamaAdapter, emulator: OllamaEmulator, script: Script
) -> None:
    emulator.stream_delay = 0.05
    script.answer = "x" * 200
    async with aclosing(adapter.stream(_ask())) as events:  # type: ignore[type-var]
        async for event in events:
            if isinstance(event, TextDeltaEvent):
                break
    assert emulator.disconnected.wait(5)


# -- through the registry and the runner -----------------------------------------------------


async def test_factory_reads_ollama_host_without_scheme(
    server: tuple[Any, Any, str], emulator: OllamaEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", server[2].removeprefix("http://"))
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    adapter = agentkit.resolve_model("ollama:llama3.2")
    assert isinstance(adapter, OllamaAdapter)
    assert adapter.capabilities == OLLAMA_CAPABILITIES
    assert (await adapter.generate(_ask())).message.text == "Hello from Ollama."
    with pytest.raises(UserError, match=r"ollama:llama3\.2"):
        create_ollama_adapter("")


def _weather_model(request: ModelRequest) -> Any:
    """Call get_weather for the city, then answer from the tool's result."""
    last = request.messages[-1]
    if last.role != "tool":
        return [ToolCallPart(id="w", name="get_weather", arguments={"city": "Paris"})]
    part = last.parts[0]
    assert isinstance(part, ToolResultPart)
    result = json.loads(part.text)
    return f"It is {result['temperature_c']} C and {result['conditions']} in {result['city']}."


@pytest.mark.parametrize("streaming", [False, True])
async def test_weather_agent_runs_to_a_final_answer(
    server: tuple[Any, Any, str],
    emulator: OllamaEmulator,
    script: Script,
    monkeypatch: pytest.MonkeyPatch,
    streaming: bool,
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", server[2])
    script.answer = _weather_model
    agent = agentkit.load_agent(WEATHER_AGENT)
    (get_weather,) = agent.tools
    if streaming:
        stream = agentkit.run_stream(agent, "Weather in Paris?", model="ollama:llama3.2")
        events = [e async for e in stream]
        assert isinstance(events[-1], RunEndEvent)
        result = events[-1].result
    else:
        result = await agentkit.run(agent, "Weather in Paris?", model="ollama:llama3.2")
    truth = get_weather.function("Paris")  # type: ignore[union-attr]
    assert result.output == f"It is {truth.temperature_c} C and {truth.conditions} in Paris."
    assert (result.turns, result.model) == (2, "ollama:llama3.2")
    # The tool's schema went out as an Ollama tool; the agent's settings as options.
    first = emulator.requests[0]
    assert first["tools"][0]["function"]["name"] == "get_weather"
    assert first["options"] == {"num_predict": 256, "temperature": 0}
    second = emulator.requests[1]["messages"]
    assert second[-1]["role"] == "tool"
    assert second[-1]["tool_name"] == "get_weather"
    assert json.loads(second[-1]["content"])["city"] == "Paris"
    assert result.usage.requests == 2
    assert result.usage.input_tokens > 0


async def test_a_model_chain_moves_on_when_a_model_cannot_call_tools(
    script: Script, emulator: OllamaEmulator
) -> None:
    script.answer = _weather_model
    no_tools = OllamaEmulator(lambda request: "unused", tools_supported=False)
    agent = agentkit.load_agent(WEATHER_AGENT)
    with serve_asgi(no_tools) as small, serve_asgi(emulator) as big:
        chain = [OllamaAdapter("gemma3:1b", host=small), OllamaAdapter("llama3.2", host=big)]
        result = await agentkit.run(agent, "Weather in Paris?", model=chain)
    assert result.model == "ollama:llama3.2"
    assert "Paris" in result.output
    assert any(
        w.kind == "fallback" and "does not support tools" in w.message for w in result.warnings
    )
    assert no_tools.calls == []


async def test_a_lone_model_without_tools_fails_the_run(
    emulator: OllamaEmulator, server: Any
) -> None:
    emulator.tools_supported = False
    agent = agentkit.load_agent(WEATHER_AGENT)
    with pytest.raises(ModelCallError) as info:
        await agentkit.run(agent, "Weather?", model=OllamaAdapter("llama3.2", host=server[2]))
    assert isinstance(info.value.cause, UnsupportedFeatureError)
    assert info.value.messages[-1] == Message.user("Weather?")


async def test_images_reach_the_model_as_bytes(
    adapter: OllamaAdapter, emulator: OllamaEmulator
) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    message = Message(
        role="user",
        parts=[TextPart(text="What is it?"), ImagePart(data=png, media_type="image/png")],
    )
    await adapter.generate(ModelRequest(messages=[message]))
    assert emulator.requests[-1]["messages"][0]["images"] == [base64.b64encode(png).decode()]
    assert emulator.calls[-1].messages == [message]


@pytest.mark.parametrize(
    ("patch", "error"),
    [
        ({"tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}, "cannot unmarshal"),
        ({"role": "robot"}, "invalid role"),
    ],
)
async def test_the_emulator_rejects_what_ollama_rejects(
    server: tuple[Any, Any, str], emulator: OllamaEmulator, patch: dict[str, Any], error: str
) -> None:
    message = {"role": "assistant", "content": "", **patch}
    body = {"model": "llama3.2", "messages": [message], "stream": False}
    async with httpx2.AsyncClient() as client:
        response = await client.post(f"{server[2]}/api/chat", json=body)
    assert response.status_code == 400
    assert error in response.json()["error"]
    bad_think = {"model": "llama3.2", "messages": [], "think": "max"}
    async with httpx2.AsyncClient() as client:
        response = await client.post(f"{server[2]}/api/chat", json=bad_think)
    assert response.status_code == 400
