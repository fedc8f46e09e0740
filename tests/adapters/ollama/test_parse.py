"""The pure Ollama answer parsing: literal wire input, literal neutral output."""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.ollama import (
    OllamaChunkReader,
    from_ollama_response,
    from_ollama_usage,
    map_ollama_error,
    map_ollama_finish_reason,
    ollama_call_id,
)

from agentkit import (
    ReasoningDeltaEvent,
    ReasoningPart,
    ResponseEndEvent,
    StreamEvent,
    TextDeltaEvent,
    TextPart,
    ToolCallPart,
    Usage,
)
from agentkit.exceptions import (
    AuthenticationError,
    BadRequestError,
    ModelNotFoundError,
    ServerError,
    UnexpectedResponseError,
    UnsupportedFeatureError,
)

T0 = "2025-07-07T20:22:19.184789Z"


def _answer(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    final = {"done": True, "done_reason": "stop", "prompt_eval_count": 10, "eval_count": 5}
    return {"model": "qwen3:8b", "created_at": T0, "message": message, **final, **extra}


def _parse(body: Any) -> Any:
    return from_ollama_response(body, provider="ollama", model_id="asked")


def test_thinking_text_and_calls_in_that_order() -> None:
    response = _parse(
        _answer(
            {
                "role": "assistant",
                "content": "Let me check.",
                "thinking": "Paris, then Rome.",
                "tool_calls": [
                    {"id": "call_ab12cd34", "function": {"name": "weather", "arguments": {"c": 1}}},
                    {"function": {"name": "weather", "arguments": {"c": 2}}},
                ],
            }
        )
    )
    assert response.message.parts == [
        ReasoningPart(text="Paris, then Rome.", provider="ollama", model="qwen3:8b"),
        TextPart(text="Let me check."),
        ToolCallPart(id="call_ab12cd34", name="weather", arguments={"c": 1}),
        ToolCallPart(
            id=ollama_call_id(1, "weather", {"c": 2}, T0), name="weather", arguments={"c": 2}
        ),
    ]
    # done_reason "stop" with calls is a tool call.
    assert (response.finish_reason, response.raw_finish_reason) == ("tool_calls", "stop")
    assert response.usage == Usage(input_tokens=10, output_tokens=5)
    assert (response.provider, response.model_id, response.response_id) == (
        "ollama",
        "qwen3:8b",
        None,
    )


def test_generated_ids_are_stable_and_differ_by_answer() -> None:
    first = ollama_call_id(0, "weather", {"city": "Paris"}, T0)
    assert first == ollama_call_id(0, "weather", {"city": "Paris"}, T0)
    assert first.startswith("call_")
    assert first != ollama_call_id(0, "weather", {"city": "Paris"}, "2025-07-07T20:22:20Z")
    assert first != ollama_call_id(1, "weather", {"city": "Paris"}, T0)


@pytest.mark.parametrize(
    ("raw", "calls", "expected"),
    [
        ("stop", False, "stop"),
        ("stop", True, "tool_calls"),
        ("length", True, "length"),
        (None, False, "stop"),
        (None, True, "tool_calls"),
        ("load", False, "other"),
        ("unload", False, "other"),
        ("surprise", False, "other"),
    ],
)
def test_finish_reasons(raw: str | None, calls: bool, expected: str) -> None:
    assert map_ollama_finish_reason(raw, has_tool_calls=calls) == expected


def test_arguments_that_are_not_an_object_are_kept_as_text() -> None:
    response = _parse(
        _answer(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": "c1", "function": {"name": "f", "arguments": "{bad"}},
                    {"id": "c2", "function": {"name": "g", "arguments": [1, 2]}},
                    {"id": "c3", "function": {"name": "h"}},
                ],
            }
        )
    )
    assert response.message.parts == [
        ToolCallPart(id="c1", name="f", raw_arguments="{bad"),
        ToolCallPart(id="c2", name="g", raw_arguments="[1, 2]"),
        ToolCallPart(id="c3", name="h"),
    ]


def test_usage_tolerates_a_cached_prompt_and_missing_counts() -> None:
    assert from_ollama_usage({"eval_count": 3}) == Usage(input_tokens=0, output_tokens=3)
    assert from_ollama_usage({"done": True}) is None
    assert from_ollama_usage({"prompt_eval_count": "7", "eval_count": None}) == Usage(
        input_tokens=7
    )


@pytest.mark.parametrize(
    "body", [[], {"model": "x", "done": True}, {"message": {"tool_calls": ["not a call"]}}]
)
def test_malformed_answers(body: Any) -> None:
    with pytest.raises(UnexpectedResponseError):
        _parse(body)


def test_an_error_body_with_status_200_is_an_error() -> None:
    with pytest.raises(ServerError) as info:
        _parse({"error": "llama runner process has terminated: signal: killed"})
    assert info.value.status_code == 200
    assert "llama runner process has terminated" in str(info.value)


# -- errors ----------------------------------------------------------------------------------


def test_unknown_model_says_how_to_pull_it() -> None:
    error = map_ollama_error(
        "ollama", "llama9", 404, {}, b'{"error":"model \'llama9\' not found"}', base_url="http://h"
    )
    assert isinstance(error, ModelNotFoundError)
    assert error.status_code == 404
    assert error.body == {"error": "model 'llama9' not found"}
    assert "ollama pull llama9" in str(error)
    assert "http://h" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "registry.ollama.ai/library/gemma3:1b does not support tools",
        '"gemma3:1b" does not support thinking',
    ],
)
def test_missing_model_abilities_are_unsupported_features(text: str) -> None:
    error = map_ollama_error("ollama", "gemma3:1b", 400, {}, {"error": text})
    assert isinstance(error, UnsupportedFeatureError)
    assert text in str(error)
    assert isinstance(error.__cause__, BadRequestError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (401, AuthenticationError), (500, ServerError), (502, ServerError)],
)
def test_other_errors_use_the_shared_mapping(status: int, cls: type[Exception]) -> None:
    error = map_ollama_error("ollama", "m", status, {}, {"error": "nope"})
    assert type(error) is cls


# -- the stream reader -----------------------------------------------------------------------


def _line(**message: Any) -> dict[str, Any]:
    return {"model": "qwen3:8b", "created_at": T0, "message": {"role": "assistant", **message}}


def _fold(*lines: dict[str, Any]) -> list[StreamEvent]:
    reader = OllamaChunkReader("ollama", "asked")
    events: list[StreamEvent] = []
    for line in lines:
        events += reader.feed(line)
    return events + reader.finish()


def test_thinking_then_text_fragments() -> None:
    events = _fold(
        _line(content="", thinking="Hmm"),
        _line(content="", thinking=", ok."),
        _line(content="Hi"),
        _line(content=" there"),
        {**_line(content=""), "done": True, "done_reason": "length", "eval_count": 4},
    )
    assert [type(e).__name__ for e in events] == [
        "ResponseStartEvent",
        "ReasoningDeltaEvent",
        "ReasoningDeltaEvent",
        "TextDeltaEvent",
        "TextDeltaEvent",
        "ResponseEndEvent",
    ]
    assert "".join(e.text for e in events if isinstance(e, ReasoningDeltaEvent)) == "Hmm, ok."
    assert "".join(e.text for e in events if isinstance(e, TextDeltaEvent)) == "Hi there"
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    assert end.response.message.parts == [
        ReasoningPart(text="Hmm, ok.", provider="ollama", model="qwen3:8b"),
        TextPart(text="Hi there"),
    ]
    assert end.response.finish_reason == "length"
    assert end.response.usage == Usage(input_tokens=0, output_tokens=4)


def test_calls_across_lines_get_running_indexes() -> None:
    events = _fold(
        _line(content="", tool_calls=[{"function": {"name": "a", "arguments": {}}}]),
        _line(content="", tool_calls=[{"id": "x", "function": {"name": "b", "arguments": {}}}]),
        {**_line(content=""), "done": True, "done_reason": "stop"},
    )
    starts = [(e.index, e.name) for e in events if e.type == "tool_call_start"]
    assert starts == [(0, "a"), (1, "b")]
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    assert [c.id for c in end.response.message.tool_calls][1] == "x"
    assert end.response.finish_reason == "tool_calls"


def test_an_error_line_mid_stream_raises() -> None:
    reader = OllamaChunkReader("ollama", "asked")
    reader.feed(_line(content="Hel"))
    with pytest.raises(ServerError) as info:
        reader.feed({"error": "an error was encountered while running the model"})
    assert info.value.status_code == 200


@pytest.mark.parametrize("lines", [[], [_line(content="Hel")]])
def test_a_stream_without_its_final_object_is_cut_short(lines: list[dict[str, Any]]) -> None:
    reader = OllamaChunkReader("ollama", "asked")
    for line in lines:
        reader.feed(line)
    with pytest.raises(UnexpectedResponseError, match=r"empty|done:true"):
        reader.finish()


def test_a_count_too_large_for_an_int_counts_as_zero() -> None:
    # json.loads reads 1e999 as inf, and int(inf) raises OverflowError.
    assert from_ollama_usage({"prompt_eval_count": float("inf"), "eval_count": 2}) == Usage(
        input_tokens=0, output_tokens=2
    )
