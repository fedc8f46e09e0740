"""The pure Responses answer parsing on hand-written payloads: the edges recordings miss."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from agentkit_adapters.openai_responses import (
    OpenAIResponsesAdapter,
    ResponsesEventReader,
    from_responses_response,
    from_responses_usage,
    map_responses_status,
)

from agentkit import (
    Message,
    ModelRequest,
    ModelResponse,
    ReasoningDeltaEvent,
    ReasoningPart,
    ResponseEndEvent,
    StreamEvent,
    TextDeltaEvent,
    TextPart,
    ToolCallDeltaEvent,
    ToolCallPart,
    Usage,
)
from agentkit._schema_compile import compile_for_openai
from agentkit.exceptions import (
    ProviderHTTPError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)

CREATED = {"type": "response.created", "response": {"id": "resp_1", "model": "gpt-x"}}
COMPLETED = {"type": "response.completed", "response": {"status": "completed", "usage": None}}


def _read(*payloads: dict[str, Any], **kwargs: Any) -> list[StreamEvent]:
    reader = ResponsesEventReader("openai", "gpt-x", **kwargs)
    events: list[StreamEvent] = []
    for payload in payloads:
        events += reader.feed(payload)
    return events + reader.finish()


def _end(events: list[StreamEvent]) -> ModelResponse:
    assert isinstance(events[-1], ResponseEndEvent)
    return events[-1].response


def _done(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


@pytest.mark.parametrize(
    ("status", "reason", "calls", "refused", "expected"),
    [
        ("completed", None, False, False, "stop"),
        ("completed", None, True, False, "tool_calls"),
        ("completed", None, False, True, "refusal"),
        ("incomplete", "max_output_tokens", False, False, "length"),
        ("incomplete", "content_filter", False, False, "content_filter"),
        ("incomplete", "something_new", False, False, "other"),
        ("cancelled", None, False, False, "other"),
    ],
)
def test_status_mapping(
    status: str, reason: str | None, calls: bool, refused: bool, expected: str
) -> None:
    assert map_responses_status(status, reason, has_tool_calls=calls, refused=refused) == expected


def test_usage_tolerates_missing_details() -> None:
    assert from_responses_usage(None) is None
    assert from_responses_usage({"input_tokens": 3, "output_tokens": None}) == Usage(input_tokens=3)
    assert from_responses_usage(
        {"input_tokens": 10, "output_tokens": 4, "input_tokens_details": {"cached_tokens": 8}}
    ) == Usage(input_tokens=10, output_tokens=4, cache_read_input_tokens=8)


def test_whole_items_without_deltas_still_make_events() -> None:
    call = {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a": 1}'}
    message = {"type": "message", "content": [{"type": "output_text", "text": "Hi."}]}
    events = _read(CREATED, _done(0, message), _done(1, call), COMPLETED)
    assert [e.text for e in events if isinstance(e, TextDeltaEvent)] == ["Hi."]
    assert [e.arguments_delta for e in events if isinstance(e, ToolCallDeltaEvent)] == ['{"a": 1}']
    response = _end(events)
    assert response.message.parts == [
        TextPart(text="Hi."),
        ToolCallPart(id="call_1", name="f", arguments={"a": 1}),
    ]
    assert (response.response_id, response.model_id) == ("resp_1", "gpt-x")


def test_reasoning_summary_parts_stream_and_keep_their_signature() -> None:
    def delta(part: int, text: str) -> dict[str, Any]:
        event = {"type": "response.reasoning_summary_text.delta", "output_index": 0}
        return event | {"summary_index": part, "delta": text}

    item = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [
            {"type": "summary_text", "text": "One."},
            {"type": "summary_text", "text": "Two."},
        ],
        "encrypted_content": "gAAAA",
    }
    events = _read(
        CREATED, delta(0, "On"), delta(0, "e."), delta(1, "Two."), _done(0, item), COMPLETED
    )
    streamed = "".join(e.text for e in events if isinstance(e, ReasoningDeltaEvent))
    (part,) = _end(events).message.parts
    assert part == ReasoningPart(
        text="One.\n\nTwo.", signature="gAAAA", id="rs_1", provider="openai", model="gpt-x"
    )
    assert streamed == part.text


def test_strict_nulls_are_stripped_when_parsing_whole_responses() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    compiled = compile_for_openai(schema)
    call = {"type": "function_call", "call_id": "c", "name": "f", "arguments": '{"a":"x","b":null}'}
    body = {"status": "completed", "output": [call]}
    stripped = from_responses_response(
        body, provider="openai", model_id="m", schemas={"f": compiled}
    )
    kept = from_responses_response(body, provider="openai", model_id="m")
    assert stripped.message.tool_calls[0].arguments == {"a": "x"}
    assert kept.message.tool_calls[0].arguments == {"a": "x", "b": None}


def test_invalid_arguments_are_kept_raw() -> None:
    call = {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{oops"}
    for response in (
        from_responses_response(
            {"status": "completed", "output": [call]}, provider="p", model_id="m"
        ),
        _end(_read(CREATED, _done(0, call), COMPLETED)),
    ):
        assert response.message.tool_calls == [
            ToolCallPart(id="c", name="f", raw_arguments="{oops")
        ]


def test_unknown_output_items_are_reported_not_dropped_silently() -> None:
    search = {"type": "web_search_call", "id": "ws_1", "status": "completed"}
    body = {"status": "completed", "output": [search]}
    whole = from_responses_response(body, provider="openai", model_id="m")
    streamed = _end(_read(CREATED, _done(0, search), COMPLETED))
    for response in (whole, streamed):
        assert [(w.kind, w.feature) for w in response.warnings] == [
            ("unsupported_feature", "web_search_call")
        ]


FLAT = {"type": "error", "code": "server_error", "message": "boom", "param": None}
NESTED = {"type": "error", "error": {"code": "rate_limit_exceeded", "message": "slow"}}
FAILED = {"type": "response.failed", "response": {"status": "failed", "error": None}}


@pytest.mark.parametrize(
    ("event", "cls", "code"),
    [
        # OpenAI's reference documents the error event flat ...
        (FLAT, ServerError, "server_error"),
        # ... the recording nests it (stream_error_insufficient_quota).
        (NESTED, RateLimitError, "rate_limit_exceeded"),
        (FAILED, ServerError, None),
    ],
)
def test_errors_inside_a_stream(event: dict[str, Any], cls: type, code: str | None) -> None:
    reader = ResponsesEventReader("openai", "gpt-x")
    reader.feed(CREATED)
    with pytest.raises(cls) as info:
        reader.feed(event)
    assert isinstance(info.value, ProviderHTTPError)
    assert (info.value.status_code, info.value.code) == (200, code)


def test_a_failed_whole_response_raises() -> None:
    body = {"status": "failed", "error": {"code": "server_error", "message": "oops"}, "output": []}
    with pytest.raises(ServerError, match="oops"):
        from_responses_response(body, provider="openai", model_id="m")


@pytest.mark.parametrize(
    "payloads", [[], [CREATED], [CREATED, {"type": "response.output_text.delta", "delta": "Hi"}]]
)
def test_a_stream_without_its_terminal_event_is_cut_short(payloads: list[dict[str, Any]]) -> None:
    with pytest.raises(UnexpectedResponseError, match="stream"):
        _read(*payloads)


def _mock(status: int, body: bytes, content_type: str) -> OpenAIResponsesAdapter:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, content=body)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return OpenAIResponsesAdapter("m", api_key="k", client=client)


REQUEST = ModelRequest(messages=[Message.user("hi")])


@pytest.mark.anyio
async def test_a_server_that_ignores_stream_is_replayed_as_events() -> None:
    body = {
        "id": "r",
        "status": "completed",
        "output": [{"type": "message", "content": [{"type": "output_text", "text": "Whole."}]}],
    }
    events = [
        e async for e in _mock(200, json.dumps(body).encode(), "application/json").stream(REQUEST)
    ]
    assert [e.text for e in events if isinstance(e, TextDeltaEvent)] == ["Whole."]
    assert _end(events).message.text == "Whole."


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "content_type", "match"),
    [
        (b"<html>", "application/json", "not JSON"),
        (b'"text"', "application/json", "expected a response object"),
        (b"data: {oops\n\n", "text/event-stream", "not JSON"),
        (b"data: [1]\n\n", "text/event-stream", "not an object"),
    ],
)
async def test_malformed_bodies(body: bytes, content_type: str, match: str) -> None:
    adapter = _mock(200, body, content_type)
    with pytest.raises(UnexpectedResponseError, match=match):
        await _drain(adapter, streaming=content_type != "application/json")


async def _drain(adapter: OpenAIResponsesAdapter, streaming: bool) -> None:
    if not streaming:
        await adapter.generate(REQUEST)
        return
    async for _ in adapter.stream(REQUEST):
        pass


@pytest.mark.anyio
async def test_events_after_the_terminal_one_are_ignored() -> None:
    lines: list[dict[str, Any]] = [
        CREATED,
        {"type": "response.output_text.delta", "delta": "A"},
        COMPLETED,
    ]
    lines.append({"type": "response.output_text.delta", "delta": "late"})
    body = "".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n" for p in lines).encode()
    events = [e async for e in _mock(200, body, "text/event-stream").stream(REQUEST)]
    assert _end(events).message.text == "A"
