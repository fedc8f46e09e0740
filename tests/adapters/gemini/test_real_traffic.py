"""Every recorded Gemini exchange, replayed through the adapter field by field.

Responses are served from an ``httpx2.MockTransport`` in small byte slices,
so the adapter's real ``generate``/``stream`` path (SSE parsing included)
reads them. Fixtures and their provenance: ``tests/fixtures/real_traffic/gemini``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.gemini import (
    GENERATED_ID_PREFIX,
    GeminiAdapter,
    from_gemini_response,
    to_gemini_contents,
    to_gemini_request,
)
from agentkit_adapters.gemini._convert import SKIP_SIGNATURE

from agentkit import (
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningDeltaEvent,
    ReasoningPart,
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

CASES = Path(__file__).parents[2] / "fixtures" / "real_traffic" / "gemini"
MODEL = "gemini-2.5-flash"
REQUEST = ModelRequest(messages=[Message.user("hi")])


def _sse(case: Path, prefix: str = "") -> bytes:
    """The recorded SSE body; chunk files lost their framing, so Gemini's is put back."""
    recorded = case / f"{prefix}response.sse"
    if recorded.exists():
        return recorded.read_bytes()
    lines = (case / f"{prefix}response.chunks.jsonl").read_text().splitlines()
    return "".join(f"data: {line}\r\n\r\n" for line in lines if line.strip()).encode()


def _chunks(case: Path, prefix: str = "") -> list[dict[str, Any]]:
    """The recorded chunk payloads, read independently of the adapter's parser."""
    return sse_payloads(_sse(case, prefix).decode())


class Replay:
    """An adapter whose HTTP answers are one recorded body, sliced into small reads."""

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        model: str = MODEL,
        slice_size: int = 37,
    ) -> None:
        self.requests: list[httpx2.Request] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            self.requests.append(request)
            return sliced_response(status, content_type, body, slice_size)

        client = mock_client(handler)
        self.adapter = GeminiAdapter(model, api_key="test-key", client=client)


async def _generate(case: Path, prefix: str = "", model: str = MODEL) -> ModelResponse:
    body = (case / f"{prefix}response.json").read_bytes()
    replay = Replay(200, body, "application/json; charset=UTF-8", model=model)
    response = await replay.adapter.generate(REQUEST)
    (sent,) = replay.requests
    assert (
        str(sent.url)
        == f"https://generativelanguage.googleapis.com/v1beta/models/{model}:generateContent"
    )
    assert sent.headers["x-goog-api-key"] == "test-key"
    return response


async def _stream(case: Path, prefix: str = "", model: str = MODEL, **kw: Any) -> list[StreamEvent]:
    replay = Replay(200, _sse(case, prefix), "text/event-stream", model=model, **kw)
    events = await stream_events(replay.adapter, REQUEST)
    (sent,) = replay.requests
    assert str(sent.url).endswith(f"/v1beta/models/{model}:streamGenerateContent?alt=sse")
    return events


def _usage(wire: dict[str, Any]) -> Usage:
    """The recorded usageMetadata as agentkit counts it: output includes thoughts."""
    thoughts = wire.get("thoughtsTokenCount", 0)
    usage = Usage(
        input_tokens=wire["promptTokenCount"],
        output_tokens=wire.get("candidatesTokenCount", 0) + thoughts,
        reasoning_output_tokens=thoughts,
    )
    assert usage.total_tokens == wire["totalTokenCount"]  # total = prompt + candidates + thoughts
    return usage


def _signed(signature: str, model: str = MODEL) -> ReasoningPart:
    return ReasoningPart(signature=signature, provider="gemini", model=model)


def _same_bytes(sent: str, recorded: str) -> bool:
    # The recording client re-encoded the signature bytes in base64url; we send
    # back the text we received. Both alphabets decode to the same bytes.
    return base64.b64decode(sent) == base64.urlsafe_b64decode(recorded)


# -- text, usage, finish reasons -------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "finish"), [("text_json_25flash", "stop"), ("max_tokens_json", "length")]
)
async def test_json_text_answers(case: str, finish: str) -> None:
    wire = read_json(CASES / case / "response.json")
    candidate = wire["candidates"][0]
    response = await _generate(CASES / case)
    assert response.message.parts == [TextPart(text=candidate["content"]["parts"][0]["text"])]
    assert (response.finish_reason, response.raw_finish_reason) == (
        finish,
        candidate["finishReason"],
    )
    assert response.usage == _usage(wire["usageMetadata"])
    assert (response.provider, response.model_id, response.response_id) == (
        "gemini",
        wire["modelVersion"],
        wire["responseId"],
    )
    assert response.refusal is None


async def test_usage_counts_thoughts_as_output() -> None:
    response = await _generate(CASES / "text_json_25flash")
    # 13 + 77 + 25 = 115 = totalTokenCount: thoughts are outside candidatesTokenCount.
    assert response.usage == Usage(input_tokens=13, output_tokens=102, reasoning_output_tokens=25)
    truncated = await _generate(CASES / "max_tokens_json")
    # The thoughts spent most of maxOutputTokens=50: 10 + 38 = 48.
    assert truncated.usage == Usage(input_tokens=9, output_tokens=48, reasoning_output_tokens=38)


@pytest.mark.parametrize(
    ("case", "prefix", "finish"),
    [
        ("text_stream_25flash", "", "stop"),
        ("max_tokens_stream", "", "length"),
        ("parallel_function_calls_stream_25flash", "1.", "stop"),
    ],
)
async def test_text_streams(case: str, prefix: str, finish: str) -> None:
    raw = _sse(CASES / case, prefix)
    # Gemini's framing: \r\n\r\n after every event and no [DONE].
    assert raw.endswith(b"\r\n\r\n")
    assert b"[DONE]" not in raw
    chunks = _chunks(CASES / case, prefix)
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    events = await _stream(CASES / case, prefix)
    response = final_response(events)
    deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
    assert len(deltas) == len(chunks)
    assert "".join(deltas) == text == response.message.text
    assert response.message.parts == [TextPart(text=text)]
    assert response.finish_reason == finish
    assert response.raw_finish_reason == chunks[-1]["candidates"][0]["finishReason"]
    # usageMetadata rides on every chunk and grows: only the last one counts, once.
    assert response.usage == _usage(chunks[-1]["usageMetadata"])
    if len(chunks) > 1:
        assert chunks[0]["usageMetadata"] != chunks[-1]["usageMetadata"]
    assert (response.model_id, response.response_id) == (
        chunks[0]["modelVersion"],
        chunks[0]["responseId"],
    )


@pytest.mark.parametrize("size", [1, 5, 4096])
async def test_byte_slicing_changes_nothing(size: int) -> None:
    case = CASES / "thinking_include_thoughts_stream"
    expected = final_response(await _stream(case))
    assert final_response(await _stream(case, slice_size=size)) == expected


async def test_refusal_comes_as_text_inside_the_json() -> None:
    """Gemini has no refusal field: the model declines inside the structured answer."""
    response = await _generate(CASES / "refusal_as_text_structured")
    answer = json.loads(response.message.text)
    assert answer["instructions"].startswith("I cannot provide instructions")
    assert response.refusal is None
    assert response.finish_reason == "stop"
    assert response.usage == Usage(input_tokens=8, output_tokens=168, reasoning_output_tokens=75)


# -- thoughts --------------------------------------------------------------------------------


async def test_thought_parts_json() -> None:
    parts = read_json(CASES / "thinking_include_thoughts_json" / "response.json")["candidates"][0][
        "content"
    ]["parts"]
    assert parts[0]["thought"] is True
    response = await _generate(CASES / "thinking_include_thoughts_json")
    assert response.message.parts == [
        ReasoningPart(text=parts[0]["text"], provider="gemini", model=MODEL),
        TextPart(text=parts[1]["text"]),
    ]
    assert response.usage == Usage(
        input_tokens=30, output_tokens=136 + 1754, reasoning_output_tokens=1754
    )
    # Sent back to the same model, the thought goes as a thought part.
    _, contents, warnings = to_gemini_contents([response.message], model_id=MODEL)
    assert contents == [{"role": "model", "parts": parts}]
    assert warnings == []


async def test_thought_parts_stream() -> None:
    case = CASES / "thinking_include_thoughts_stream"
    chunks = _chunks(case)
    thoughts = [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks[:-1]]
    events = await _stream(case)
    assert [e.text for e in events if isinstance(e, ReasoningDeltaEvent)] == thoughts
    response = final_response(events)
    assert response.message.parts == [
        ReasoningPart(text="".join(thoughts), provider="gemini", model=MODEL),
        TextPart(text="3"),
    ]
    # The last chunk has no candidatesTokenCount at all: 30 + 1947 = 1977.
    assert "candidatesTokenCount" not in chunks[-1]["usageMetadata"]
    assert response.usage == Usage(
        input_tokens=30, output_tokens=1947, reasoning_output_tokens=1947
    )


# -- function calls and thought signatures ---------------------------------------------------

PARALLEL_JSON = CASES / "parallel_function_calls_json_25flash"
PARALLEL_STREAM = CASES / "parallel_function_calls_stream_25flash"


def _secret_calls(message: Message) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, c.arguments) for c in message.tool_calls]


@pytest.mark.parametrize("stream", [False, True])
async def test_parallel_function_calls(stream: bool) -> None:
    if stream:
        chunks = _chunks(PARALLEL_STREAM, "0.")
        assert len(chunks) == 1  # both whole calls arrive in one chunk, with finishReason
        wire = chunks[0]
        events = await _stream(PARALLEL_STREAM, "0.")
        assert [type(e).__name__ for e in events[1:-1]] == [
            "ToolCallStartEvent",
            "ToolCallDeltaEvent",
            "ToolCallEndEvent",
        ] * 2
        response = final_response(events)
        ends = [e.call for e in events if isinstance(e, ToolCallEndEvent)]
        assert ends == response.message.tool_calls
    else:
        wire = read_json(PARALLEL_JSON / "0.response.json")
        response = await _generate(PARALLEL_JSON, "0.")
    parts = wire["candidates"][0]["content"]["parts"]
    assert "thoughtSignature" in parts[0]
    assert "thoughtSignature" not in parts[1]
    signature, first, second = response.message.parts
    assert signature == _signed(parts[0]["thoughtSignature"])
    assert isinstance(first, ToolCallPart)
    assert isinstance(second, ToolCallPart)
    assert _secret_calls(response.message) == [
        ("secret_retrieval_tool", {"password": "mellon"}),
        ("secret_retrieval_tool", {"password": "radiance"}),
    ]
    # Gemini 2.5 sends no ids: stable ones are made from the response id.
    assert [first.id, second.id] == [
        f"{GENERATED_ID_PREFIX}{wire['responseId']}-0",
        f"{GENERATED_ID_PREFIX}{wire['responseId']}-1",
    ]
    assert response.finish_reason == "tool_calls"
    assert response.raw_finish_reason == "STOP"
    assert response.usage == _usage(wire["usageMetadata"])


def _tool_from_wire(declaration: dict[str, Any]) -> ToolDefinition:
    def lower(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: v.lower() if k == "type" else lower(v) for k, v in node.items()}
        return node

    return ToolDefinition(
        name=declaration["name"],
        description=declaration["description"],
        input_schema=lower(declaration["parameters"]),
    )


@pytest.mark.parametrize("stream", [False, True])
async def test_signature_round_trip_matches_the_recorded_follow_up(stream: bool) -> None:
    """Parse turn 0's answer, add the tool results, build turn 1: the signature is on the
    same functionCall part, ids are left out, and the results are matched by name."""
    case = PARALLEL_STREAM if stream else PARALLEL_JSON
    first = read_json(case / "0.request.json")
    recorded = read_json(case / "1.request.json")
    if stream:
        answer = final_response(await _stream(case, "0.")).message
    else:
        answer = (await _generate(case, "0.")).message
    secrets = {"mellon": "Welcome to Moria!", "radiance": "Life before Death"}
    results = [
        ToolResultPart(call_id=c.id, content=[TextPart(text=secrets[c.arguments["password"]])])
        for c in answer.tool_calls
    ]
    request = ModelRequest(
        messages=[
            Message.system(first["systemInstruction"]["parts"][0]["text"]),
            Message.user(first["contents"][0]["parts"][0]["text"]),
            answer,
            Message(role="tool", parts=results),
        ],
        tools=[_tool_from_wire(d) for d in first["tools"][0]["functionDeclarations"]],
    )
    body, warnings = to_gemini_request(request, model_id=MODEL)
    assert warnings == []
    ours, theirs = body["contents"], recorded["contents"]
    sent_signature = ours[1]["parts"][0].pop("thoughtSignature")
    assert _same_bytes(sent_signature, theirs[1]["parts"][0].pop("thoughtSignature"))
    assert ours == theirs  # user, model (2 calls, no ids), user (2 functionResponses by name)
    assert body["systemInstruction"]["parts"] == recorded["systemInstruction"]["parts"]
    (declaration,) = body["tools"][0]["functionDeclarations"]
    assert declaration == {
        "name": "secret_retrieval_tool",
        "description": "A tool that requires a password to retrieve a secret.",
        "parametersJsonSchema": {
            "properties": {"password": {"title": "Password", "type": "string"}},
            "required": ["password"],
            "type": "object",
        },
    }
    # ... and turn 1's recorded answer reads as the final text.
    if stream:
        final = final_response(await _stream(case, "1."))
    else:
        final = await _generate(case, "1.")
    assert "Welcome to Moria!" in final.message.text
    assert final.finish_reason == "stop"


@pytest.mark.parametrize("stream", [False, True])
async def test_gemini3_function_call_signature(stream: bool) -> None:
    case = CASES / "function_call_gemini3pro"
    model = "gemini-3-pro-preview"
    if stream:
        chunks = _chunks(case)
        wire_part = chunks[0]["candidates"][0]["content"]["parts"][0]
        # The second chunk only says STOP, beside an empty text part.
        assert chunks[1]["candidates"][0]["content"]["parts"] == [{"text": ""}]
        response = final_response(await _stream(case, model=model))
        usage = chunks[-1]["usageMetadata"]
    else:
        wire = read_json(case / "response.json")
        wire_part = wire["candidates"][0]["content"]["parts"][0]
        response = await _generate(case, model=model)
        usage = wire["usageMetadata"]
    signature, call = response.message.parts
    assert signature == _signed(wire_part["thoughtSignature"], model)
    assert isinstance(call, ToolCallPart)
    assert (call.name, call.arguments) == ("weather", {"location": "San Francisco"})
    assert response.finish_reason == "tool_calls"
    assert response.usage == _usage(usage)
    assert response.model_id == "gemini-3-pro-preview"
    # The next request carries the signature on that very functionCall part.
    result = ToolResultPart(call_id=call.id, content=[TextPart(text="foggy")])
    _, contents, _ = to_gemini_contents(
        [Message.user("Weather?"), response.message, Message(role="tool", parts=[result])],
        model_id=model,
    )
    assert contents[1] == {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": "weather", "args": {"location": "San Francisco"}},
                "thoughtSignature": wire_part["thoughtSignature"],
            }
        ],
    }
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "weather", "response": {"output": "foggy"}}}
    ]


@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "gemini-3-pro-preview"), ("gemini", "gemini-2.5-flash")]
)
async def test_a_foreign_signature_is_never_sent(provider: str, model: str) -> None:
    answer = (
        await _generate(CASES / "function_call_gemini3pro", model="gemini-3-pro-preview")
    ).message
    signature = answer.parts[0]
    assert isinstance(signature, ReasoningPart)
    assert signature.signature is not None
    stamped = signature.model_copy(update={"provider": provider, "model": model})
    moved = Message(role="assistant", parts=[stamped, *answer.parts[1:]])
    for target in ("gemini-2.5-pro", "gemini-3-flash-preview"):
        _, contents, warnings = to_gemini_contents([Message.user("hi"), moved], model_id=target)
        assert signature.signature not in json.dumps(contents)
        assert [w.feature for w in warnings] == ["reasoning"]
        call_part = contents[1]["parts"][0]
        # Gemini 3 answers 400 without a signature on a call: it gets the documented bypass.
        expected = SKIP_SIGNATURE if target.startswith("gemini-3") else None
        assert call_part.get("thoughtSignature") == expected


async def test_vertex_partial_function_args_are_assembled() -> None:
    case = CASES / "vertex_streamed_partial_function_args"
    model = "gemini-3.1-pro-preview"
    chunks = _chunks(case)
    events = await _stream(case, model=model)
    # Whole calls only: one start, one delta with the assembled JSON, one end per call.
    kinds = [type(e) for e in events[1:-1]]
    assert kinds == [ToolCallStartEvent, ToolCallDeltaEvent, ToolCallEndEvent] * 2
    deltas = [e.arguments_delta for e in events if isinstance(e, ToolCallDeltaEvent)]
    assert [json.loads(d) for d in deltas] == [
        {"location": "Boston"},
        {"location": "San Francisco"},
    ]
    response = final_response(events)
    first_part = chunks[0]["candidates"][0]["content"]["parts"][0]
    assert response.message.parts[0] == _signed(first_part["thoughtSignature"], model)
    assert _secret_calls(response.message) == [
        ("getWeather", {"location": "Boston"}),
        ("getWeather", {"location": "San Francisco"}),
    ]
    assert response.finish_reason == "tool_calls"
    # Intermediate usageMetadata holds only trafficType; the last has the counts.
    assert chunks[0]["usageMetadata"] == {"trafficType": "ON_DEMAND"}
    assert response.usage == _usage(chunks[-1]["usageMetadata"])


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "status", "cls", "code", "retry_after"),
    [
        ("error_400_api_key_invalid", 400, AuthenticationError, "INVALID_ARGUMENT", None),
        ("error_400_api_key_invalid_stream", 400, AuthenticationError, "INVALID_ARGUMENT", None),
        ("error_404_model_not_found", 404, ModelNotFoundError, "NOT_FOUND", None),
        ("error_429_resource_exhausted", 429, RateLimitError, "RESOURCE_EXHAUSTED", 34.4),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_errors(
    case: str,
    status: int,
    cls: type[ProviderHTTPError],
    code: str,
    retry_after: float | None,
    streaming: bool,
) -> None:
    body = (CASES / case / "response.json").read_bytes()
    meta = read_json(CASES / case / "meta.json")
    # The stream endpoint's error is plain JSON labelled text/event-stream (recorded so).
    content_type = meta.get("content_type", "application/json")
    adapter = Replay(status, body, content_type).adapter

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
        "gemini",
        MODEL,
        status,
        code,
    )
    assert error.retry_after == retry_after
    assert error.body == json.loads(body)
    assert json.loads(body)["error"]["message"] in str(error)
    if cls is AuthenticationError:
        assert "GEMINI_API_KEY" in str(error)


# -- our requests against the recorded ones --------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        "text_json_25flash",
        "text_stream_25flash",
        "max_tokens_json",
        "max_tokens_stream",
        "error_400_api_key_invalid",
        "error_400_api_key_invalid_stream",
        "error_404_model_not_found",
    ],
)
def test_simple_requests_match_the_recorded_ones(case: str) -> None:
    recorded = read_json(CASES / case / "request.json")
    max_tokens = recorded.get("generationConfig", {}).get("maxOutputTokens")
    request = ModelRequest(
        messages=[Message.user(recorded["contents"][0]["parts"][0]["text"])],
        settings=ModelSettings(max_tokens=max_tokens),
    )
    body, warnings = to_gemini_request(request, model_id=MODEL)
    assert body == recorded
    assert warnings == []


@pytest.mark.parametrize(
    "case", ["thinking_include_thoughts_json", "thinking_include_thoughts_stream"]
)
def test_thinking_request_through_extra(case: str) -> None:
    recorded = read_json(CASES / case / "request.json")
    request = ModelRequest(
        messages=[Message.user(recorded["contents"][0]["parts"][0]["text"])],
        settings=ModelSettings(extra={"generationConfig": recorded["generationConfig"]}),
    )
    body, _ = to_gemini_request(request, model_id=MODEL)
    assert body == recorded


def test_structured_output_request_matches_the_recorded_one() -> None:
    recorded = read_json(CASES / "refusal_as_text_structured" / "request.json")
    config = recorded["generationConfig"]
    # The recording client used the OpenAPI field with upper-case types; we send JSON Schema.
    schema = _tool_from_wire(
        {"name": "x", "description": "", "parameters": config["responseSchema"]}
    )
    request = ModelRequest(
        messages=[Message.user(recorded["contents"][0]["parts"][0]["text"])],
        output_schema=schema.input_schema,
        output_name="FentanylHandbook",
    )
    body, warnings = to_gemini_request(request, model_id=MODEL)
    assert body["contents"] == recorded["contents"]
    assert body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": schema.input_schema,
    }
    assert warnings == []


def test_the_recorded_answer_reads_the_same_without_the_adapter() -> None:
    wire = read_json(PARALLEL_JSON / "0.response.json")
    response = from_gemini_response(wire, provider="gemini", model_id=MODEL)
    assert len(response.message.tool_calls) == 2


def test_every_fixture_case_is_replayed() -> None:
    """A new case dropped into the fixtures must get a test here."""
    covered = {
        "text_json_25flash", "text_stream_25flash", "parallel_function_calls_json_25flash",
        "parallel_function_calls_stream_25flash", "function_call_gemini3pro",
        "vertex_streamed_partial_function_args", "thinking_include_thoughts_json",
        "thinking_include_thoughts_stream", "max_tokens_json", "max_tokens_stream",
        "refusal_as_text_structured", "error_400_api_key_invalid",
        "error_400_api_key_invalid_stream", "error_404_model_not_found",
        "error_429_resource_exhausted",
    }  # fmt: skip
    present = {p.name for p in CASES.iterdir() if p.is_dir()}
    assert present == covered
    for name in present:
        assert (CASES / name / "PROVENANCE.md").exists(), name
