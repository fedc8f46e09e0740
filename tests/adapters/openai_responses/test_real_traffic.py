"""Every recorded OpenAI Responses exchange, replayed through the adapter.

Bodies are served from an ``httpx2.MockTransport`` in small byte slices, so
the adapter's real ``generate``/``stream`` path (SSE parsing included) reads
them; expectations are read from the recordings independently of the parser.
Our requests are compared with the recorded ones where a request was recorded.
Fixtures and their provenance: ``tests/fixtures/real_traffic/openai_responses``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.openai_responses import OpenAIResponsesAdapter, to_responses_request

from agentkit import (
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningPart,
    RefusalDeltaEvent,
    ResponseStartEvent,
    StreamEvent,
    TextDeltaEvent,
    TextPart,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    ToolCallPart,
    ToolCallStartEvent,
    ToolDefinition,
    ToolResultPart,
    Usage,
)
from agentkit.exceptions import (
    AuthenticationError,
    ModelNotFoundError,
    ProviderHTTPError,
    RateLimitError,
)
from tests.properties._traffic import (
    final_response,
    mock_client,
    read_json,
    sliced_response,
    sse_payloads,
    stream_events,
)

pytestmark = pytest.mark.anyio

CASES = Path(__file__).parents[2] / "fixtures" / "real_traffic" / "openai_responses"


def _sse(case: str, prefix: str = "") -> bytes:
    """The recorded SSE body; vercel/ai's chunk files lost their framing, so it is put back."""
    recorded = CASES / case / f"{prefix}response.sse"
    if recorded.exists():
        return recorded.read_bytes()
    lines = (CASES / case / f"{prefix}response.chunks.jsonl").read_text().splitlines()
    return "".join(f"data: {line}\n\n" for line in lines if line.strip()).encode()


def _payloads(case: str, prefix: str = "") -> list[dict[str, Any]]:
    """The recorded event payloads, read without the adapter's parser."""
    return sse_payloads(_sse(case, prefix).decode())


class Replay:
    """An adapter whose HTTP answer is one recorded body, sliced into small reads."""

    def __init__(self, status: int, body: bytes, content_type: str, slice_size: int = 37) -> None:
        self.requests: list[dict[str, Any]] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            assert request.url.path == "/v1/responses"
            self.requests.append(json.loads(request.content))
            return sliced_response(status, content_type, body, slice_size)

        client = mock_client(handler)
        self.adapter = OpenAIResponsesAdapter("gpt-4o", api_key="sk-test", client=client)


REQUEST = ModelRequest(messages=[Message.user("hi")])


async def _generate(case: str, prefix: str = "", request: ModelRequest = REQUEST) -> ModelResponse:
    body = (CASES / case / f"{prefix}response.json").read_bytes()
    return await Replay(200, body, "application/json").adapter.generate(request)


async def _stream(
    case: str, prefix: str = "", *, body: bytes | None = None, slice_size: int = 37
) -> list[StreamEvent]:
    replay = Replay(200, body or _sse(case, prefix), "text/event-stream", slice_size)
    return await stream_events(replay.adapter, REQUEST)


def _usage(wire: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=wire["input_tokens"],
        output_tokens=wire["output_tokens"],
        cache_read_input_tokens=wire["input_tokens_details"]["cached_tokens"],
        reasoning_output_tokens=wire["output_tokens_details"]["reasoning_tokens"],
    )


def _final(case: str, prefix: str = "") -> dict[str, Any]:
    """The response object of the recorded stream's terminal event."""
    last = _payloads(case, prefix)[-1]
    assert last["type"] in ("response.completed", "response.incomplete")
    return dict(last["response"])


# -- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "prefix", "finish"),
    [
        ("text_json_gpt4o", "", "stop"),
        ("parallel_function_calls_json_gpt4o", "1.", "stop"),
        ("incomplete_max_output_tokens_json", "", "length"),
    ],
)
async def test_json_text_answers(case: str, prefix: str, finish: str) -> None:
    wire = read_json(CASES / case / f"{prefix}response.json")
    (message,) = wire["output"]
    (content,) = message["content"]
    response = await _generate(case, prefix)
    assert response.message.parts == [TextPart(text=content["text"])]
    assert response.finish_reason == finish
    assert response.raw_finish_reason == (wire["incomplete_details"] or {}).get(
        "reason", wire["status"]
    )
    assert response.usage == _usage(wire["usage"])
    assert (response.provider, response.model_id, response.response_id) == (
        "openai",
        wire["model"],
        wire["id"],
    )
    assert response.refusal is None


@pytest.mark.parametrize(
    ("case", "prefix", "finish"),
    [
        ("text_stream_gpt4o", "", "stop"),
        ("parallel_function_calls_stream_gpt4o", "1.", "stop"),
        # The stream ends with response.incomplete, not response.completed.
        ("incomplete_max_output_tokens_stream", "", "length"),
    ],
)
async def test_streamed_text_answers(case: str, prefix: str, finish: str) -> None:
    payloads = _payloads(case, prefix)
    deltas = [p["delta"] for p in payloads if p["type"] == "response.output_text.delta"]
    (done,) = [p["text"] for p in payloads if p["type"] == "response.output_text.done"]
    final = _final(case, prefix)
    events = await _stream(case, prefix)
    response = final_response(events)
    assert [e.text for e in events if isinstance(e, TextDeltaEvent)] == deltas
    assert "".join(deltas) == done == response.message.text
    assert response.message.parts == [TextPart(text=done)]
    assert response.finish_reason == finish
    assert response.usage == _usage(final["usage"])  # reported once, on the terminal event
    assert (response.response_id, response.model_id) == (final["id"], final["model"])


async def test_crlf_framing_and_byte_slices_change_nothing() -> None:
    body = _sse("parallel_function_calls_stream_gpt4o", "0.")
    expected = final_response(await _stream("parallel_function_calls_stream_gpt4o", "0."))
    for variant, size in ((body.replace(b"\n", b"\r\n"), 1), (body, 1 << 16)):
        assert final_response(await _stream("", body=variant, slice_size=size)) == expected


# -- function calls --------------------------------------------------------------------------


def _calls(output: list[dict[str, Any]]) -> list[ToolCallPart]:
    return [
        ToolCallPart(id=i["call_id"], name=i["name"], arguments=json.loads(i["arguments"]))
        for i in output
        if i["type"] == "function_call"
    ]


async def test_parallel_function_calls_json() -> None:
    wire = read_json(CASES / "parallel_function_calls_json_gpt4o" / "0.response.json")
    response = await _generate("parallel_function_calls_json_gpt4o", "0.")
    # call_id is the id the result refers to, not the item id (fc_...).
    assert response.message.parts == _calls(wire["output"])
    assert [c.arguments for c in response.message.tool_calls] == [
        {"password": "mellon"},
        {"password": "radiance"},
    ]
    assert response.finish_reason == "tool_calls"
    assert response.usage == _usage(wire["usage"])


async def test_parallel_function_calls_stream_fragments_reassembled() -> None:
    payloads = _payloads("parallel_function_calls_stream_gpt4o", "0.")
    fragments: dict[int, list[str]] = {}
    for p in payloads:
        if p["type"] == "response.function_call_arguments.delta":
            fragments.setdefault(p["output_index"], []).append(p["delta"])
    assert all(len(f) > 1 for f in fragments.values())
    events = await _stream("parallel_function_calls_stream_gpt4o", "0.")
    starts = [(e.index, e.id, e.name) for e in events if isinstance(e, ToolCallStartEvent)]
    expected = _calls(_final("parallel_function_calls_stream_gpt4o", "0.")["output"])
    assert starts == [(i, c.id, c.name) for i, c in enumerate(expected)]
    # Output items 0 and 1 are calls 0 and 1; every fragment is passed on as it came.
    assert {i: _deltas_for(events, i) for i in fragments} == fragments
    ends = [e.call for e in events if isinstance(e, ToolCallEndEvent)]
    response = final_response(events)
    assert ends == response.message.tool_calls == expected
    assert response.message.parts == expected  # no empty text part
    assert response.finish_reason == "tool_calls"


def _deltas_for(events: list[StreamEvent], index: int) -> list[str]:
    return [
        e.arguments_delta for e in events if isinstance(e, ToolCallDeltaEvent) and e.index == index
    ]


@pytest.mark.parametrize("stream", [False, True])
async def test_tool_follow_up_request_matches_the_recorded_one(stream: bool) -> None:
    """Parse turn 0's recorded answer, add the tool results, and build turn 1's request."""
    case = (
        "parallel_function_calls_stream_gpt4o" if stream else "parallel_function_calls_json_gpt4o"
    )
    first, recorded = (
        read_json(CASES / case / "0.request.json"),
        read_json(CASES / case / "1.request.json"),
    )
    if stream:
        answer = final_response(await _stream(case, "0.")).message
    else:
        answer = (await _generate(case, "0.")).message
    secrets = {"mellon": "Welcome to Moria!", "radiance": "Life before Death"}
    results = [
        ToolResultPart(call_id=c.id, content=[TextPart(text=secrets[c.arguments["password"]])])
        for c in answer.tool_calls
    ]
    tools = [
        ToolDefinition(name=t["name"], description=t["description"], input_schema=t["parameters"])
        for t in first["tools"]
    ]
    request = ModelRequest(
        messages=[
            Message.system(first["input"][0]["content"]),
            Message.user(first["input"][1]["content"]),
            answer,
            Message(role="tool", parts=results),
        ],
        tools=tools,
    )
    prepared = to_responses_request(request, model_id="gpt-4o", stream=stream)
    assert prepared.warnings == []
    body: dict[str, Any] = dict(prepared.body)
    # The recorder echoed the item ids (fc_...) and status; we keep only call_id, which
    # is all a function_call_output refers to.
    expected = [
        {k: v for k, v in item.items() if k not in ("id", "status")} for item in recorded["input"]
    ]
    assert body.pop("input") == expected
    # The schema meets the strict rules, so we say strict: true where the recorder said false.
    assert [t | {"strict": False} for t in body.pop("tools")] == recorded.pop("tools")
    assert body.pop("store") is False
    assert body == {k: v for k, v in recorded.items() if k != "input"}


async def test_strict_tool_with_title_and_default_keywords() -> None:
    case = CASES / "strict_tool_with_default_and_title_keywords"
    wire = read_json(case / "response.json")
    response = await _generate(case.name)
    assert response.message.parts == _calls(wire["output"])
    assert response.message.parts[0].arguments == {  # type: ignore[union-attr]
        "location": "San Francisco, CA",
        "unit": "fahrenheit",
    }
    assert response.finish_reason == "tool_calls"
    # Our converter sends the recorded schema unchanged, strict, in the flat shape.
    recorded = read_json(case / "request.json")
    (tool,) = recorded["tools"]
    request = ModelRequest(
        messages=[Message.user(recorded["input"][0]["content"])],
        tools=[
            ToolDefinition(
                name=tool["name"], description=tool["description"], input_schema=tool["parameters"]
            )
        ],
    )
    prepared = to_responses_request(request, model_id="gpt-4o", stream=False)
    assert prepared.warnings == []
    assert prepared.body == recorded | {"store": False}


async def test_custom_tool_call_json_and_stream() -> None:
    wire = read_json(CASES / "custom_tool_call" / "response.json")
    (item,) = wire["output"]
    expected = [
        ToolCallPart(id=item["call_id"], name=item["name"], arguments={"input": item["input"]})
    ]
    response = await _generate("custom_tool_call")
    assert response.message.parts == expected
    assert (response.finish_reason, response.model_id) == ("tool_calls", "gpt-5.2-codex")
    assert response.usage == _usage(wire["usage"])
    events = await _stream("custom_tool_call")
    # Input fragments are raw text, not JSON: the one argument delta comes whole at the end.
    assert [type(e).__name__ for e in events[1:-1]] == [
        "ToolCallStartEvent",
        "ToolCallDeltaEvent",
        "ToolCallEndEvent",
    ]
    assert json.loads(_deltas_for(events, 0)[0]) == {"input": item["input"]}
    assert final_response(events).message.parts == expected


# -- reasoning -------------------------------------------------------------------------------


async def test_reasoning_item_and_reasoning_tokens() -> None:
    case = CASES / "reasoning_gpt5_json"
    wire = read_json(case / "response.json")
    reasoning, message = wire["output"]
    response = await _generate(case.name)
    assert response.message.parts == [
        ReasoningPart(
            text="\n\n".join(s["text"] for s in reasoning["summary"]),
            id=reasoning["id"],
            signature=None,  # not asked for: the recording has no include
            provider="openai",
            model="gpt-5-2025-08-07",
        ),
        TextPart(text=message["content"][0]["text"]),
    ]
    assert response.usage == Usage(
        input_tokens=32, output_tokens=1095, reasoning_output_tokens=1088
    )
    assert response.finish_reason == "stop"
    # Our request for the same settings: the recorded one, plus what carries reasoning
    # over without server state.
    recorded = read_json(case / "request.json")
    request = ModelRequest(
        messages=[Message.user(recorded["input"][0]["content"])],
        settings=ModelSettings(reasoning_effort="medium"),
    )
    # The recording asked for a summary; agentkit does only when told to.
    body = to_responses_request(
        request, model_id="gpt-5", stream=False, reasoning_summary="auto"
    ).body
    assert body == recorded | {"store": False, "include": ["reasoning.encrypted_content"]}


# -- refusals --------------------------------------------------------------------------------


async def test_refusal_json() -> None:
    wire = read_json(CASES / "refusal_json" / "response.json")
    refusal = wire["output"][0]["content"][0]["refusal"]
    response = await _generate("refusal_json")
    assert response.refusal == refusal == "I'm very sorry, but I can't assist with that."
    assert response.message.parts == []
    assert (response.finish_reason, response.raw_finish_reason) == ("refusal", "completed")


async def test_refusal_stream() -> None:
    payloads = _payloads("refusal_stream")
    deltas = [p["delta"] for p in payloads if p["type"] == "response.refusal.delta"]
    events = await _stream("refusal_stream")
    response = final_response(events)
    assert [e.text for e in events if isinstance(e, RefusalDeltaEvent)] == deltas
    assert response.refusal == "".join(deltas) == "I'm sorry, I can't assist with that."
    assert not any(isinstance(e, TextDeltaEvent) for e in events)
    assert response.message.parts == []
    assert response.finish_reason == "refusal"
    assert response.usage == _usage(_final("refusal_stream")["usage"])


@pytest.mark.parametrize("case", ["refusal_json", "refusal_stream"])
def test_structured_output_request_matches_the_recorded_one(case: str) -> None:
    recorded = read_json(CASES / case / "request.json")
    text_format = recorded["text"]["format"]
    request = ModelRequest(
        messages=[Message.user(recorded["input"][0]["content"])],
        output_schema=text_format["schema"],
        output_name=text_format["name"],
    )
    prepared = to_responses_request(request, model_id="gpt-4o", stream="stream" in recorded)
    assert prepared.body == recorded | {"store": False}
    assert prepared.warnings == []


@pytest.mark.parametrize(
    "case", ["text_json_gpt4o", "text_stream_gpt4o", "incomplete_max_output_tokens_json",
             "incomplete_max_output_tokens_stream", "error_401_invalid_api_key",
             "error_400_model_not_found"],
)  # fmt: skip
def test_simple_requests_match_the_recorded_ones(case: str) -> None:
    recorded = read_json(CASES / case / "request.json")
    request = ModelRequest(
        messages=[Message.user(recorded["input"][0]["content"])],
        settings=ModelSettings(max_tokens=recorded.get("max_output_tokens")),
    )
    prepared = to_responses_request(
        request, model_id=recorded["model"], stream=bool(recorded.get("stream"))
    )
    assert prepared.body == recorded | {"store": False}


# -- errors ----------------------------------------------------------------------------------


async def _drain(
    adapter: OpenAIResponsesAdapter, streaming: bool, seen: list[StreamEvent] | None = None
) -> None:
    if not streaming:
        await adapter.generate(REQUEST)
        return
    async for event in adapter.stream(REQUEST):
        if seen is not None:
            seen.append(event)


@pytest.mark.parametrize(
    ("case", "file", "status", "cls", "code"),
    [
        ("error_401_invalid_api_key", "response.json", 401, AuthenticationError, "invalid_api_key"),
        # An unknown model is a 400 here (a 404 on Chat Completions).
        ("error_400_model_not_found", "response.json", 400, ModelNotFoundError, "model_not_found"),
        ("stream_error_insufficient_quota", "response_nonstream_429.json", 429, RateLimitError,
         "insufficient_quota"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("streaming", [False, True])
async def test_http_errors(
    case: str, file: str, status: int, cls: type[ProviderHTTPError], code: str, streaming: bool
) -> None:
    body = (CASES / case / file).read_bytes()
    adapter = Replay(status, body, "application/json").adapter
    with pytest.raises(cls) as info:
        await _drain(adapter, streaming)
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


async def test_error_inside_a_200_stream() -> None:
    payloads = _payloads("stream_error_insufficient_quota")
    assert [p["type"] for p in payloads] == [
        "response.created",
        "response.in_progress",
        "error",
        "response.failed",
    ]
    replay = Replay(200, _sse("stream_error_insufficient_quota"), "text/event-stream")
    seen: list[StreamEvent] = []
    with pytest.raises(RateLimitError) as info:
        await _drain(replay.adapter, True, seen)
    assert [type(e) for e in seen] == [ResponseStartEvent]
    error = info.value
    assert (error.status_code, error.code) == (200, "insufficient_quota")
    assert error.body == {"error": payloads[2]["error"]}
    assert "You exceeded your current quota" in str(error)


async def test_failed_response_alone_is_mapped_too() -> None:
    # Without the error event, response.failed carries the same error.
    payloads = _payloads("stream_error_insufficient_quota")
    body = "".join(f"data: {json.dumps(p)}\n\n" for i, p in enumerate(payloads) if i != 2)
    with pytest.raises(RateLimitError, match="exceeded your current quota"):
        await _stream("", body=body.encode())


def test_every_fixture_case_is_replayed() -> None:
    """A new case dropped into the fixtures must get a test here."""
    covered = {
        "text_json_gpt4o", "text_stream_gpt4o", "parallel_function_calls_json_gpt4o",
        "parallel_function_calls_stream_gpt4o", "strict_tool_with_default_and_title_keywords",
        "reasoning_gpt5_json", "refusal_json", "refusal_stream",
        "incomplete_max_output_tokens_json", "incomplete_max_output_tokens_stream",
        "error_401_invalid_api_key", "error_400_model_not_found",
        "stream_error_insufficient_quota", "custom_tool_call",
    }  # fmt: skip
    present = {p.name for p in CASES.iterdir() if p.is_dir()}
    assert present == covered
    for name in present:
        assert (CASES / name / "PROVENANCE.md").exists(), name
