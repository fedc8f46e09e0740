"""Every recorded OpenAI Chat (and OpenAI-compatible) exchange, replayed through the adapter.

Responses are served from an ``httpx2.MockTransport`` in small byte slices,
so the adapter's real ``generate``/``stream`` path (SSE parsing included)
reads them. Fixtures and their provenance: ``tests/fixtures/real_traffic``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.openai import (
    OpenAIChatAdapter,
    OpenAIQuirks,
    from_openai_response,
    to_openai_request,
)

from agentkit import (
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningPart,
    RefusalDeltaEvent,
    ResponseEndEvent,
    ResponseStartEvent,
    StreamEvent,
    TextDeltaEvent,
    TextPart,
    ToolCallEndEvent,
    ToolCallPart,
    ToolCallStartEvent,
    ToolDefinition,
    ToolResultPart,
    Usage,
)
from agentkit.exceptions import (
    AuthenticationError,
    BadRequestError,
    ModelNotFoundError,
    ProviderHTTPError,
)

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parents[2] / "fixtures" / "real_traffic"
CHAT = FIXTURES / "openai_chat"
COMPAT = FIXTURES / "openai_compatible"


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _sse(case: Path, prefix: str = "", *, done: bool = True) -> bytes:
    """The recorded SSE body; chunk files lost their framing, so it is put back."""
    recorded = case / f"{prefix}response.sse"
    if recorded.exists():
        return recorded.read_bytes()
    lines = (case / f"{prefix}response.chunks.jsonl").read_text().splitlines()
    body = "".join(f"data: {line}\n\n" for line in lines if line.strip())
    return (body + ("data: [DONE]\n\n" if done else "")).encode()


def _chunks(case: Path, prefix: str = "") -> list[dict[str, Any]]:
    """The recorded chunk payloads, read independently of the adapter's parser."""
    out = []
    for line in _sse(case, prefix).decode().splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            out.append(json.loads(line[6:]))
    return out


class Replay:
    """An adapter whose HTTP answers are one recorded body, sliced into small reads."""

    def __init__(self, status: int, body: bytes, content_type: str, slice_size: int = 37) -> None:
        self.requests: list[dict[str, Any]] = []

        async def slices() -> AsyncIterator[bytes]:
            for i in range(0, len(body), slice_size):
                yield body[i : i + slice_size]

        def handler(request: httpx2.Request) -> httpx2.Response:
            self.requests.append(json.loads(request.content))
            return httpx2.Response(status, headers={"content-type": content_type}, content=slices())

        client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
        self.adapter = OpenAIChatAdapter("gpt-4o", api_key="sk-test", client=client)


REQUEST = ModelRequest(messages=[Message.user("hi")])


async def _generate(case: Path, prefix: str = "") -> ModelResponse:
    meta = _json(case / f"{prefix}meta.json")
    body = (case / f"{prefix}response.json").read_bytes()
    return await Replay(meta.get("status", 200), body, "application/json").adapter.generate(REQUEST)


async def _stream(case: Path, prefix: str = "", **kwargs: Any) -> list[StreamEvent]:
    replay = Replay(200, _sse(case, prefix, **kwargs), "text/event-stream")
    events = [event async for event in replay.adapter.stream(REQUEST)]
    assert isinstance(events[0], ResponseStartEvent)
    assert isinstance(events[-1], ResponseEndEvent)
    assert sum(isinstance(e, ResponseEndEvent) for e in events) == 1
    return events


def _end(events: list[StreamEvent]) -> ModelResponse:
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    return end.response


def _deltas(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDeltaEvent))


def _openai_usage(wire: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=wire["prompt_tokens"],
        output_tokens=wire["completion_tokens"],
        cache_read_input_tokens=wire["prompt_tokens_details"]["cached_tokens"],
        reasoning_output_tokens=wire["completion_tokens_details"]["reasoning_tokens"],
    )


# -- OpenAI: whole responses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "prefix"),
    [
        ("text_json_gpt41nano", ""),
        ("cached_tokens_json", "0."),
        ("cached_tokens_json", "1."),
        ("parallel_tool_calls_json_gpt4o", "1."),
        ("max_tokens_length_reasoning_gpt5mini", ""),
    ],
)
async def test_openai_json_text_answers(case: str, prefix: str) -> None:
    wire = _json(CHAT / case / f"{prefix}response.json")
    choice = wire["choices"][0]
    response = await _generate(CHAT / case, prefix)
    assert response.message.text == choice["message"]["content"]
    assert response.message.tool_calls == []
    assert response.finish_reason == choice["finish_reason"]
    assert response.raw_finish_reason == choice["finish_reason"]
    assert response.usage == _openai_usage(wire["usage"])
    assert response.refusal is None
    assert (response.provider, response.model_id, response.response_id) == (
        "openai",
        wire["model"],
        wire["id"],
    )


async def test_openai_cached_and_reasoning_tokens() -> None:
    cached = await _generate(CHAT / "cached_tokens_json", "1.")
    assert cached.usage is not None
    assert cached.usage.cache_read_input_tokens == 3584
    truncated = await _generate(CHAT / "max_tokens_length_reasoning_gpt5mini")
    # The reasoning used the whole budget: empty text, finish "length".
    assert truncated.message.parts == []
    assert truncated.finish_reason == "length"
    assert truncated.usage == Usage(input_tokens=13, output_tokens=50, reasoning_output_tokens=50)


async def test_openai_parallel_tool_calls_json() -> None:
    response = await _generate(CHAT / "parallel_tool_calls_json_gpt4o", "0.")
    assert response.message.parts == [
        ToolCallPart(
            id="call_v6LacIrChvs6ITVpIZqy5tFc",
            name="secret_retrieval_tool",
            arguments={"password": "mellon"},
        ),
        ToolCallPart(
            id="call_onyWzk4mLTGKzW9cthmf4Llq",
            name="secret_retrieval_tool",
            arguments={"password": "radiance"},
        ),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(input_tokens=75, output_tokens=53)


async def test_openai_strict_tool_call_json() -> None:
    response = await _generate(CHAT / "strict_tool_with_default_and_title_keywords")
    assert response.message.parts == [
        ToolCallPart(
            id="call_c4yXh9W3Zrvkf4Jfp1Dia6HS",
            name="get_current_weather",
            arguments={"location": "San Francisco, CA", "unit": "fahrenheit"},
        )
    ]
    assert response.finish_reason == "tool_calls"


async def test_openai_refusal_json() -> None:
    response = await _generate(CHAT / "refusal_json_structured_output")
    assert response.refusal == "I'm very sorry, but I can't assist with that request."
    assert response.message.parts == []
    assert response.finish_reason == "stop"  # the wire's word is kept


# -- OpenAI: streams -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "prefix"),
    [
        ("text_stream_gpt41nano", ""),
        ("parallel_tool_calls_stream_gpt4o", "1."),
        ("max_tokens_length_stream_gpt4o", ""),
    ],
)
async def test_openai_text_streams(case: str, prefix: str) -> None:
    chunks = _chunks(CHAT / case, prefix)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    finish = next(
        c["choices"][0]["finish_reason"]
        for c in chunks
        if c["choices"] and c["choices"][0]["finish_reason"]
    )
    events = await _stream(CHAT / case, prefix)
    response = _end(events)
    assert _deltas(events) == text == response.message.text
    assert response.message.parts == [TextPart(text=text)]
    assert response.finish_reason == finish
    # include_usage: usage comes alone in a last chunk whose choices are empty.
    assert chunks[-1]["choices"] == []
    assert response.usage == _openai_usage(chunks[-1]["usage"])
    assert response.response_id == chunks[0]["id"]
    assert response.model_id == chunks[0]["model"]


async def test_openai_parallel_tool_call_stream_reassembled() -> None:
    events = await _stream(CHAT / "parallel_tool_calls_stream_gpt4o", "0.")
    starts = [e for e in events if isinstance(e, ToolCallStartEvent)]
    assert [(e.index, e.id, e.name) for e in starts] == [
        (0, "call_M26z19sncd7b4LBgzKRRbaUE", "secret_retrieval_tool"),
        (1, "call_KPXe5NX7IcKkaBUhc6dto2QV", "secret_retrieval_tool"),
    ]
    ends = [e.call for e in events if isinstance(e, ToolCallEndEvent)]
    response = _end(events)
    assert (
        ends
        == response.message.tool_calls
        == [
            ToolCallPart(
                id="call_M26z19sncd7b4LBgzKRRbaUE",
                name="secret_retrieval_tool",
                arguments={"password": "mellon"},
            ),
            ToolCallPart(
                id="call_KPXe5NX7IcKkaBUhc6dto2QV",
                name="secret_retrieval_tool",
                arguments={"password": "radiance"},
            ),
        ]
    )
    assert response.message.text == ""
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(input_tokens=75, output_tokens=53)


async def test_openai_refusal_stream() -> None:
    events = await _stream(CHAT / "refusal_stream_structured_output")
    refusal = "".join(e.text for e in events if isinstance(e, RefusalDeltaEvent))
    response = _end(events)
    assert refusal == response.refusal
    assert response.refusal is not None
    assert response.refusal.startswith("I'm very sorry, but I can't")
    assert response.message.parts == []
    assert response.finish_reason == "stop"
    assert response.usage is not None


async def test_crlf_framing_and_byte_slices_change_nothing() -> None:
    case = CHAT / "parallel_tool_calls_stream_gpt4o"
    body = _sse(case, "0.")
    expected = _end(await _stream(case, "0."))
    for variant, size in ((body.replace(b"\n", b"\r\n"), 1), (body, 4096)):
        replay = Replay(200, variant, "text/event-stream", slice_size=size)
        events = [e async for e in replay.adapter.stream(REQUEST)]
        assert _end(events) == expected


# -- OpenAI: errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "status", "cls", "code"),
    [
        ("error_401_invalid_api_key", 401, AuthenticationError, "invalid_api_key"),
        ("error_404_model_not_found", 404, ModelNotFoundError, "model_not_found"),
        ("error_400_unsupported_parameter", 400, BadRequestError, "unsupported_parameter"),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_openai_errors(
    case: str, status: int, cls: type[ProviderHTTPError], code: str, streaming: bool
) -> None:
    body = (CHAT / case / "response.json").read_bytes()
    adapter = Replay(status, body, "application/json").adapter

    async def call() -> None:
        if streaming:
            async for _ in adapter.stream(REQUEST):
                pass
        else:
            await adapter.generate(REQUEST)

    with pytest.raises(cls) as info:
        await call()
    error = info.value
    assert type(error) is cls
    assert (error.provider, error.model_id, error.status_code, error.code) == (
        "openai",
        "gpt-4o",
        status,
        code,
    )
    assert error.body == json.loads(body)
    assert json.loads(body)["error"]["message"] in str(error)
    if status == 401:
        assert "OPENAI_API_KEY" in str(error)


# -- OpenAI-compatible hosts -----------------------------------------------------------------


async def test_deepseek_reasoning_then_tool_call() -> None:
    case = COMPAT / "deepseek_reasoner_tool_call"
    wire = _json(case / "response.json")["choices"][0]["message"]
    response = await _generate(case)
    assert response.message.parts == [
        ReasoningPart(text=wire["reasoning_content"], provider="openai", model="deepseek-reasoner"),
        ToolCallPart(
            id="call_00_9V0vrf86Pc9aelHCJMZqnJBo",
            name="weather",
            arguments={"location": "San Francisco"},
        ),
    ]
    assert response.usage == Usage(
        input_tokens=339, output_tokens=92, cache_read_input_tokens=320, reasoning_output_tokens=48
    )

    chunks = _chunks(case)
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content") or "" for c in chunks)
    streamed = _end(await _stream(case))
    assert streamed.message.parts == [
        ReasoningPart(text=reasoning, provider="openai", model="deepseek-reasoner"),
        ToolCallPart(
            id="call_00_ioIn7yN9p1ZOMNpDLwd4MgAF",
            name="weather",
            arguments={"location": "San Francisco"},
        ),
    ]
    # Usage rides on the finish_reason chunk itself; there is no usage-only chunk.
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert streamed.usage == Usage(
        input_tokens=339, output_tokens=83, cache_read_input_tokens=320, reasoning_output_tokens=39
    )
    assert streamed.finish_reason == "tool_calls"


@pytest.mark.parametrize("done", [True, False])
async def test_groq_whole_tool_call_in_one_delta(done: bool) -> None:
    case = COMPAT / "groq_tool_call_json_and_stream"
    response = await _generate(case)
    assert response.message.parts == [ToolCallPart(id="ax9fskhev", name="weather", arguments={})]
    assert response.usage == Usage(input_tokens=218, output_tokens=15)

    events = await _stream(case, done=done)
    streamed = _end(events)
    assert [type(e).__name__ for e in events[1:-1]] == [
        "ToolCallStartEvent",
        "ToolCallDeltaEvent",
        "ToolCallEndEvent",
    ]
    assert streamed.message.parts == [ToolCallPart(id="tk85n1k4m", name="weather", arguments={})]
    assert streamed.usage == Usage(input_tokens=210, output_tokens=15)
    assert streamed.finish_reason == "tool_calls"


async def test_xai_reasoning_tokens_outside_completion_tokens() -> None:
    case = COMPAT / "xai_tool_call"
    response = await _generate(case)
    assert isinstance(response.message.parts[0], ReasoningPart)
    assert response.message.tool_calls == [
        ToolCallPart(id="call_46427107", name="weather", arguments={"location": "San Francisco"})
    ]
    # 307 + 26 + 255 = 588 = total_tokens: xAI's completion_tokens leave reasoning out.
    assert response.usage == Usage(
        input_tokens=307,
        output_tokens=281,
        cache_read_input_tokens=244,
        reasoning_output_tokens=255,
    )
    streamed = _end(await _stream(case))
    assert streamed.message.tool_calls == [
        ToolCallPart(id="call_79382389", name="weather", arguments={"location": "San Francisco"})
    ]
    assert streamed.usage == Usage(
        input_tokens=307,
        output_tokens=253,
        cache_read_input_tokens=306,
        reasoning_output_tokens=227,
    )


async def test_together_extra_fields_and_top_level_cached_tokens() -> None:
    response = await _generate(COMPAT / "together_text_json_extra_fields")
    assert response.message.parts == [
        TextPart(text="To find the answer, add 4200 and 42.\n\n4200 + 42 = 4242")
    ]
    assert response.finish_reason == "stop"  # tool_calls: [] on a plain answer
    assert response.usage == Usage(input_tokens=44, output_tokens=23)


async def test_ollama_v1_minimal_usage() -> None:
    response = await _generate(COMPAT / "ollama_v1_json")
    assert response.message.text == "4200 + 42 = 4242\n"
    assert response.usage == Usage(input_tokens=21, output_tokens=16)
    assert (response.model_id, response.response_id) == ("gemma3:4b", "chatcmpl-674")


# -- our requests against the recorded ones --------------------------------------------------


def _tool_from_wire(wire: dict[str, Any]) -> ToolDefinition:
    function = wire["function"]
    return ToolDefinition(
        name=function["name"],
        description=function["description"],
        input_schema=function["parameters"],
    )


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_follow_up_request_matches_the_recorded_one(stream: bool) -> None:
    """Parse turn 0's recorded answer, add the tool results, and build turn 1's request."""
    case = CHAT / (
        "parallel_tool_calls_stream_gpt4o" if stream else "parallel_tool_calls_json_gpt4o"
    )
    first = _json(case / "0.request.json")
    recorded = _json(case / "1.request.json")
    if stream:
        answer = _end(await _stream(case, "0.")).message
    else:
        answer = from_openai_response(
            _json(case / "0.response.json"), provider="openai", model_id="gpt-4o"
        ).message
    secrets = {"mellon": "Welcome to Moria!", "radiance": "Life before Death"}
    results = [
        ToolResultPart(call_id=c.id, content=[TextPart(text=secrets[c.arguments["password"]])])
        for c in answer.tool_calls
    ]
    request = ModelRequest(
        messages=[
            Message.system(first["messages"][0]["content"]),
            Message.user(first["messages"][1]["content"]),
            answer,
            Message(role="tool", parts=results),
        ],
        tools=[_tool_from_wire(t) for t in first["tools"]],
    )
    body, warnings = to_openai_request(request, model_id="gpt-4o", stream=stream)
    assert warnings == []
    expected = recorded["messages"]
    if not stream:
        # The JSON recording's client echoed "annotations" and left out "content".
        expected[2] = {
            "role": "assistant",
            "content": None,
            "tool_calls": expected[2]["tool_calls"],
        }
        for call in expected[2]["tool_calls"]:
            call["function"] = {
                "name": call["function"]["name"],
                "arguments": call["function"]["arguments"],
            }
    assert body["messages"] == expected
    assert {k: v for k, v in body.items() if k not in ("messages", "tools")} == {
        k: v for k, v in recorded.items() if k not in ("messages", "tools")
    }
    # The schema meets the strict rules, so we send strict: true where the recorder sent false.
    assert [t["function"] | {"strict": False} for t in body["tools"]] == [
        t["function"] for t in recorded["tools"]
    ]


@pytest.mark.parametrize("stream", [False, True])
def test_structured_output_request_matches_the_recorded_one(stream: bool) -> None:
    case = CHAT / (
        "refusal_stream_structured_output" if stream else "refusal_json_structured_output"
    )
    recorded = _json(case / "request.json")
    json_schema = recorded["response_format"]["json_schema"]
    request = ModelRequest(
        messages=[Message.user(recorded["messages"][0]["content"])],
        output_schema=json_schema["schema"],
        output_name=json_schema["name"],
    )
    body, _ = to_openai_request(request, model_id="gpt-4o", stream=stream)
    assert body == recorded


def test_strict_tool_request_matches_the_recorded_one() -> None:
    recorded = _json(CHAT / "strict_tool_with_default_and_title_keywords" / "request.json")
    request = ModelRequest(
        messages=[Message.user(recorded["messages"][0]["content"])],
        tools=[_tool_from_wire(t) for t in recorded["tools"]],
    )
    body, _ = to_openai_request(request, model_id="gpt-4o", stream=False)
    assert body == recorded


@pytest.mark.parametrize(
    ("case", "quirks"),
    [
        (CHAT / "max_tokens_length_reasoning_gpt5mini", OpenAIQuirks()),
        # gpt-4o still took the legacy field; reasoning models reject it
        # (error_400_unsupported_parameter), hence the default.
        (CHAT / "max_tokens_length_stream_gpt4o", OpenAIQuirks(max_tokens_field="max_tokens")),
        (CHAT / "error_401_invalid_api_key", OpenAIQuirks()),
        (CHAT / "error_404_model_not_found", OpenAIQuirks()),
        (COMPAT / "ollama_v1_json", OpenAIQuirks()),
        (COMPAT / "together_text_json_extra_fields", OpenAIQuirks()),
    ],
)
def test_simple_requests_match_the_recorded_ones(case: Path, quirks: OpenAIQuirks) -> None:
    recorded = _json(case / "request.json")
    request = ModelRequest(
        messages=[Message.user(recorded["messages"][0]["content"])],
        settings=ModelSettings(
            max_tokens=recorded.get("max_completion_tokens") or recorded.get("max_tokens")
        ),
    )
    body, _ = to_openai_request(
        request, model_id=recorded["model"], stream=bool(recorded.get("stream")), quirks=quirks
    )
    assert body == recorded


@pytest.mark.parametrize("prefix", ["0.", "1."])
def test_cached_prompt_requests_match_the_recorded_ones(prefix: str) -> None:
    recorded = _json(CHAT / "cached_tokens_json" / f"{prefix}request.json")
    system, user = recorded["messages"]
    request = ModelRequest(
        messages=[Message.system(system["content"]), Message.user(user["content"])]
    )
    body, _ = to_openai_request(request, model_id="gpt-4o", stream=False)
    assert body == recorded


def test_every_fixture_case_is_replayed() -> None:
    """A new case dropped into the fixtures must get a test here."""
    covered = {
        "text_json_gpt41nano", "text_stream_gpt41nano", "cached_tokens_json",
        "parallel_tool_calls_json_gpt4o", "parallel_tool_calls_stream_gpt4o",
        "max_tokens_length_reasoning_gpt5mini", "max_tokens_length_stream_gpt4o",
        "strict_tool_with_default_and_title_keywords", "refusal_json_structured_output",
        "refusal_stream_structured_output", "error_401_invalid_api_key",
        "error_404_model_not_found", "error_400_unsupported_parameter",
        "deepseek_reasoner_tool_call", "groq_tool_call_json_and_stream", "xai_tool_call",
        "together_text_json_extra_fields", "ollama_v1_json",
    }  # fmt: skip
    present = {p.name for d in (CHAT, COMPAT) for p in d.iterdir() if p.is_dir()}
    assert present == covered
    for name in present:
        case = CHAT / name if (CHAT / name).exists() else COMPAT / name
        assert (case / "PROVENANCE.md").exists(), name
