"""Gemini JSON -> neutral types, for shapes the recordings do not hold: literal bodies."""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.gemini import (
    GeminiChunkReader,
    from_gemini_response,
    from_gemini_usage,
    map_gemini_finish_reason,
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
from agentkit.exceptions import ContentFilterError, RateLimitError, UnexpectedResponseError

MODEL = "gemini-3-flash-preview"


def _candidate(parts: list[dict[str, Any]], finish: str | None = "STOP") -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "responseId": "r1", "modelVersion": MODEL}


def _read(*chunks: dict[str, Any]) -> list[StreamEvent]:
    reader = GeminiChunkReader("gemini", MODEL)
    events: list[StreamEvent] = []
    for chunk in chunks:
        events += reader.feed(chunk)
    return events + reader.finish()


def _parts(events: list[StreamEvent]) -> list[Any]:
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    return list(end.response.message.parts)


@pytest.mark.parametrize(
    ("raw", "calls", "expected"),
    [
        ("STOP", False, "stop"),
        ("STOP", True, "tool_calls"),
        ("MAX_TOKENS", True, "length"),
        ("SAFETY", False, "content_filter"),
        ("RECITATION", False, "content_filter"),
        ("PROHIBITED_CONTENT", False, "content_filter"),
        ("BLOCKLIST", False, "content_filter"),
        ("SPII", False, "content_filter"),
        ("MALFORMED_FUNCTION_CALL", False, "error"),
        ("LANGUAGE", False, "other"),
        ("OTHER", False, "other"),
        ("SOMETHING_NEW", False, "other"),
        (None, False, "other"),
    ],
)
def test_finish_reasons(raw: str | None, calls: bool, expected: str) -> None:
    assert map_gemini_finish_reason(raw, has_tool_calls=calls) == expected


def test_usage_with_cached_and_tool_use_tokens() -> None:
    wire = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 800,
        "toolUsePromptTokenCount": 20,
        "candidatesTokenCount": 30,
        "thoughtsTokenCount": 70,
        "totalTokenCount": 1120,
    }
    usage = from_gemini_usage(wire)
    assert usage == Usage(
        input_tokens=1020,
        output_tokens=100,
        cache_read_input_tokens=800,
        reasoning_output_tokens=70,
    )
    assert usage is not None
    assert usage.total_tokens == wire["totalTokenCount"]
    assert from_gemini_usage({"trafficType": "ON_DEMAND"}) is None
    assert from_gemini_usage(None) is None


def test_prompt_block_is_a_content_filter_error() -> None:
    body = {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
    }
    with pytest.raises(ContentFilterError, match="prompt was blocked") as info:
        from_gemini_response(body, provider="gemini", model_id=MODEL)
    assert (info.value.status_code, info.value.code, info.value.body) == (200, "SAFETY", body)


def test_a_safety_blocked_candidate_is_a_content_filter_error() -> None:
    body = {"candidates": [{"finishReason": "PROHIBITED_CONTENT", "index": 0}]}
    with pytest.raises(ContentFilterError, match="PROHIBITED_CONTENT") as info:
        from_gemini_response(body, provider="gemini", model_id=MODEL)
    assert info.value.status_code == 200
    # Streaming: the deltas before the block reach the caller, then the error.
    reader = GeminiChunkReader("gemini", MODEL)
    events = reader.feed(_candidate([{"text": "Once upon"}], finish=None))
    assert [e.text for e in events if isinstance(e, TextDeltaEvent)] == ["Once upon"]
    with pytest.raises(ContentFilterError):
        reader.feed(_candidate([], finish="RECITATION"))


def test_an_error_inside_the_stream() -> None:
    reader = GeminiChunkReader("gemini", MODEL)
    error = {"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED"}}
    with pytest.raises(RateLimitError) as info:
        reader.feed(error)
    assert info.value.status_code == 200


@pytest.mark.parametrize("chunks", [[], [_candidate([{"text": "cut"}], finish=None)]])
def test_a_stream_without_finish_reason_was_cut_short(chunks: list[dict[str, Any]]) -> None:
    with pytest.raises(UnexpectedResponseError, match=r"empty|without a finishReason"):
        _read(*chunks)


def test_text_signatures_keep_their_place_in_a_stream() -> None:
    """Gemini 3 signs the last text part, or sends the signature on an empty one."""
    events = _read(
        _candidate([{"text": "Hello"}], finish=None),
        _candidate([{"text": " world", "thoughtSignature": "czE="}], finish=None),
        _candidate([{"text": "", "thoughtSignature": "czI="}]),
    )
    signed = [ReasoningPart(signature=s, provider="gemini", model=MODEL) for s in ("czE=", "czI=")]
    assert _parts(events) == [TextPart(text="Hello"), signed[0], TextPart(text=" world"), signed[1]]
    assert "".join(e.text for e in events if isinstance(e, TextDeltaEvent)) == "Hello world"


def test_a_signed_run_of_thoughts_is_one_reasoning_part() -> None:
    events = _read(
        _candidate([{"text": "First, ", "thought": True}], finish=None),
        _candidate([{"text": "then.", "thought": True}], finish=None),
        _candidate([{"text": "", "thought": True, "thoughtSignature": "dA=="}], finish=None),
        _candidate([{"text": "Done."}]),
    )
    assert [e.text for e in events if isinstance(e, ReasoningDeltaEvent)] == ["First, ", "then."]
    assert _parts(events) == [
        ReasoningPart(text="First, then.", signature="dA==", provider="gemini", model=MODEL),
        TextPart(text="Done."),
    ]


def test_gemini3_ids_and_missing_args() -> None:
    response = from_gemini_response(
        _candidate(
            [
                {"functionCall": {"id": "8f2k", "name": "now"}, "thoughtSignature": "eA=="},
                {"functionCall": {"id": "9x1z", "name": "add", "args": {"a": 1}}},
            ]
        ),
        provider="gemini",
        model_id=MODEL,
    )
    assert response.message.parts[1:] == [
        ToolCallPart(id="8f2k", name="now", arguments={}),
        ToolCallPart(id="9x1z", name="add", arguments={"a": 1}),
    ]


def test_partial_args_nested_paths_and_value_kinds() -> None:
    def call(*pieces: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {**fields, "willContinue": True}
        if pieces:
            body["partialArgs"] = list(pieces)
        return _candidate([{"functionCall": body}], finish=None)

    events = _read(
        call(name="book"),
        call({"jsonPath": "$.trip.city", "stringValue": "New ", "willContinue": True}),
        call({"jsonPath": "$.trip.city", "stringValue": "York"}),
        call(
            {"jsonPath": "$.nights", "numberValue": 3},
            {"jsonPath": "$.tags[1]", "stringValue": "b"},
            {"jsonPath": "$.tags[0]", "stringValue": "a"},
        ),
        call(
            {"jsonPath": "$['pet ok']", "boolValue": True},
            {"jsonPath": "$.note", "nullValue": None},
        ),
        _candidate([{"functionCall": {}}]),
    )
    (call_part,) = _parts(events)
    assert isinstance(call_part, ToolCallPart)
    assert call_part.name == "book"
    assert call_part.arguments == {
        "trip": {"city": "New York"},
        "nights": 3,
        "tags": ["a", "b"],
        "pet ok": True,
        "note": None,
    }


def test_unknown_part_kinds_are_left_out_with_a_warning() -> None:
    response = from_gemini_response(
        _candidate(
            [
                {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
                {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}},
                {"executableCode": {"language": "PYTHON", "code": "print(2)"}},
                {"text": "1"},
            ]
        ),
        provider="gemini",
        model_id=MODEL,
    )
    assert response.message.parts == [TextPart(text="1")]
    assert sorted(w.feature or "" for w in response.warnings) == [
        "codeExecutionResult",
        "executableCode",
    ]


def test_not_an_answer() -> None:
    with pytest.raises(UnexpectedResponseError, match="JSON object"):
        from_gemini_response([1], provider="gemini", model_id=MODEL)
    with pytest.raises(UnexpectedResponseError, match="not an object"):
        from_gemini_response(_candidate(["text"]), provider="gemini", model_id=MODEL)  # type: ignore[list-item]
