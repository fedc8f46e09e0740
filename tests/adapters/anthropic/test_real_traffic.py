"""Every recorded Anthropic (and Claude-on-Vertex) exchange, replayed field by field.

Responses are served from an ``httpx2.MockTransport`` in small byte slices,
so the adapter's real ``generate``/``stream`` path (SSE parsing included)
reads them. For multi-turn cases, turn 1's answer is parsed, the neutral
conversation is carried on, and the converter's body for turn 2 is compared
with the recorded ``1.request.json``. Fixtures and their provenance:
``tests/fixtures/real_traffic/anthropic`` and ``.../vertex/claude_*``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.anthropic import (
    VERTEX_ANTHROPIC_VERSION,
    AnthropicAdapter,
    AnthropicStreamReader,
    from_anthropic_response,
    to_anthropic_request,
)

from agentkit import (
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
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
from agentkit._cost import price_usage
from agentkit.exceptions import (
    AuthenticationError,
    BadRequestError,
    ModelNotFoundError,
    ProviderHTTPError,
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

FIXTURES = Path(__file__).parents[2] / "fixtures" / "real_traffic"
CASES = FIXTURES / "anthropic"
VERTEX = FIXTURES / "vertex"
KEY = "sk-test-planted"
MODEL = "claude-sonnet-4-0"
REQUEST = ModelRequest(messages=[Message.user("hi")])


def _payloads(case: Path, prefix: str = "") -> list[dict[str, Any]]:
    """The recorded stream payloads, read independently of the adapter's SSE parser."""
    return sse_payloads((case / f"{prefix}response.sse").read_text())


class Replay:
    """An adapter whose HTTP answers are one recorded body, sliced into small reads."""

    def __init__(
        self, status: int, body: bytes, content_type: str, *, slice_size: int = 37
    ) -> None:
        self.requests: list[httpx2.Request] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            self.requests.append(request)
            return sliced_response(status, content_type, body, slice_size)

        client = mock_client(handler)
        self.adapter = AnthropicAdapter(MODEL, api_key=KEY, client=client)

    def check_request(self, *, stream: bool) -> None:
        (sent,) = self.requests
        assert str(sent.url) == "https://api.anthropic.com/v1/messages"
        assert sent.headers["x-api-key"] == KEY
        assert sent.headers["anthropic-version"] == "2023-06-01"
        assert json.loads(sent.content).get("stream", False) is stream


async def _generate(case: Path, prefix: str = "") -> ModelResponse:
    meta = read_json(case / f"{prefix}meta.json")
    body = (case / f"{prefix}response.json").read_bytes()
    replay = Replay(meta["status"], body, meta["content_type"])
    response = await replay.adapter.generate(REQUEST)
    replay.check_request(stream=False)
    return response


async def _stream(case: Path, prefix: str = "", **kwargs: Any) -> list[StreamEvent]:
    meta = read_json(case / f"{prefix}meta.json")
    body = (case / f"{prefix}response.sse").read_bytes()
    replay = Replay(meta["status"], body, meta["content_type"], **kwargs)
    events = await stream_events(replay.adapter, REQUEST)
    replay.check_request(stream=True)
    return events


def _usage(wire: dict[str, Any]) -> Usage:
    """The recorded usage as agentkit counts it: cached tokens are part of the input."""
    read = wire.get("cache_read_input_tokens", 0)
    written = wire.get("cache_creation_input_tokens", 0)
    return Usage(
        input_tokens=wire["input_tokens"] + read + written,
        output_tokens=wire["output_tokens"],
        cache_read_input_tokens=read,
        cache_creation_input_tokens=written,
    )


def _stream_usage(payloads: list[dict[str, Any]]) -> Usage:
    """message_start's usage with message_delta's fields laid over it (replaced, not added)."""
    start = payloads[0]["message"]["usage"]
    (delta,) = [p["usage"] for p in payloads if p["type"] == "message_delta"]
    assert start["output_tokens"] != delta["output_tokens"]  # the start's is a placeholder
    return _usage({**start, **delta})


# -- whole answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "prefix", "finish"),
    [
        ("text_json_sonnet4", "", "stop"),
        ("max_tokens_json", "", "length"),
        ("prompt_cache_write_then_read_system", "0.", "stop"),
        ("prompt_cache_write_then_read_system", "1.", "stop"),
        ("parallel_tool_use_json_then_tool_result", "1.", "stop"),
    ],
)
async def test_json_text_answers(case: str, prefix: str, finish: str) -> None:
    wire = read_json(CASES / case / f"{prefix}response.json")
    (block,) = wire["content"]
    response = await _generate(CASES / case, prefix)
    assert response.message.parts == [TextPart(text=block["text"])]
    assert (response.finish_reason, response.raw_finish_reason) == (finish, wire["stop_reason"])
    assert response.usage == _usage(wire["usage"])
    assert (response.provider, response.model_id, response.response_id) == (
        "anthropic",
        wire["model"],
        wire["id"],
    )
    assert response.refusal is None
    assert response.warnings == []


async def test_cache_tokens_are_part_of_the_input() -> None:
    write = await _generate(CASES / "prompt_cache_write_then_read_system", "0.")
    read = await _generate(CASES / "prompt_cache_write_then_read_system", "1.")
    # input_tokens on the wire: 8 and 12; the 4167 cached system tokens come on top.
    assert write.usage == Usage(
        input_tokens=8 + 4167, output_tokens=204, cache_creation_input_tokens=4167
    )
    assert read.usage == Usage(
        input_tokens=12 + 4167, output_tokens=350, cache_read_input_tokens=4167
    )
    truncated = await _generate(CASES / "max_tokens_json")
    assert truncated.usage == Usage(input_tokens=15, output_tokens=50)


async def test_parallel_tool_use_json() -> None:
    response = await _generate(CASES / "parallel_tool_use_json_then_tool_result", "0.")
    assert response.message.parts == [
        TextPart(text="I'll retrieve the secrets for both passwords you provided."),
        ToolCallPart(
            id="toolu_01BUvqBj8Yb34pNAbCJJY1oc",
            name="secret_retrieval_tool",
            arguments={"password": "mellon"},
        ),
        ToolCallPart(
            id="toolu_01VPuQJ1LonDBYXrr8pqPkqQ",
            name="secret_retrieval_tool",
            arguments={"password": "radiance"},
        ),
    ]
    assert (response.finish_reason, response.raw_finish_reason) == ("tool_calls", "tool_use")
    assert response.usage == Usage(input_tokens=416, output_tokens=109)
    assert response.response_id == "msg_018DaxGuCtuQ42XfuFiC1wxo"


@pytest.mark.parametrize("prefix", ["0.", "1."])
async def test_thinking_with_signature_json(prefix: str) -> None:
    case = CASES / "thinking_signature_json_multi_turn"
    wire = read_json(case / f"{prefix}response.json")
    thinking, text = wire["content"]
    response = await _generate(case, prefix)
    assert response.message.parts == [
        ReasoningPart(
            text=thinking["thinking"],
            signature=thinking["signature"],
            provider="anthropic",
            model="claude-sonnet-4-20250514",
        ),
        TextPart(text=text["text"]),
    ]
    assert response.finish_reason == "stop"
    assert response.usage == _usage(wire["usage"])
    assert response.usage is not None
    assert response.usage.output_tokens in (964, 391)


@pytest.mark.parametrize("prefix", ["0.", "1."])
async def test_redacted_thinking_json(prefix: str) -> None:
    case = CASES / "redacted_thinking_json_multi_turn"
    wire = read_json(case / f"{prefix}response.json")
    redacted, text = wire["content"]
    assert set(redacted) == {"type", "data"}  # no text, no signature: only opaque data
    response = await _generate(case, prefix)
    assert response.message.parts == [
        ReasoningPart(
            signature=redacted["data"], provider="anthropic", model="claude-sonnet-4-5-20250929"
        ),
        TextPart(text=text["text"]),
    ]
    assert response.usage == _usage(wire["usage"])


@pytest.mark.parametrize(
    ("case", "error", "status", "code"),
    [
        ("error_401_invalid_x_api_key", AuthenticationError, 401, "authentication_error"),
        ("error_404_model_not_found", ModelNotFoundError, 404, "not_found_error"),
        ("error_400_invalid_request_2024", BadRequestError, 400, "invalid_request_error"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_error_bodies(
    case: str, error: type[ProviderHTTPError], status: int, code: str, stream: bool
) -> None:
    wire = read_json(CASES / case / "response.json")
    body = (CASES / case / "response.json").read_bytes()
    adapter = Replay(status, body, "application/json").adapter

    async def call() -> None:
        if stream:
            [event async for event in adapter.stream(REQUEST)]
        else:
            await adapter.generate(REQUEST)

    with pytest.raises(error) as caught:
        await call()
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.code == code
    assert caught.value.body == wire
    assert wire["error"]["message"] in str(caught.value)
    if error is AuthenticationError:
        assert "ANTHROPIC_API_KEY" in str(caught.value)


# -- streams ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "prefix"),
    [
        (CASES / "text_stream_sonnet4", ""),
        (CASES / "parallel_tool_use_stream_then_tool_result", "1."),
        (CASES / "single_tool_use_stream_then_tool_result", "1."),
        (VERTEX / "claude_streamrawpredict_tool_then_result", "1."),
    ],
)
async def test_text_streams(case: Path, prefix: str) -> None:
    raw = (case / f"{prefix}response.sse").read_bytes()
    # The quirks are in the bytes: ping events, and JSON padded before its last brace.
    assert b'event: ping\ndata: {"type": "ping"}' in raw
    assert b" }\n" in raw
    payloads = _payloads(case, prefix)
    text = "".join(p["delta"]["text"] for p in payloads if p["type"] == "content_block_delta")
    events = await _stream(case, prefix)
    response = final_response(events)
    deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
    assert len(deltas) == sum(p["type"] == "content_block_delta" for p in payloads)
    assert "".join(deltas) == text == response.message.text
    assert response.message.parts == [TextPart(text=text)]
    (delta,) = [p for p in payloads if p["type"] == "message_delta"]
    assert (response.finish_reason, response.raw_finish_reason) == (
        "stop",
        delta["delta"]["stop_reason"],
    )
    assert response.usage == _stream_usage(payloads)
    message = payloads[0]["message"]
    assert (response.model_id, response.response_id) == (message["model"], message["id"])


async def test_usage_placeholder_is_never_counted() -> None:
    response = final_response(await _stream(CASES / "text_stream_sonnet4"))
    # message_start says output_tokens 1, message_delta 15: the total is 15, not 16.
    assert response.usage == Usage(input_tokens=17, output_tokens=15)


async def test_vertex_usage_keeps_the_input_of_message_start() -> None:
    case = VERTEX / "claude_streamrawpredict_tool_then_result"
    (delta,) = [p for p in _payloads(case, "0.") if p["type"] == "message_delta"]
    assert delta["usage"] == {"output_tokens": 76}  # Vertex: output only
    response = final_response(await _stream(case, "0."))
    assert response.usage == Usage(input_tokens=394, output_tokens=76)


def _fragments(payloads: list[dict[str, Any]], index: int) -> list[str]:
    return [
        p["delta"]["partial_json"]
        for p in payloads
        if p["type"] == "content_block_delta"
        and p["index"] == index
        and p["delta"]["type"] == "input_json_delta"
    ]


STREAMED_CALLS = [
    (
        CASES / "parallel_tool_use_stream_then_tool_result",
        [
            ("toolu_015cUijgET79LXjgeYQerN2h", "secret_retrieval_tool", {"password": "mellon"}),
            ("toolu_01XZTimPexA7h3EVKesnKt5T", "secret_retrieval_tool", {"password": "radiance"}),
        ],
        "I'll retrieve the secrets for both passwords you provided.",
        Usage(input_tokens=416, output_tokens=109),
    ),
    (
        CASES / "single_tool_use_stream_then_tool_result",
        [("toolu_01N2eM4V43kGCDkq2Lw7ChWQ", "weather", {"location": "Florence,Italy"})],
        "I'll get the weather information for Florence, Italy for you.",
        Usage(input_tokens=394, output_tokens=67),
    ),
    (
        VERTEX / "claude_streamrawpredict_tool_then_result",
        [("toolu_vrtx_01JhPy9eXqgjLWmUpoCiEkCs", "weather", {"location": "Florence,Italy"})],
        "I'll help you check the weather in Florence, Italy. "
        "Let me get that information for you right away.",
        Usage(input_tokens=394, output_tokens=76),
    ),
]


@pytest.mark.parametrize(("case", "calls", "text", "usage"), STREAMED_CALLS)
async def test_streamed_tool_use_reassembled(
    case: Path, calls: list[tuple[str, str, dict[str, Any]]], text: str, usage: Usage
) -> None:
    payloads = _payloads(case, "0.")
    starts = [p for p in payloads if p["type"] == "content_block_start"]
    tool_blocks = [p for p in starts if p["content_block"]["type"] == "tool_use"]
    assert all(p["content_block"]["input"] == {} for p in tool_blocks)  # input comes later
    events = await _stream(case, "0.")
    begun = [e for e in events if isinstance(e, ToolCallStartEvent)]
    assert [(e.index, e.id, e.name) for e in begun] == [
        (i, call_id, name) for i, (call_id, name, _) in enumerate(calls)
    ]
    for call_index, block in enumerate(tool_blocks):
        fragments = _fragments(payloads, block["index"])
        assert fragments[0] == ""  # sent, but carries nothing: no event for it
        streamed = [
            e.arguments_delta
            for e in events
            if isinstance(e, ToolCallDeltaEvent) and e.index == call_index
        ]
        assert streamed == fragments[1:]
    ended = [e.call for e in events if isinstance(e, ToolCallEndEvent)]
    expected = [ToolCallPart(id=i, name=n, arguments=a) for i, n, a in calls]
    assert ended == expected
    response = final_response(events)
    assert response.message.parts == [TextPart(text=text), *expected]
    assert (response.finish_reason, response.raw_finish_reason) == ("tool_calls", "tool_use")
    assert response.usage == usage == _stream_usage(payloads)


@pytest.mark.parametrize("size", [1, 5, 4096])
async def test_byte_slicing_changes_nothing(size: int) -> None:
    case = CASES / "parallel_tool_use_stream_then_tool_result"
    expected = final_response(await _stream(case, "0."))
    assert final_response(await _stream(case, "0.", slice_size=size)) == expected


def test_the_stream_reader_and_the_json_reader_agree_on_a_recorded_answer() -> None:
    """The streamed answer, folded, equals the same answer given whole (bar usage and ids)."""
    payloads = _payloads(CASES / "parallel_tool_use_stream_then_tool_result", "0.")
    reader = AnthropicStreamReader("anthropic", MODEL)
    for payload in payloads:
        reader.feed(payload)
    streamed = final_response(reader.finish())
    whole = from_anthropic_response(
        read_json(CASES / "parallel_tool_use_json_then_tool_result" / "0.response.json"),
        provider="anthropic",
        model_id=MODEL,
    )
    assert [(type(p), getattr(p, "name", None)) for p in streamed.message.parts] == [
        (type(p), getattr(p, "name", None)) for p in whole.message.parts
    ]
    assert [c.arguments for c in streamed.message.tool_calls] == [
        c.arguments for c in whole.message.tool_calls
    ]
    assert streamed.usage == whole.usage


# -- Claude on Vertex ------------------------------------------------------------------------


def test_vertex_json_answer() -> None:
    case = VERTEX / "claude_rawpredict_json"
    wire = read_json(case / "response.json")
    assert "cache_creation" not in wire["usage"]
    response = from_anthropic_response(
        wire, provider="vertex", model_id="claude-3-7-sonnet@20250219"
    )
    assert response.message.parts == [TextPart(text="Olá! Como posso ajudar você hoje?")]
    assert (response.model_id, response.response_id) == (
        "claude-3-7-sonnet-20250219",
        "msg_vrtx_011eLZnjY8pFUmGNwLPxrGHH",
    )
    assert response.finish_reason == "stop"
    assert response.usage == Usage(input_tokens=16, output_tokens=16)


# -- turn 2 requests, built from turn 1's parsed answer --------------------------------------


def _normalised(body: Any) -> Any:
    """A body with the spellings that mean the same folded together.

    A string ``content`` is one text block; ``null`` fields (``citations``,
    ``cache_control``) are absent ones; ``stream: false`` is no ``stream``.
    """
    if isinstance(body, list):
        return [_normalised(item) for item in body]
    if not isinstance(body, dict):
        return body
    out = {}
    for key, value in body.items():
        if value is None or (key == "stream" and value is False):
            continue
        if key == "content" and isinstance(value, str):
            value = [{"type": "text", "text": value}]
        out[key] = _normalised(value)
    return out


def _tools(recorded: dict[str, Any]) -> list[ToolDefinition]:
    return [
        ToolDefinition(name=t["name"], description=t["description"], input_schema=t["input_schema"])
        for t in recorded.get("tools", [])
    ]


def _system(recorded: dict[str, Any]) -> list[Message]:
    return [Message.system(block["text"]) for block in recorded.get("system", [])]


def _user(recorded: dict[str, Any], index: int = 0) -> Message:
    content = recorded["messages"][index]["content"]
    return Message.user(content if isinstance(content, str) else content[0]["text"])


@pytest.mark.parametrize(
    ("case", "stream", "secrets"),
    [
        (
            CASES / "parallel_tool_use_json_then_tool_result",
            False,
            {"mellon": "Welcome to Moria!", "radiance": "Life before Death"},
        ),
        (
            CASES / "parallel_tool_use_stream_then_tool_result",
            True,
            {"mellon": "Welcome to Moria!", "radiance": "Life before Death"},
        ),
    ],
)
async def test_parallel_tool_results_turn_matches_the_recording(
    case: Path, stream: bool, secrets: dict[str, str]
) -> None:
    first, recorded = read_json(case / "0.request.json"), read_json(case / "1.request.json")
    if stream:
        answer = final_response(await _stream(case, "0.")).message
    else:
        answer = (await _generate(case, "0.")).message
    results = [
        ToolResultPart(
            call_id=call.id,
            name=call.name,
            content=[TextPart(text=secrets[call.arguments["password"]])],
        )
        for call in answer.tool_calls
    ]
    request = ModelRequest(
        messages=[*_system(first), _user(first), answer, Message(role="tool", parts=results)],
        tools=_tools(first),
        settings=ModelSettings(max_tokens=first["max_tokens"]),
    )
    # The recording client marked the tools, the system block and the last block.
    body, warnings = to_anthropic_request(
        request, model_id=first["model"], stream=stream, cache=True
    )
    assert warnings == []
    assert _normalised(body) == _normalised(recorded)
    # ... and turn 2's recorded answer reads as the final text.
    final = final_response(await _stream(case, "1.")) if stream else await _generate(case, "1.")
    assert "Welcome to Moria!" in final.message.text


@pytest.mark.parametrize(
    ("case", "vertex"),
    [
        (CASES / "single_tool_use_stream_then_tool_result", False),
        (VERTEX / "claude_streamrawpredict_tool_then_result", True),
    ],
)
async def test_single_tool_result_turn_matches_the_recording(case: Path, vertex: bool) -> None:
    first, recorded = read_json(case / "0.request.json"), read_json(case / "1.request.json")
    answer = final_response(await _stream(case, "0.")).message
    (call,) = answer.tool_calls
    request = ModelRequest(
        messages=[
            *_system(first),
            _user(first),
            answer,
            Message(
                role="tool",
                parts=[ToolResultPart(call_id=call.id, content=[TextPart(text="40 C")])],
            ),
        ],
        tools=_tools(first),
        # The recording client sends disable_parallel_tool_use: false, i.e. parallel allowed.
        settings=ModelSettings(max_tokens=first["max_tokens"], parallel_tool_calls=True),
    )
    model = "claude-3-7-sonnet@20250219" if vertex else first["model"]
    for sent, want in (
        (
            ModelRequest(
                messages=request.messages[:2], tools=request.tools, settings=request.settings
            ),
            first,
        ),
        (request, recorded),
    ):
        body, warnings = to_anthropic_request(
            sent,
            model_id=model,
            stream=True,
            include_model=not vertex,
            anthropic_version=VERTEX_ANTHROPIC_VERSION if vertex else None,
        )
        assert warnings == []
        assert _normalised(body) == _normalised(want)
    if vertex:
        assert "model" not in body
        assert body["anthropic_version"] == "vertex-2023-10-16"


def test_vertex_json_request_matches_the_recording() -> None:
    recorded = read_json(VERTEX / "claude_rawpredict_json" / "request.json")
    request = ModelRequest(
        messages=[*_system(recorded), _user(recorded)],
        settings=ModelSettings(max_tokens=recorded["max_tokens"]),
    )
    body, _ = to_anthropic_request(
        request,
        model_id="claude-3-7-sonnet@20250219",
        stream=False,
        include_model=False,
        anthropic_version=VERTEX_ANTHROPIC_VERSION,
    )
    assert _normalised(body) == _normalised(recorded)


@pytest.mark.parametrize(
    ("case", "cache"),
    [
        (CASES / "thinking_signature_json_multi_turn", True),
        (CASES / "redacted_thinking_json_multi_turn", False),
    ],
)
async def test_thinking_goes_back_unchanged_in_the_next_turn(case: Path, cache: bool) -> None:
    first, recorded = read_json(case / "0.request.json"), read_json(case / "1.request.json")
    answer = (await _generate(case, "0.")).message
    request = ModelRequest(
        messages=[_user(first), answer, _user(recorded, 2)],
        # budget_tokens 1024 in the recorded follow-up is agentkit's "minimal".
        settings=ModelSettings(max_tokens=recorded["max_tokens"], reasoning_effort="minimal"),
    )
    body, warnings = to_anthropic_request(
        request, model_id=recorded["model"], stream=False, cache=cache
    )
    assert warnings == []
    assert _normalised(body) == _normalised(recorded)
    # The block is the recorded one, byte for byte: signature or opaque data untouched.
    assert body["messages"][1]["content"][0] == read_json(case / "0.response.json")["content"][0]


async def test_cached_system_prompt_requests_match_the_recording() -> None:
    case = CASES / "prompt_cache_write_then_read_system"
    for prefix in ("0.", "1."):
        recorded = read_json(case / f"{prefix}request.json")
        request = ModelRequest(
            messages=[*_system(recorded), _user(recorded)],
            settings=ModelSettings(max_tokens=recorded["max_tokens"]),
        )
        body, _ = to_anthropic_request(
            request, model_id=recorded["model"], stream=False, cache=True
        )
        assert body["system"] == recorded["system"]  # cache_control on the system block
        # This recording marked only the system block; agentkit also marks the last message.
        (block,) = body["messages"][0]["content"]
        assert block.pop("cache_control") == {"type": "ephemeral"}
        assert _normalised(body) == _normalised(recorded)


async def test_recorded_cache_usage_is_priced_with_cache_write_and_read_rates() -> None:
    """genai-prices knows provider ``anthropic`` by our name, cache writes included."""
    case = CASES / "prompt_cache_write_then_read_system"
    write = (await _generate(case, "0.")).usage
    read = (await _generate(case, "1.")).usage
    assert write is not None
    assert read is not None
    model = "anthropic:claude-sonnet-4-20250514"
    # Sonnet 4, dollars per million: input 3, cache write 3.75, cache read 0.30, output 15.
    assert price_usage(model, write).cost_usd == pytest.approx(
        (8 * 3 + 4167 * 3.75 + 204 * 15) / 1e6
    )
    assert price_usage(model, read).cost_usd == pytest.approx(
        (12 * 3 + 4167 * 0.3 + 350 * 15) / 1e6
    )
