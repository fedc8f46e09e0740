"""The answer readers on literal payloads: what the recordings do not show."""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.anthropic import (
    AnthropicStreamReader,
    from_anthropic_response,
    from_anthropic_usage,
    map_anthropic_error,
    map_anthropic_stop_reason,
)

from agentkit import ReasoningDeltaEvent, ReasoningPart, ResponseEndEvent, TextPart, Usage
from agentkit._policy import is_retryable
from agentkit.exceptions import (
    BadRequestError,
    ContextLengthError,
    ProviderHTTPError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)

MODEL = "claude-sonnet-4-5"
START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "model": "claude-sonnet-4-5-20250929",
        "content": [],
        "usage": {"input_tokens": 10, "output_tokens": 1},
    },
}
END = [
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}},
    {"type": "message_stop"},
]


def _start(index: int, **block: Any) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, **delta: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def _fold(payloads: list[dict[str, Any]]) -> tuple[list[Any], Any]:
    reader = AnthropicStreamReader("anthropic", MODEL)
    events = [e for p in payloads for e in reader.feed(p)]
    events += reader.finish()
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    return events, end.response


def test_streamed_thinking_and_redacted_thinking() -> None:
    events, response = _fold(
        [
            START,
            _start(0, type="thinking", thinking="", signature=""),
            _delta(0, type="thinking_delta", thinking="Let me "),
            _delta(0, type="thinking_delta", thinking="think."),
            _delta(0, type="signature_delta", signature="EqQB"),
            _stop(0),
            _start(1, type="redacted_thinking", data="EmwK"),
            _stop(1),
            _start(2, type="text", text=""),
            _delta(2, type="text_delta", text="42"),
            _stop(2),
            *END,
        ]
    )
    assert [e.text for e in events if isinstance(e, ReasoningDeltaEvent)] == ["Let me ", "think."]
    stamp = {"provider": "anthropic", "model": "claude-sonnet-4-5-20250929"}
    assert response.message.parts == [
        ReasoningPart(text="Let me think.", signature="EqQB", **stamp),
        ReasoningPart(signature="EmwK", **stamp),
        TextPart(text="42"),
    ]
    assert response.usage == Usage(input_tokens=10, output_tokens=9)


def test_blocks_agentkit_does_not_read_are_left_out_with_a_warning() -> None:
    response = from_anthropic_response(
        {
            "id": "msg_2",
            "type": "message",
            "model": MODEL,
            "content": [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {
                    "type": "text",
                    "text": "Found it.",
                    "citations": [{"type": "web_search_result_location"}],
                },
            ],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 3, "output_tokens": 4},
        },
        provider="anthropic",
        model_id=MODEL,
    )
    assert response.message.parts == [TextPart(text="Found it.")]
    assert [w.feature for w in response.warnings] == [
        "server_tool_use",
        "web_search_tool_result",
        "citations",
    ]


def test_a_tool_without_arguments_and_a_whole_input() -> None:
    response = from_anthropic_response(
        {
            "id": "msg_3",
            "model": MODEL,
            "content": [
                {"type": "tool_use", "id": "toolu_a", "name": "clock", "input": {}},
                {"type": "tool_use", "id": "toolu_b", "name": "add", "input": {"a": 1, "b": [2]}},
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 3, "output_tokens": 4},
        },
        provider="anthropic",
        model_id=MODEL,
    )
    assert [(c.id, c.arguments) for c in response.message.tool_calls] == [
        ("toolu_a", {}),
        ("toolu_b", {"a": 1, "b": [2]}),
    ]
    assert response.finish_reason == "tool_calls"


def test_invalid_streamed_arguments_are_kept_verbatim() -> None:
    _, response = _fold(
        [
            START,
            _start(0, type="tool_use", id="toolu_x", name="f", input={}),
            _delta(0, type="input_json_delta", partial_json='{"a": '),
            _stop(0),
            *END,
        ]
    )
    (call,) = response.message.tool_calls
    assert (call.arguments, call.raw_arguments) == ({}, '{"a": ')


@pytest.mark.parametrize(
    ("error_type", "cls"),
    [
        ("overloaded_error", ServerError),
        ("rate_limit_error", RateLimitError),
        ("api_error", ServerError),
    ],
)
def test_an_error_event_inside_a_200_stream(error_type: str, cls: type[ProviderHTTPError]) -> None:
    reader = AnthropicStreamReader("anthropic", MODEL)
    reader.feed(START)
    event = {"type": "error", "error": {"type": error_type, "message": "Overloaded"}}
    with pytest.raises(cls) as caught:
        reader.feed(event)
    assert type(caught.value) is cls
    assert caught.value.status_code == 200
    assert caught.value.code == error_type
    assert is_retryable(caught.value)


def test_an_error_body_with_status_200() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with pytest.raises(ServerError, match="Overloaded"):
        from_anthropic_response(body, provider="anthropic", model_id=MODEL)


@pytest.mark.parametrize(
    ("payloads", "match"),
    [
        ([], "was empty"),
        ([START, _start(0, type="text", text="Hi")], "cut short"),
    ],
)
def test_a_stream_cut_short(payloads: list[dict[str, Any]], match: str) -> None:
    reader = AnthropicStreamReader("anthropic", MODEL)
    for payload in payloads:
        reader.feed(payload)
    with pytest.raises(UnexpectedResponseError, match=match):
        reader.finish()


def test_events_before_message_start_are_refused() -> None:
    with pytest.raises(UnexpectedResponseError, match="message_start"):
        AnthropicStreamReader("anthropic", MODEL).feed({"type": "content_block_stop", "index": 0})


def test_ping_and_unknown_events_are_ignored() -> None:
    _, response = _fold([START, {"type": "ping"}, {"type": "brand_new_event", "x": 1}, *END])
    assert response.message.parts == []
    assert response.warnings == []


@pytest.mark.parametrize(
    ("raw", "calls", "reason"),
    [
        ("end_turn", False, "stop"),
        ("stop_sequence", False, "stop"),
        ("max_tokens", False, "length"),
        ("model_context_window_exceeded", False, "length"),
        ("tool_use", True, "tool_calls"),
        ("end_turn", True, "tool_calls"),
        ("refusal", False, "content_filter"),
        ("pause_turn", False, "other"),
        ("something_new", False, "other"),
        (None, False, "other"),
    ],
)
def test_stop_reasons(raw: str | None, calls: bool, reason: str) -> None:
    assert map_anthropic_stop_reason(raw, has_tool_calls=calls) == reason


def test_usage() -> None:
    assert from_anthropic_usage(None) is None
    assert from_anthropic_usage({}) is None
    wire = {
        "input_tokens": 5,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 1000,
        "output_tokens": 7,
    }
    assert from_anthropic_usage(wire) == Usage(
        input_tokens=1105,
        output_tokens=7,
        cache_creation_input_tokens=100,
        cache_read_input_tokens=1000,
    )


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Any:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}
    return map_anthropic_error("anthropic", MODEL, status, headers or {}, body)


def test_error_statuses() -> None:
    overloaded = _error(529, "overloaded_error", "Overloaded")
    assert type(overloaded) is ServerError
    assert is_retryable(overloaded)
    limited = _error(429, "rate_limit_error", "slow down", {"retry-after": "7"})
    assert type(limited) is RateLimitError
    assert limited.retry_after == 7.0
    too_long = _error(
        400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"
    )
    assert type(too_long) is ContextLengthError
    assert "210000 tokens" in str(too_long)
    other = _error(400, "invalid_request_error", "max_tokens: must be positive")
    assert type(other) is BadRequestError
