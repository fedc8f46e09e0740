"""Every recorded Vertex AI exchange, replayed through the real Vertex adapters.

Each body is served by an ``httpx2.MockTransport`` in small byte slices, so
``generate``/``stream`` parse it the way they parse the wire. The adapter is
built from the recording's own project, location and model with no
``base_url``, and the URL it posts to must be the recorded one, byte for
byte (``v1beta1`` for Gemini, ``v1`` for Claude, regional and global hosts).
The answer is compared field by field with a reading of the recorded body
that does not go through the adapter; a multi-turn case carries the parsed
answer on and compares the next request with the recorded one. Fixtures and
their provenance: ``tests/fixtures/real_traffic/vertex``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.vertex import VertexAdapter, create_vertex_adapter
from google.oauth2.credentials import Credentials

from agentkit import (
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningPart,
    ResponseEndEvent,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    ToolCallPart,
    ToolCallStartEvent,
    ToolDefinition,
    ToolResultPart,
)
from agentkit.exceptions import BadRequestError
from tests.properties._traffic import (
    final_response,
    mock_client,
    read_json,
    sliced_response,
    sse_payloads,
    stream_events,
)

pytestmark = pytest.mark.anyio

CASES = Path(__file__).parents[2] / "fixtures" / "real_traffic" / "vertex"
TOKEN = "ya29.test-planted"
_URI = re.compile(
    r"https://[^/]+/v1(?:beta1)?/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/(?P<publisher>[^/]+)/models/(?P<model>[^:]+):"
)


class Replay:
    """A Vertex adapter for a recorded URI whose HTTP answer is the recorded body, sliced."""

    def __init__(self, uri: str, status: int, body: bytes, content_type: str) -> None:
        match = _URI.match(uri)
        assert match is not None, uri
        self.requests: list[httpx2.Request] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            self.requests.append(request)
            return sliced_response(status, content_type, body, 41)

        self.adapter: VertexAdapter = create_vertex_adapter(
            match["model"],
            project=match["project"],
            location=match["location"],
            credentials=Credentials(token=TOKEN),
            http_client=mock_client(handler),
        )

    def sent(self) -> tuple[str, dict[str, Any], httpx2.Headers]:
        (request,) = self.requests
        return str(request.url), json.loads(request.content), request.headers


def _replay(case: Path, prefix: str = "") -> tuple[Replay, dict[str, Any]]:
    meta = read_json(case / f"{prefix}meta.json")
    body = (case / meta["response_file"]).read_bytes()
    return Replay(meta["uri"], meta["status"], body, meta["content_type"]), meta


# -- reading the recorded Gemini side independently ------------------------------------------


def _lower_types(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.lower() if k == "type" else _lower_types(v)) for k, v in node.items()}
    return node


def _request_from(recorded: dict[str, Any]) -> ModelRequest:
    """The neutral first-turn request that the recorded body asked (text turns and tools)."""
    messages = []
    system = recorded.get("systemInstruction")
    if system:
        messages.append(Message.system("".join(p["text"] for p in system["parts"])))
    for content in recorded["contents"]:
        text = "".join(p.get("text", "") for p in content["parts"])
        messages.append(Message.user(text))
    tools = [
        ToolDefinition(
            name=d["name"],
            description=d.get("description"),
            input_schema=_lower_types(d["parameters"]),
        )
        for tool in recorded.get("tools") or ()
        for d in tool["functionDeclarations"]
    ]
    max_tokens = (recorded.get("generationConfig") or {}).get("maxOutputTokens")
    return ModelRequest(
        messages=messages,
        tools=tools,
        tool_choice=(recorded.get("toolConfig") and "auto") or None,
        settings=ModelSettings(max_tokens=max_tokens),
    )


def _gemini_chunks(case: Path, prefix: str = "") -> list[dict[str, Any]]:
    meta = read_json(case / f"{prefix}meta.json")
    text = (case / meta["response_file"]).read_text()
    if meta["response_file"].endswith(".json"):
        return [json.loads(text)]
    return sse_payloads(text)


def _gemini_parts(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for c in chunks for cand in c.get("candidates", ()) for p in cand["content"]["parts"]]


def _check_gemini_answer(response: ModelResponse, chunks: list[dict[str, Any]]) -> None:
    parts = _gemini_parts(chunks)
    last = chunks[-1]
    text = "".join(p.get("text", "") for p in parts if not p.get("thought"))
    assert response.message.text == text
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    got = [p for p in response.message.parts if isinstance(p, ToolCallPart)]
    assert [(c.name, c.arguments) for c in got] == [(c["name"], c.get("args", {})) for c in calls]
    signatures = [p["thoughtSignature"] for p in parts if "thoughtSignature" in p]
    assert [
        p.signature for p in response.message.parts if isinstance(p, ReasoningPart)
    ] == signatures
    assert response.raw_finish_reason == last["candidates"][0]["finishReason"]
    assert response.finish_reason == ("tool_calls" if calls else "stop")
    assert response.response_id == last["responseId"]
    assert response.model_id == last["modelVersion"]
    usage = last["usageMetadata"]
    assert response.usage is not None
    assert response.usage.input_tokens == usage["promptTokenCount"]
    thoughts = usage.get("thoughtsTokenCount", 0)
    assert response.usage.output_tokens == usage["candidatesTokenCount"] + thoughts
    assert response.usage.reasoning_output_tokens == thoughts
    assert response.provider == "vertex"


async def _call(replay: Replay, request: ModelRequest, stream: bool) -> ModelResponse:
    if not stream:
        return await replay.adapter.generate(request)
    return final_response(await stream_events(replay.adapter, request))


def _check_sent(replay: Replay, meta: dict[str, Any], recorded: dict[str, Any]) -> dict[str, Any]:
    url, body, headers = replay.sent()
    assert url == meta["uri"]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-goog-api-key" not in headers
    assert body.get("systemInstruction", {}).get("parts") == (
        recorded.get("systemInstruction", {}).get("parts")
    )
    return body


GEMINI_SINGLE = [
    ("gemini_text_json_regional", False),
    ("gemini_text_stream_regional", True),
    ("gemini_flex_tier_stream_global", True),
]


@pytest.mark.parametrize(("case", "stream"), GEMINI_SINGLE)
async def test_gemini_text_answers(case: str, stream: bool) -> None:
    replay, meta = _replay(CASES / case)
    recorded = read_json(CASES / case / "request.json")
    response = await _call(replay, _request_from(recorded), stream)
    body = _check_sent(replay, meta, recorded)
    assert body["contents"] == recorded["contents"]
    _check_gemini_answer(response, _gemini_chunks(CASES / case))


async def test_the_flex_tier_answer_is_read_as_an_ordinary_one() -> None:
    # trafficType ON_DEMAND_FLEX is billing data, not content: one chunk, a signed text part.
    case = CASES / "gemini_flex_tier_stream_global"
    (chunk,) = _gemini_chunks(case)
    assert chunk["usageMetadata"]["trafficType"] == "ON_DEMAND_FLEX"
    replay, _ = _replay(case)
    response = await _call(replay, _request_from(read_json(case / "request.json")), True)
    signed, _text = response.message.parts
    assert isinstance(signed, ReasoningPart)
    assert signed.text is None
    assert response.message.text == "OK"


MULTI_TURN = [
    ("gemini_tool_call_json_then_function_response", False),
    ("gemini_tool_call_stream_then_function_response", True),
    ("gemini_parallel_calls_stream_pro", True),
]


@pytest.mark.parametrize(("case", "stream"), MULTI_TURN)
async def test_gemini_tool_call_then_function_response(case: str, stream: bool) -> None:
    folder = CASES / case
    first_recorded = read_json(folder / "0.request.json")
    replay, meta = _replay(folder, "0.")
    request = _request_from(first_recorded)
    first = await _call(replay, request, stream)
    body = _check_sent(replay, meta, first_recorded)
    assert body["contents"] == first_recorded["contents"]
    assert [d["name"] for d in body["tools"][0]["functionDeclarations"]] == [
        d["name"] for d in first_recorded["tools"][0]["functionDeclarations"]
    ]
    _check_gemini_answer(first, _gemini_chunks(folder, "0."))
    # Turn 2: the answer carried on, with the recorded function responses.
    second_recorded = read_json(folder / "1.request.json")
    responses = [p["functionResponse"] for p in second_recorded["contents"][-1]["parts"]]
    calls = [p for p in first.message.parts if isinstance(p, ToolCallPart)]
    results = [
        ToolResultPart(call_id=call.id, name=call.name, structured_content=r["response"])
        for call, r in zip(calls, responses, strict=True)
    ]
    follow_up = dataclasses.replace(
        request, messages=[*request.messages, first.message, Message(role="tool", parts=results)]
    )
    replay2, meta2 = _replay(folder, "1.")
    second = await _call(replay2, follow_up, stream)
    body2 = _check_sent(replay2, meta2, second_recorded)
    # The model turn goes back exactly as recorded: calls, args and signatures.
    assert body2["contents"][1] == second_recorded["contents"][1]
    sent_responses = [p["functionResponse"] for p in body2["contents"][2]["parts"]]
    assert [r["name"] for r in sent_responses] == [r["name"] for r in responses]
    _check_gemini_answer(second, _gemini_chunks(folder, "1."))


async def test_gemini_error_400_is_a_bad_request() -> None:
    case = CASES / "gemini_error_400_invalid_argument"
    replay, meta = _replay(case)
    with pytest.raises(BadRequestError) as caught:
        await replay.adapter.generate(ModelRequest(messages=[Message.user("look at this")]))
    url, _, _ = replay.sent()
    assert url == meta["uri"]  # the global host, v1beta1
    assert caught.value.status_code == 400
    recorded = read_json(case / "response.json")["error"]
    assert recorded["message"] in str(caught.value)
    assert caught.value.body["error"]["status"] == "INVALID_ARGUMENT"


async def test_streamed_partial_args_become_whole_tool_calls() -> None:
    # No URI was recorded (a vercel/ai fixture): the URL is the global one the adapter builds.
    case = CASES / "gemini_partial_args_parallel_and_no_args_calls"
    lines = (case / "response.chunks.jsonl").read_text().splitlines()
    body = "".join(f"data: {line}\r\n\r\n" for line in lines).encode()
    uri = (
        "https://aiplatform.googleapis.com/v1beta1/projects/p-planted/locations/global"
        "/publishers/google/models/gemini-3-flash-preview:streamGenerateContent?alt=sse"
    )
    replay = Replay(uri, 200, body, "text/event-stream")
    events = [e async for e in replay.adapter.stream(ModelRequest(messages=[Message.user("go")]))]
    url, _, _ = replay.sent()
    assert url == uri
    starts = [e for e in events if isinstance(e, ToolCallStartEvent)]
    ends = [e for e in events if isinstance(e, ToolCallEndEvent)]
    assert [e.name for e in starts] == ["read_theme", "read_screen", "read_screen", "read_screen"]
    assert [e.call.arguments for e in ends] == [{}, {"id": "A"}, {"id": "B"}, {"id": "C"}]
    assert [e.index for e in starts] == [e.index for e in ends] == [0, 1, 2, 3]
    for start, end in zip(starts, ends, strict=True):
        deltas = [e for e in events if isinstance(e, ToolCallDeltaEvent) and e.index == start.index]
        assert json.loads("".join(d.arguments_delta for d in deltas)) == end.call.arguments
        assert end.call.id == start.id
    # Each call ends before the next starts, as the chunks close them.
    order = [e.index for e in events if isinstance(e, ToolCallStartEvent | ToolCallEndEvent)]
    assert order == [0, 0, 1, 1, 2, 2, 3, 3]
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    response = end.response
    assert response.finish_reason == "tool_calls"
    thought, signed = (p for p in response.message.parts if isinstance(p, ReasoningPart))
    assert thought.text is not None
    assert thought.text.startswith("**Processing User Requests**")
    assert signed.signature is not None
    assert signed.signature.startswith("AY89a18a8/")
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (249, 58 + 183)


# -- Claude through rawPredict / streamRawPredict --------------------------------------------


async def test_claude_rawpredict_json() -> None:
    case = CASES / "claude_rawpredict_json"
    replay, meta = _replay(case)
    recorded = read_json(case / "request.json")
    request = ModelRequest(
        messages=[
            Message.system("You are a helpful assistant"),
            Message.user("Say hi in Portuguese"),
        ],
        settings=ModelSettings(max_tokens=4000),
    )
    response = await replay.adapter.generate(request)
    url, body, headers = replay.sent()
    assert url == meta["uri"]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert "anthropic-version" not in headers  # Vertex takes it in the body
    assert body == recorded
    answer = read_json(case / "response.json")
    assert response.message.text == answer["content"][0]["text"]
    assert response.response_id == answer["id"]
    assert response.raw_finish_reason == "end_turn"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (16, 16)


async def test_claude_streamrawpredict_tool_then_result() -> None:
    case = CASES / "claude_streamrawpredict_tool_then_result"
    recorded = read_json(case / "0.request.json")
    replay, meta = _replay(case, "0.")
    tools = [
        ToolDefinition(
            name=t["name"], description=t.get("description"), input_schema=t["input_schema"]
        )
        for t in recorded.get("tools") or ()
    ]
    messages = [Message.system(b["text"]) for b in recorded.get("system") or ()]
    messages += [Message.user(m["content"][0]["text"]) for m in recorded["messages"]]
    request = ModelRequest(
        messages=messages,
        tools=tools,
        tool_choice="auto" if "tool_choice" in recorded else None,
        settings=ModelSettings(max_tokens=recorded["max_tokens"]),
    )
    events = [e async for e in replay.adapter.stream(request)]
    url, body, _ = replay.sent()
    assert url == meta["uri"]
    assert "model" not in body
    assert body["anthropic_version"] == "vertex-2023-10-16"
    assert body["stream"] is True
    assert body["messages"] == recorded["messages"]
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    payloads = sse_payloads((case / "0.response.sse").read_text())
    start = next(p for p in payloads if p["type"] == "message_start")["message"]
    tool_use = next(
        p["content_block"]
        for p in payloads
        if p["type"] == "content_block_start" and p["content_block"]["type"] == "tool_use"
    )
    fragments = "".join(
        p["delta"]["partial_json"]
        for p in payloads
        if p["type"] == "content_block_delta" and p["delta"]["type"] == "input_json_delta"
    )
    (call,) = [p for p in end.response.message.parts if isinstance(p, ToolCallPart)]
    assert call.id == tool_use["id"]
    assert call.id.startswith("toolu_vrtx_")
    assert call.name == tool_use["name"]
    assert call.arguments == json.loads(fragments)
    assert end.response.response_id == start["id"]
    assert end.response.finish_reason == "tool_calls"
    # Turn 2: the tool result goes back; the answer is text.
    second_recorded = read_json(case / "1.request.json")
    result_block = second_recorded["messages"][-1]["content"][0]
    content = result_block["content"]
    text = content if isinstance(content, str) else content[0]["text"]
    result = ToolResultPart.model_validate(
        {"call_id": call.id, "name": call.name, "content": [{"type": "text", "text": text}]}
    )
    follow_up = dataclasses.replace(
        request, messages=[*messages, end.response.message, Message(role="tool", parts=[result])]
    )
    replay2, meta2 = _replay(case, "1.")
    events2 = [e async for e in replay2.adapter.stream(follow_up)]
    url2, body2, _ = replay2.sent()
    assert url2 == meta2["uri"]
    assert body2["messages"][1] == second_recorded["messages"][1]
    assert body2["messages"][2]["content"][0]["tool_use_id"] == result_block["tool_use_id"]
    end2 = events2[-1]
    assert isinstance(end2, ResponseEndEvent)
    answer = "".join(
        p["delta"]["text"]
        for p in sse_payloads((case / "1.response.sse").read_text())
        if p["type"] == "content_block_delta" and p["delta"]["type"] == "text_delta"
    )
    assert end2.response.message.text == answer


def test_every_fixture_case_is_replayed() -> None:
    replayed = (
        {c for c, _ in GEMINI_SINGLE}
        | {c for c, _ in MULTI_TURN}
        | {
            "gemini_error_400_invalid_argument",
            "gemini_partial_args_parallel_and_no_args_calls",
            "claude_rawpredict_json",
            "claude_streamrawpredict_tool_then_result",
        }
    )
    assert {p.name for p in CASES.iterdir() if p.is_dir()} == replayed
    for case in CASES.iterdir():
        assert (case / "PROVENANCE.md").exists(), case.name
