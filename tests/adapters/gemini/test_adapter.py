"""The Gemini adapter's HTTP path against the Gemini emulator on a real loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest
from agentkit_adapters.gemini import GeminiAdapter, create_gemini_adapter

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
    StreamEvent,
    TextDeltaEvent,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
    Usage,
)
from agentkit.exceptions import (
    AuthenticationError,
    ContentFilterError,
    ContextLengthError,
    ModelNotFoundError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    UserError,
)
from agentkit.testing import GeminiEmulator, ScriptedHTTPError, gemini_error, serve_asgi

KEY = "emulated-key"
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
def server() -> Iterator[tuple[GeminiEmulator, Script, str]]:
    script = Script()
    emulator = GeminiEmulator(script, api_key=KEY, chunk_size=4)
    with serve_asgi(emulator) as url:
        yield emulator, script, url


@pytest.fixture
def emulator(server: tuple[GeminiEmulator, Script, str]) -> GeminiEmulator:
    """The shared emulator, reset for this test."""
    emulator, script, _ = server
    script.answer = "Hello from the emulator."
    emulator.stream_delay = 0.0
    emulator.call_ids = False
    emulator.thought_signatures = False
    emulator.disconnected.clear()
    for log in (emulator.requests, emulator.paths, emulator.calls, emulator.signatures):
        log.clear()
    return emulator


@pytest.fixture
def script(server: tuple[GeminiEmulator, Script, str], emulator: GeminiEmulator) -> Script:
    return server[1]


@pytest.fixture
def adapter(server: tuple[GeminiEmulator, Script, str], emulator: GeminiEmulator) -> GeminiAdapter:
    return GeminiAdapter("gemini-2.5-flash", api_key=KEY, base_url=server[2])


def _ask(text: str = "hi", **kwargs: Any) -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)], **kwargs)


async def _events(adapter: GeminiAdapter, request: ModelRequest) -> list[StreamEvent]:
    return [event async for event in adapter.stream(request)]


def _end(events: list[StreamEvent]) -> ModelResponse:
    assert isinstance(events[-1], ResponseEndEvent)
    return events[-1].response


async def _answer(adapter: GeminiAdapter, request: ModelRequest, streaming: bool) -> ModelResponse:
    if streaming:
        return _end(await _events(adapter, request))
    return await adapter.generate(request)


# -- answers ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_generate_text(adapter: GeminiAdapter, emulator: GeminiEmulator) -> None:
    response = await adapter.generate(_ask())
    assert response.message == Message.assistant("Hello from the emulator.")
    assert (response.finish_reason, response.raw_finish_reason) == ("stop", "STOP")
    assert (response.provider, response.model_id) == ("gemini", "gemini-2.5-flash")
    assert response.usage is not None
    assert response.usage.output_tokens > 0
    assert emulator.paths == ["/v1beta/models/gemini-2.5-flash:generateContent"]
    assert emulator.requests == [{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}]


@pytest.mark.anyio
async def test_stream_text(
    adapter: GeminiAdapter, emulator: GeminiEmulator, script: Script
) -> None:
    script.answer = agentkit.ModelResponse(
        message=Message.assistant("Hello from the emulator."),
        finish_reason="stop",
        usage=Usage(input_tokens=5, output_tokens=12, reasoning_output_tokens=4),
        provider="x",
        model_id="x",
    )
    events = await _events(adapter, _ask())
    deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
    assert len(deltas) == 6  # chunk_size=4, one chunk each, usage on every one
    response = _end(events)
    assert "".join(deltas) == response.message.text == "Hello from the emulator."
    # Only the last chunk's usage counts, once.
    assert response.usage == Usage(input_tokens=5, output_tokens=12, reasoning_output_tokens=4)
    assert emulator.paths == ["/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"]


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_parallel_tool_calls_and_their_results(
    adapter: GeminiAdapter, script: Script, emulator: GeminiEmulator, streaming: bool
) -> None:
    def answer(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            return "; ".join(
                f"{p.call_id}={p.text}" for p in last.parts if isinstance(p, ToolResultPart)
            )
        return [
            ToolCallPart(id="a", name="weather", arguments={"city": "Paris"}),
            ToolCallPart(id="b", name="weather", arguments={"city": "Rome"}),
        ]

    script.answer = answer
    history = [Message.user("weather?")]
    first = await _answer(
        adapter, ModelRequest(messages=history, tools=[WEATHER], tool_choice="required"), streaming
    )
    calls = first.message.tool_calls
    assert [(c.name, c.arguments) for c in calls] == [
        ("weather", {"city": "Paris"}),
        ("weather", {"city": "Rome"}),
    ]
    assert len({c.id for c in calls}) == 2
    assert first.finish_reason == "tool_calls"
    (seen,) = emulator.calls
    assert seen.tools == [WEATHER]
    assert seen.tool_choice == "required"
    assert emulator.requests[0]["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    results = [
        ToolResultPart(call_id=c.id, name="weather", content=[TextPart(text=t)])
        for c, t in zip(calls, ["sun", "rain"], strict=True)
    ]
    history += [first.message, Message(role="tool", parts=results)]
    second = await _answer(adapter, ModelRequest(messages=history, tools=[WEATHER]), streaming)
    # No ids on the wire (Gemini 2.5): the emulator matched the results by name, in order.
    assert second.message.text == "weather-0=sun; weather-1=rain"
    assert "id" not in json.dumps(emulator.requests[1]["contents"][1])


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_signatures_and_ids_come_back_on_the_same_call(
    server: tuple[GeminiEmulator, Script, str],
    script: Script,
    emulator: GeminiEmulator,
    streaming: bool,
) -> None:
    adapter = GeminiAdapter("gemini-3-pro-preview", api_key=KEY, base_url=server[2])
    emulator.call_ids = True
    emulator.thought_signatures = True

    def answer(request: ModelRequest) -> Any:
        if request.messages[-1].role == "tool":
            return "done"
        return [
            ToolCallPart(id="x", name="weather", arguments={"city": "Oslo"}),
            ToolCallPart(id="y", name="weather", arguments={"city": "Bergen"}),
        ]

    script.answer = answer
    first = await _answer(adapter, _ask("go", tools=[WEATHER]), streaming)
    (signature,) = emulator.signatures
    assert first.message.parts[0] == ReasoningPart(
        signature=signature, provider="gemini", model="gemini-3-pro-preview"
    )
    results = [
        ToolResultPart(call_id=c.id, content=[TextPart(text="ok")])
        for c in first.message.tool_calls
    ]
    messages = [Message.user("go"), first.message, Message(role="tool", parts=results)]
    await _answer(adapter, ModelRequest(messages=messages, tools=[WEATHER]), streaming)
    model_turn = emulator.requests[1]["contents"][1]["parts"]
    assert model_turn[0]["thoughtSignature"] == signature
    assert "thoughtSignature" not in model_turn[1]
    wire_ids = [p["functionCall"]["id"] for p in model_turn]
    assert wire_ids == [c.id for c in first.message.tool_calls]
    answers = emulator.requests[1]["contents"][2]["parts"]
    assert [p["functionResponse"]["id"] for p in answers] == wire_ids


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_thoughts(adapter: GeminiAdapter, script: Script, streaming: bool) -> None:
    script.answer = [ReasoningPart(text="Two and two make four."), TextPart(text="4")]
    request = _ask(settings=ModelSettings(reasoning_effort="low"))
    if streaming:
        events = await _events(adapter, request)
        assert len([e for e in events if isinstance(e, ReasoningDeltaEvent)]) > 1
        response = _end(events)
    else:
        response = await adapter.generate(request)
    assert response.message.parts == [
        ReasoningPart(text="Two and two make four.", provider="gemini", model="gemini-2.5-flash"),
        TextPart(text="4"),
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_structured_output(
    adapter: GeminiAdapter, script: Script, emulator: GeminiEmulator, streaming: bool
) -> None:
    schema = WEATHER.input_schema
    script.answer = lambda request: json.dumps({"city": "Oslo"})
    response = await _answer(adapter, _ask("city?", output_schema=schema), streaming)
    assert json.loads(response.message.text) == {"city": "Oslo"}
    assert emulator.requests[0]["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }
    assert emulator.calls[0].output_schema == schema


@pytest.mark.anyio
async def test_settings_and_images_reach_the_wire(
    adapter: GeminiAdapter, emulator: GeminiEmulator
) -> None:
    settings = ModelSettings(max_tokens=20, temperature=0.1, top_p=0.5, stop=["x"], seed=3)
    image = ImagePart(data=b"\x89PNG", media_type="image/png")
    request = ModelRequest(
        messages=[
            Message.system("Terse."),
            Message(role="user", parts=[TextPart(text="what?"), image]),
        ],
        settings=settings,
    )
    await adapter.generate(request)
    sent = emulator.requests[0]
    assert sent["systemInstruction"] == {"parts": [{"text": "Terse."}]}
    assert sent["generationConfig"] == {
        "maxOutputTokens": 20,
        "temperature": 0.1,
        "topP": 0.5,
        "stopSequences": ["x"],
        "seed": 3,
    }
    (seen,) = emulator.calls
    assert seen.settings == settings
    assert seen.messages[1].parts == [TextPart(text="what?"), image]


# -- errors ----------------------------------------------------------------------------------


async def _call(adapter: GeminiAdapter, streaming: bool) -> None:
    await _answer(adapter, _ask(), streaming)


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_wrong_key_is_an_authentication_error(
    server: tuple[GeminiEmulator, Script, str], emulator: GeminiEmulator, streaming: bool
) -> None:
    adapter = GeminiAdapter("gemini-2.5-flash", api_key="wrong", base_url=server[2])
    with pytest.raises(AuthenticationError, match="GEMINI_API_KEY") as info:
        await _call(adapter, streaming)
    assert (info.value.status_code, info.value.code) == (400, "INVALID_ARGUMENT")
    assert info.value.body["error"]["details"][0]["reason"] == "API_KEY_INVALID"


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_rate_limit_carries_the_retry_delay(
    adapter: GeminiAdapter, script: Script, streaming: bool
) -> None:
    def answer(request: ModelRequest) -> Any:
        raise gemini_error(429, "You exceeded your current quota.", retry_delay=2.5)

    script.answer = answer
    with pytest.raises(RateLimitError) as info:
        await _call(adapter, streaming)
    assert (info.value.retry_after, info.value.status_code) == (2.5, 429)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "cls"), [(500, ServerError), (503, ServerError), (404, ModelNotFoundError)]
)
async def test_error_statuses(
    adapter: GeminiAdapter, script: Script, status: int, cls: type
) -> None:
    def answer(request: ModelRequest) -> Any:
        raise gemini_error(status, "scripted failure")

    script.answer = answer
    for streaming in (False, True):
        with pytest.raises(cls, match="scripted failure"):
            await _call(adapter, streaming)


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_blocked_prompt_and_answer(
    adapter: GeminiAdapter, script: Script, streaming: bool
) -> None:
    def blocked_prompt(request: ModelRequest) -> Any:
        raise ScriptedHTTPError(200, {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}})

    script.answer = blocked_prompt
    with pytest.raises(ContentFilterError, match="prompt was blocked") as info:
        await _call(adapter, streaming)
    assert (info.value.status_code, info.value.code) == (200, "PROHIBITED_CONTENT")
    script.answer = agentkit.ModelResponse(
        message=Message(role="assistant", parts=[]),
        finish_reason="content_filter",
        provider="x",
        model_id="x",
    )
    with pytest.raises(ContentFilterError, match="SAFETY"):
        await _call(adapter, streaming)


@pytest.mark.anyio
async def test_unknown_model_path_is_not_found(server: tuple[GeminiEmulator, Script, str]) -> None:
    async with httpx2.AsyncClient() as client:
        missing = await client.post(f"{server[2]}/v1beta/nothing", json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"


# -- cancellation ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_closing_a_stream_closes_the_connection(
    adapter: GeminiAdapter, script: Script, emulator: GeminiEmulator
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
    adapter: GeminiAdapter, script: Script, emulator: GeminiEmulator
) -> None:
    script.answer = "word " * 200
    emulator.stream_delay = 0.01
    received = 0
    with anyio.CancelScope() as scope:
        async for _ in adapter.stream(_ask()):
            received += 1
            if received == 3:
                scope.cancel()
    assert scope.cancelled_caught
    assert await anyio.to_thread.run_sync(emulator.disconnected.wait, 5)


# -- factory and runner ----------------------------------------------------------------------


def test_factory_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, server: tuple[GeminiEmulator, Script, str]
) -> None:
    with pytest.raises(UserError, match="GEMINI_API_KEY nor GOOGLE_API_KEY"):
        create_gemini_adapter("gemini-2.5-flash")
    monkeypatch.setenv("GOOGLE_API_KEY", KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", server[2])
    adapter = agentkit.resolve_model("gemini:gemini-2.5-flash")
    assert isinstance(adapter, GeminiAdapter)
    assert (adapter.model_id, adapter.base_url, adapter.key_variable) == (
        "gemini-2.5-flash",
        server[2],
        "GOOGLE_API_KEY",
    )
    monkeypatch.setenv("GEMINI_API_KEY", "first")
    assert create_gemini_adapter("m").key_variable == "GEMINI_API_KEY"
    assert isinstance(adapter, agentkit.ModelAdapter)
    caps = adapter.capabilities
    assert (caps.tools, caps.parallel_tool_calls, caps.streaming) == (True, True, True)
    assert (caps.tool_call_streaming, caps.usage_in_stream) == (False, True)
    assert (caps.image_input, caps.reasoning) == (True, True)
    assert caps.tool_choice == {"auto", "none", "required", "named"}
    assert caps.structured_output == {"native", "tool", "prompted"}
    assert caps.settings == {
        "max_tokens", "temperature", "top_p", "stop", "seed", "reasoning_effort", "timeout",
        "prompt_cache", "extra",
    }  # fmt: skip


@pytest.mark.anyio
async def test_agent_run_with_a_tool_over_the_wire(adapter: GeminiAdapter, script: Script) -> None:
    @agentkit.tool
    def weather(city: str) -> str:
        """Current weather in a city."""
        return f"sunny in {city}"

    def answer(request: ModelRequest) -> Any:
        last = request.messages[-1]
        if last.role == "tool":
            (result,) = last.parts
            assert isinstance(result, ToolResultPart)
            return "Done: " + result.text
        return [ToolCallPart(id="x", name="weather", arguments={"city": "Lima"})]

    script.answer = answer
    agent = agentkit.Agent(name="forecaster", tools=[weather])
    result = await agentkit.run(agent, "Weather in Lima?", model=adapter)
    assert result.output == "Done: sunny in Lima"
    streamed = [e async for e in agentkit.run_stream(agent, "Weather in Lima?", model=adapter)]
    assert streamed[-1].result.output == "Done: sunny in Lima"  # type: ignore[union-attr]


# -- transport edges (MockTransport) ---------------------------------------------------------


def _mock(status: int, body: bytes, content_type: str) -> GeminiAdapter:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, content=body)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return GeminiAdapter("gemini-2.5-flash", api_key=KEY, client=client)


ANSWER = {
    "candidates": [
        {"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}
    ],
    "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2},
}


@pytest.mark.anyio
async def test_a_json_answer_on_the_stream_endpoint_is_replayed_as_events() -> None:
    adapter = _mock(200, json.dumps(ANSWER).encode(), "application/json")
    events = await _events(adapter, _ask())
    assert [type(e).__name__ for e in events] == [
        "ResponseStartEvent",
        "TextDeltaEvent",
        "ResponseEndEvent",
    ]
    assert _end(events).message.text == "ok"


@pytest.mark.anyio
async def test_a_plain_json_error_inside_a_200_stream() -> None:
    error = {"error": {"code": 429, "message": "Quota.", "status": "RESOURCE_EXHAUSTED"}}
    adapter = _mock(200, json.dumps(error, indent=2).encode(), "text/event-stream")
    with pytest.raises(RateLimitError) as info:
        await _events(adapter, _ask())
    assert info.value.status_code == 200


@pytest.mark.anyio
async def test_a_cut_stream_and_garbage() -> None:
    chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}
    cut = _mock(200, f"data: {json.dumps(chunk)}\r\n\r\n".encode(), "text/event-stream")
    with pytest.raises(UnexpectedResponseError, match="without a finishReason"):
        await _events(cut, _ask())
    garbage = _mock(200, b"data: {not json\r\n\r\n", "text/event-stream")
    with pytest.raises(UnexpectedResponseError, match="not JSON"):
        await _events(garbage, _ask())
    with pytest.raises(UnexpectedResponseError, match="not JSON"):
        await _mock(200, b"<html>", "text/html").generate(_ask())


@pytest.mark.anyio
async def test_a_prompt_too_long_is_a_context_length_error() -> None:
    error = {
        "error": {
            "code": 400,
            "message": "The input token count (1200000) exceeds the maximum number of tokens "
            "allowed (1048576).",
            "status": "INVALID_ARGUMENT",
        }
    }
    with pytest.raises(ContextLengthError, match="context window") as info:
        await _mock(400, json.dumps(error).encode(), "application/json").generate(_ask())
    assert (info.value.status_code, info.value.code) == (400, "INVALID_ARGUMENT")


def test_base_url_with_a_version_is_kept() -> None:
    adapter = GeminiAdapter("models/gemini-2.5-pro", base_url="https://proxy.example/v1alpha/")
    assert adapter.model_id == "gemini-2.5-pro"
    assert adapter._stream_url == (
        "https://proxy.example/v1alpha/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    )
    assert "x-goog-api-key" not in adapter._http.headers


def test_package_all_is_exactly_the_public_names() -> None:
    import agentkit_adapters.gemini as package

    assert sorted(package.__all__) == sorted(
        name for name in vars(package) if not name.startswith("_") and name != "annotations"
    )
    for name in package.__all__:
        assert getattr(package, name).__doc__ or name.isupper(), name
