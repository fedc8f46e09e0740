"""The pure OpenAI Chat parsing functions: literal wire input, literal neutral output."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agentkit_adapters.openai import (
    OpenAIChunkReader,
    from_openai_response,
    from_openai_usage,
    map_openai_finish_reason,
)

from agentkit import Message, ReasoningPart, ResponseEndEvent, TextPart, ToolCallPart, Usage
from agentkit.exceptions import AuthenticationError, ServerError, UnexpectedResponseError

# -- finish reasons and usage ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("content_filter", "content_filter"),
        ("eos", "stop"),
        ("something_new", "other"),
        (None, "other"),
    ],
)
def test_map_openai_finish_reason(raw: str | None, normal: str) -> None:
    assert map_openai_finish_reason(raw) == normal


@pytest.mark.parametrize(
    ("wire", "usage"),
    [
        (
            {
                "prompt_tokens": 100,
                "completion_tokens": 60,
                "total_tokens": 160,
                "prompt_tokens_details": {"cached_tokens": 80, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 40},
            },
            Usage(
                input_tokens=100,
                output_tokens=60,
                cache_read_input_tokens=80,
                reasoning_output_tokens=40,
            ),
        ),
        (
            {"prompt_tokens": 3, "completion_tokens": 4, "prompt_tokens_details": None},
            Usage(input_tokens=3, output_tokens=4),
        ),
        # Together: cached_tokens at the top level of usage.
        ({"prompt_tokens": 9, "completion_tokens": 1, "cached_tokens": 5}, None),
        # DeepSeek: prompt_cache_hit_tokens.
        ({"prompt_tokens": 9, "completion_tokens": 1, "prompt_cache_hit_tokens": 5}, None),
        # xAI: reasoning outside completion_tokens (total = prompt + completion + reasoning).
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 2,
                "total_tokens": 17,
                "completion_tokens_details": {"reasoning_tokens": 5},
            },
            Usage(input_tokens=10, output_tokens=7, reasoning_output_tokens=5),
        ),
        ({"prompt_tokens": None, "completion_tokens": None}, Usage()),
    ],
)
def test_from_openai_usage(wire: dict[str, Any], usage: Usage | None) -> None:
    expected = usage or Usage(input_tokens=9, output_tokens=1, cache_read_input_tokens=5)
    assert from_openai_usage(wire) == expected


def test_no_usage_is_none() -> None:
    assert from_openai_usage(None) is None


# -- whole responses -------------------------------------------------------------------------


def test_from_openai_response_minimal() -> None:
    body = {
        "id": "chatcmpl-1",
        "model": "gpt-x-2025",
        "choices": [{"message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
    }
    response = from_openai_response(body, provider="openai", model_id="gpt-x")
    assert response.message == Message.assistant("Hi.")
    assert (response.finish_reason, response.raw_finish_reason) == ("stop", "stop")
    assert (response.model_id, response.response_id, response.usage) == (
        "gpt-x-2025",
        "chatcmpl-1",
        None,
    )


def test_from_openai_response_lax_hosts() -> None:
    # No tool-call id, arguments as an object, finish "stop" beside a call, content parts.
    body = {
        "choices": [
            {
                "message": {
                    "content": [{"type": "text", "text": "ok"}],
                    "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}],
                },
                "finish_reason": "stop",
            }
        ]
    }
    response = from_openai_response(body, provider="p", model_id="m")
    assert response.message.parts == [
        TextPart(text="ok"),
        ToolCallPart(id="call_x_0", name="f", arguments={"a": 1}),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.raw_finish_reason == "stop"


def test_from_openai_response_error_and_malformed_bodies() -> None:
    with pytest.raises(AuthenticationError):
        from_openai_response(
            {"error": {"message": "bad key", "code": "invalid_api_key"}}, provider="p", model_id="m"
        )
    bodies: list[Any] = [{"choices": []}, [], {"choices": [{"delta": {}}]}]
    for body in bodies:
        with pytest.raises(UnexpectedResponseError):
            from_openai_response(body, provider="p", model_id="m")


# -- stream chunks ---------------------------------------------------------------------------


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "model": "m-1",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    } | extra


def test_chunk_reader_folds_text_reasoning_refusal_and_calls() -> None:
    reader = OpenAIChunkReader("p", "m")
    events = []
    for chunk in [
        _chunk({"role": "assistant", "reasoning_content": "think"}),
        _chunk({"content": "Hel"}),
        _chunk({"content": "lo"}),
        _chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "call_a", "function": {"name": "f", "arguments": ""}}
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x"'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
        # No index at all (some local servers): an id opens the next call.
        _chunk({"tool_calls": [{"id": "call_b", "function": {"name": "g", "arguments": "{}"}}]}),
        _chunk({}, "tool_calls"),
        {"id": "c1", "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 3}},
    ]:
        events += reader.feed(chunk)
    events += reader.finish(done=True)
    assert [e.type for e in events] == [
        "response_start",
        "reasoning_delta",
        "text_delta",
        "text_delta",
        "tool_call_start",
        "tool_call_delta",
        "tool_call_delta",
        "tool_call_start",
        "tool_call_delta",
        "tool_call_end",
        "tool_call_end",
        "response_end",
    ]
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    assert end.response.message.parts == [
        ReasoningPart(text="think", provider="p", model="m-1"),
        TextPart(text="Hello"),
        ToolCallPart(id="call_a", name="f", arguments={"x": 1}),
        ToolCallPart(id="call_b", name="g", arguments={}),
    ]
    assert end.response.usage == Usage(input_tokens=2, output_tokens=3)
    assert (end.response.finish_reason, end.response.model_id) == ("tool_calls", "m-1")


def test_chunk_reader_refusal_and_errors() -> None:
    reader = OpenAIChunkReader("p", "m")
    reader.feed(_chunk({"content": None, "refusal": "I can't"}))
    reader.feed(_chunk({"refusal": " help."}, "stop"))
    (end,) = reader.finish(done=False)  # a finish_reason makes [DONE] optional
    assert isinstance(end, ResponseEndEvent)
    assert end.response.refusal == "I can't help."
    assert end.response.finish_reason == "stop"

    with pytest.raises(ServerError):
        OpenAIChunkReader("p", "m").feed({"error": {"message": "overloaded"}})
    cut = OpenAIChunkReader("p", "m")
    cut.feed(_chunk({"content": "par"}))
    with pytest.raises(UnexpectedResponseError, match="before the answer was complete"):
        cut.finish(done=False)
    with pytest.raises(UnexpectedResponseError, match="empty"):
        OpenAIChunkReader("p", "m").finish(done=True)


def test_a_count_too_large_for_an_int_counts_as_zero() -> None:
    # json.loads reads 1e999 as inf, and int(inf) raises OverflowError.
    usage = from_openai_usage({"prompt_tokens": json.loads("1e999"), "completion_tokens": 3})
    assert usage == Usage(input_tokens=0, output_tokens=3)
