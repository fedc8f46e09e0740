"""OpenAI-compatible presets: resolution through entry points, keys, and recorded traffic.

Every ``openai_compatible`` real-traffic case is replayed through its host's
preset adapter (``httpx2.MockTransport``, bodies in small slices), so the
preset's base URL, key, quirks and provider name are all on the path.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters import openai_compat
from agentkit_adapters.openai import OpenAIChatAdapter
from agentkit_adapters.openai_compat import PRESETS, preset_adapter, preset_factory

import agentkit
from agentkit import (
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningPart,
    ResponseEndEvent,
    StreamEvent,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
    Usage,
)
from agentkit.exceptions import RateLimitError, UserError

pytestmark = pytest.mark.anyio

COMPAT = Path(__file__).parents[2] / "fixtures" / "real_traffic" / "openai_compatible"
KEYS = {
    "groq": "GROQ_API_KEY",
    "together": "TOGETHER_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "xai": "XAI_API_KEY",
    "meta-llama": "LLAMA_API_KEY",
}
ENV = ["OLLAMA_HOST", "LLAMACPP_SERVER_URL", "VLLM_BASE_URL", "VLLM_API_KEY", *KEYS.values()]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


# -- resolution ------------------------------------------------------------------------------

# (model string, base URL, max_tokens field, stream usage, tool_choice modes,
#  structured output modes, tool-call streaming, image input, reasoning)
RESOLVED = [
    ("ollama-openai:llama3.2", "http://127.0.0.1:11434/v1", "max_tokens", True,
     {"auto"}, {"native", "prompted"}, False, True, True),
    ("llamacpp-server:smollm2", "http://127.0.0.1:8080/v1", "max_tokens", False,
     {"auto", "none", "required"}, {"native", "tool", "prompted"}, False, False, True),
    ("vllm:Qwen/Qwen3-8B", "http://127.0.0.1:8000/v1", "max_tokens", True,
     {"auto", "none", "required", "named"}, {"native", "tool", "prompted"}, True, True, True),
    ("groq:llama-3.3-70b", "https://api.groq.com/openai/v1", "max_completion_tokens", True,
     {"auto", "none", "required", "named"}, {"tool", "prompted"}, False, True, True),
    ("together:meta-llama/Llama-3.3-70B-Instruct-Turbo", "https://api.together.xyz/v1",
     "max_tokens", True, {"auto", "none", "required", "named"}, {"native", "tool", "prompted"},
     True, True, True),
    ("openrouter:openai/gpt-4.1-mini", "https://openrouter.ai/api/v1", "max_tokens", True,
     {"auto", "none", "required", "named"}, {"native", "tool", "prompted"}, True, True, True),
    ("deepseek:deepseek-reasoner", "https://api.deepseek.com/v1", "max_tokens", True,
     {"auto", "none", "required", "named"}, {"tool", "prompted"}, True, False, True),
    ("xai:grok-3-mini", "https://api.x.ai/v1", "max_tokens", True,
     {"auto", "none", "required", "named"}, {"native", "tool", "prompted"}, False, True, True),
    ("meta-llama:Llama-4-Maverick-17B-128E-Instruct-FP8", "https://api.llama.com/compat/v1",
     "max_completion_tokens", True, {"auto", "none", "required", "named"},
     {"native", "tool", "prompted"}, True, True, False),
]  # fmt: skip


@pytest.mark.parametrize(
    (
        "model",
        "base_url",
        "max_tokens",
        "usage",
        "choices",
        "outputs",
        "fragments",
        "images",
        "think",
    ),
    RESOLVED,
)
def test_each_preset_resolves_through_its_entry_point(
    monkeypatch: pytest.MonkeyPatch,
    model: str,
    base_url: str,
    max_tokens: str,
    usage: bool,
    choices: set[str],
    outputs: set[str],
    fragments: bool,
    images: bool,
    think: bool,
) -> None:
    name, _, model_id = model.partition(":")
    if name in KEYS:
        monkeypatch.setenv(KEYS[name], "k-test")
    adapter = agentkit.resolve_model(model)
    assert isinstance(adapter, OpenAIChatAdapter)
    assert (adapter.provider, adapter.model_id, adapter.base_url) == (name, model_id, base_url)
    assert adapter.key_variable == KEYS.get(name, PRESETS[name].key_variable)
    assert adapter.quirks == PRESETS[name].quirks
    assert adapter.quirks.supports_strict is False
    assert adapter.quirks.max_tokens_field == max_tokens
    caps = adapter.capabilities
    assert caps == PRESETS[name].capabilities
    assert (caps.usage_in_stream, caps.tool_call_streaming, caps.image_input, caps.reasoning) == (
        usage,
        fragments,
        images,
        think,
    )
    assert (set(caps.tool_choice), set(caps.structured_output)) == (choices, outputs)
    assert caps.settings <= {
        "max_tokens", "temperature", "top_p", "stop", "seed", "parallel_tool_calls",
        "reasoning_effort", "timeout", "extra",
    }  # fmt: skip
    assert ("reasoning_effort" in caps.settings) == (
        "reasoning_effort" not in adapter.quirks.unsupported_settings
    )


@pytest.mark.parametrize(("name", "variable"), sorted(KEYS.items()))
def test_a_missing_key_is_a_user_error_naming_the_variable(name: str, variable: str) -> None:
    with pytest.raises(UserError, match=variable) as info:
        agentkit.resolve_model(f"{name}:some-model")
    assert f"{name}:some-model" in str(info.value)


@pytest.mark.parametrize("name", ["ollama-openai", "llamacpp-server", "vllm"])
def test_local_servers_need_no_key(name: str) -> None:
    adapter = preset_adapter(name, "m")
    assert "authorization" not in adapter._http.headers


@pytest.mark.parametrize(
    ("name", "variable", "value", "base_url"),
    [
        ("ollama-openai", "OLLAMA_HOST", "localhost:11500", "http://localhost:11500/v1"),
        ("ollama-openai", "OLLAMA_HOST", "0.0.0.0", "http://127.0.0.1:11434/v1"),
        ("llamacpp-server", "LLAMACPP_SERVER_URL", "http://10.0.0.2:9000/v1/", "http://10.0.0.2:9000/v1"),
        ("vllm", "VLLM_BASE_URL", "https://gpu.example/v1", "https://gpu.example/v1"),
    ],
)  # fmt: skip
def test_base_url_variables(
    monkeypatch: pytest.MonkeyPatch, name: str, variable: str, value: str, base_url: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert agentkit.resolve_model(f"{name}:m").base_url == base_url  # type: ignore[attr-defined]


def test_optional_vllm_key_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLLM_API_KEY", "token-abc")
    adapter = preset_adapter("vllm", "m")
    assert adapter._http.headers["authorization"] == "Bearer token-abc"


def test_factories_and_errors() -> None:
    for name in PRESETS:
        factory = getattr(openai_compat, f"create_{name.replace('-', '_')}_adapter")
        assert factory.__name__ == f"create_{name.replace('-', '_')}_adapter"
    with pytest.raises(UserError, match="presets"):
        preset_factory("nope")
    with pytest.raises(UserError, match="presets"):
        preset_adapter("nope", "m")
    with pytest.raises(UserError, match="groq:<model>"):
        preset_adapter("groq", "", api_key="k")


# -- requests --------------------------------------------------------------------------------

STRICT_TOOL = ToolDefinition(
    name="weather",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


class Replay:
    """A preset adapter whose HTTP answers are one recorded body, in small slices."""

    def __init__(self, name: str, model_id: str, body: bytes, content_type: str) -> None:
        self.requests: list[httpx2.Request] = []

        async def slices() -> AsyncIterator[bytes]:
            for i in range(0, len(body), 31):
                yield body[i : i + 31]

        def handler(request: httpx2.Request) -> httpx2.Response:
            self.requests.append(request)
            return httpx2.Response(200, headers={"content-type": content_type}, content=slices())

        client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
        self.adapter = preset_adapter(name, model_id, api_key="k-test", client=client)

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].content)  # type: ignore[no-any-return]


def _replay_json(name: str, model_id: str, case: str) -> Replay:
    return Replay(
        name, model_id, (COMPAT / case / "response.json").read_bytes(), "application/json"
    )


def _replay_sse(name: str, model_id: str, case: str) -> Replay:
    lines = (COMPAT / case / "response.chunks.jsonl").read_text().splitlines()
    body = "".join(f"data: {line}\n\n" for line in lines if line.strip()) + "data: [DONE]\n\n"
    return Replay(name, model_id, body.encode(), "text/event-stream")


def _chunks(case: str) -> list[dict[str, Any]]:
    lines = (COMPAT / case / "response.chunks.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _wire(case: str) -> dict[str, Any]:
    return json.loads((COMPAT / case / "response.json").read_text())  # type: ignore[no-any-return]


async def _stream(replay: Replay, request: ModelRequest) -> ModelResponse:
    events: list[StreamEvent] = [e async for e in replay.adapter.stream(request)]
    assert isinstance(events[-1], ResponseEndEvent)
    return events[-1].response


DEEPSEEK = "deepseek-reasoner"
SF = {"location": "San Francisco"}
ASK = ModelRequest(
    messages=[Message.user("Weather in San Francisco?")],
    tools=[STRICT_TOOL],
    settings=ModelSettings(max_tokens=100),
)


def _check_request(replay: Replay, name: str, stream: bool) -> None:
    request = replay.requests[-1]
    assert str(request.url) == f"{PRESETS[name].base_url}/chat/completions"
    assert request.headers["authorization"] == "Bearer k-test"
    body = replay.body
    quirks = PRESETS[name].quirks
    assert body[quirks.max_tokens_field] == 100
    other = {"max_tokens", "max_completion_tokens"} - {quirks.max_tokens_field}
    assert not other & body.keys()
    # Presets never claim strict mode, even for a schema that meets its rules.
    assert "strict" not in body["tools"][0]["function"]
    assert body.get("stream", False) is stream
    assert ("stream_options" in body) == (stream and quirks.supports_stream_usage)


async def test_deepseek_reasoning_and_usage_on_the_finish_chunk() -> None:
    case = "deepseek_reasoner_tool_call"
    wire = _wire(case)["choices"][0]["message"]
    replay = _replay_json("deepseek", "deepseek-reasoner", case)
    response = await replay.adapter.generate(ASK)
    _check_request(replay, "deepseek", stream=False)
    assert response.message.parts == [
        ReasoningPart(text=wire["reasoning_content"], provider="deepseek", model=DEEPSEEK),
        ToolCallPart(id="call_00_9V0vrf86Pc9aelHCJMZqnJBo", name="weather", arguments=SF),
    ]
    assert (response.provider, response.finish_reason) == ("deepseek", "tool_calls")
    assert response.response_id == "7a630f5b-b7e6-4878-82f8-d77db164d42b"
    assert response.usage == Usage(
        input_tokens=339, output_tokens=92, cache_read_input_tokens=320, reasoning_output_tokens=48
    )

    chunks = _chunks(case)
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content") or "" for c in chunks)
    replay = _replay_sse("deepseek", "deepseek-reasoner", case)
    streamed = await _stream(replay, ASK)
    _check_request(replay, "deepseek", stream=True)
    assert streamed.message.parts == [
        ReasoningPart(text=reasoning, provider="deepseek", model=DEEPSEEK),
        ToolCallPart(id="call_00_ioIn7yN9p1ZOMNpDLwd4MgAF", name="weather", arguments=SF),
    ]
    # Usage rides on the finish_reason chunk itself.
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert streamed.usage == Usage(
        input_tokens=339, output_tokens=83, cache_read_input_tokens=320, reasoning_output_tokens=39
    )
    assert (streamed.provider, streamed.finish_reason) == ("deepseek", "tool_calls")


async def test_groq_whole_call_in_one_delta_and_x_groq_usage() -> None:
    case = "groq_tool_call_json_and_stream"
    replay = _replay_json("groq", "llama-3.3-70b-versatile", case)
    response = await replay.adapter.generate(ASK)
    _check_request(replay, "groq", stream=False)
    assert response.message.parts == [ToolCallPart(id="ax9fskhev", name="weather", arguments={})]
    assert (response.provider, response.model_id) == ("groq", "llama-3.3-70b-versatile")
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(input_tokens=218, output_tokens=15)

    replay = _replay_sse("groq", "llama-3.3-70b-versatile", case)
    events = [e async for e in replay.adapter.stream(ASK)]
    _check_request(replay, "groq", stream=True)
    assert [e.type for e in events] == [
        "response_start", "tool_call_start", "tool_call_delta", "tool_call_end", "response_end"
    ]  # fmt: skip
    streamed = events[-1].response  # type: ignore[union-attr]
    assert streamed.message.parts == [ToolCallPart(id="tk85n1k4m", name="weather", arguments={})]
    assert streamed.usage == Usage(input_tokens=210, output_tokens=15)
    assert streamed.response_id == _chunks(case)[0]["id"]


async def test_groq_error_event_inside_a_200_stream() -> None:
    # Not recorded: the shape the shared README describes (``event: error`` in a 200 stream).
    error = {
        "error": {"message": "Rate limit reached", "type": "tokens", "code": "rate_limit_exceeded"}
    }
    body = f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    replay = Replay("groq", "llama-3.3-70b-versatile", body, "text/event-stream")
    with pytest.raises(RateLimitError) as info:
        await _stream(replay, ASK)
    assert (info.value.provider, info.value.status_code) == ("groq", 200)


async def test_xai_whole_call_and_reasoning_outside_completion_tokens() -> None:
    case = "xai_tool_call"
    replay = _replay_json("xai", "grok-3-mini", case)
    response = await replay.adapter.generate(ASK)
    _check_request(replay, "xai", stream=False)
    reasoning = _wire(case)["choices"][0]["message"]["reasoning_content"]
    assert response.message.parts == [
        ReasoningPart(text=reasoning, provider="xai", model="grok-3-mini"),
        ToolCallPart(id="call_46427107", name="weather", arguments={"location": "San Francisco"}),
    ]
    # 307 + 26 + 255 = 588 = total_tokens: xAI's completion_tokens leave reasoning out.
    assert response.usage == Usage(
        input_tokens=307,
        output_tokens=281,
        cache_read_input_tokens=244,
        reasoning_output_tokens=255,
    )

    replay = _replay_sse("xai", "grok-3-mini", case)
    streamed = await _stream(replay, ASK)
    _check_request(replay, "xai", stream=True)
    assert streamed.message.tool_calls == [
        ToolCallPart(id="call_79382389", name="weather", arguments={"location": "San Francisco"})
    ]
    assert isinstance(streamed.message.parts[0], ReasoningPart)
    assert streamed.message.parts[0].provider == "xai"
    assert streamed.usage == Usage(
        input_tokens=307,
        output_tokens=253,
        cache_read_input_tokens=306,
        reasoning_output_tokens=227,
    )
    assert (streamed.provider, streamed.finish_reason) == ("xai", "tool_calls")


@pytest.mark.parametrize(
    ("name", "case", "text", "usage"),
    [
        (
            "together",
            "together_text_json_extra_fields",
            "To find the answer, add 4200 and 42.\n\n4200 + 42 = 4242",
            Usage(input_tokens=44, output_tokens=23),
        ),
        (
            "ollama-openai",
            "ollama_v1_json",
            "4200 + 42 = 4242\n",
            Usage(input_tokens=21, output_tokens=16),
        ),
    ],
)
async def test_plain_answers_and_their_recorded_requests(
    name: str, case: str, text: str, usage: Usage
) -> None:
    recorded = json.loads((COMPAT / case / "request.json").read_text())
    wire = _wire(case)
    replay = _replay_json(name, recorded["model"], case)
    request = ModelRequest(messages=[Message.user(recorded["messages"][0]["content"])])
    response = await replay.adapter.generate(request)
    assert replay.body == recorded
    assert str(replay.requests[-1].url) == f"{PRESETS[name].base_url}/chat/completions"
    assert response.message.parts == [TextPart(text=text)]
    # Together's "tool_calls": [] on a plain answer is no tool call.
    assert (response.finish_reason, response.raw_finish_reason) == ("stop", "stop")
    assert response.usage == usage
    assert (response.provider, response.model_id, response.response_id) == (
        name,
        wire["model"],
        wire["id"],
    )


def test_every_compatible_case_is_replayed_through_a_preset() -> None:
    covered = {
        "deepseek_reasoner_tool_call",
        "groq_tool_call_json_and_stream",
        "xai_tool_call",
        "together_text_json_extra_fields",
        "ollama_v1_json",
    }
    assert {p.name for p in COMPAT.iterdir() if p.is_dir()} == covered


async def test_deepseek_gets_its_reasoning_back_in_a_tool_loop() -> None:
    # DeepSeek's thinking mode answers 400 "reasoning_content ... must be passed back"
    # when a tool loop's assistant turn comes back without it.
    case = "deepseek_reasoner_tool_call"
    replay = _replay_json("deepseek", DEEPSEEK, case)
    first = await replay.adapter.generate(ASK)
    call = first.message.tool_calls[0]
    result = ToolResultPart(call_id=call.id, content=[TextPart(text="18 C")])
    follow_up = ModelRequest(
        messages=[*ASK.messages, first.message, Message(role="tool", parts=[result])],
        tools=ASK.tools,
    )
    await replay.adapter.generate(follow_up)
    reasoning = first.message.parts[0]
    assert isinstance(reasoning, ReasoningPart)
    assert replay.body["messages"][1]["reasoning_content"] == reasoning.text
