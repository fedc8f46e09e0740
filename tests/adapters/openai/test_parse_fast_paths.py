"""The whole-answer parser's inline tests of wire values give what its helpers give.

``from_openai_response`` and ``from_openai_usage`` test the common values (a
``str`` or nothing, a non-negative ``int``) inline and hand anything else to
``_text`` and ``lenient_count``. Each field is sent here with every kind of value a
lax host might send, and must come out as the helper makes it.
"""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters._usage import lenient_count
from agentkit_adapters.openai._parse import _text, from_openai_response, from_openai_usage

from agentkit import ReasoningPart, TextPart, ToolCallPart

#: Falsy and truthy values of every JSON kind, and the ones a str test could miss.
WIRE_VALUES: list[Any] = [None, "", "a", 0, 7, 0.0, 1.5, False, True, [], [1], {}, {"k": 1}]


def _answer(message: dict[str, Any], **top: Any) -> dict[str, Any]:
    choice = {"message": message, "finish_reason": top.pop("finish_reason", "stop")}
    return {"id": "r", "model": "m", "choices": [choice], **top}


def _parse(body: dict[str, Any]) -> Any:
    return from_openai_response(body, provider="p", model_id="asked")


@pytest.mark.parametrize("value", WIRE_VALUES, ids=repr)
def test_top_level_strings(value: Any) -> None:
    response = _parse(_answer({"content": "x"}, model=value, id=value, finish_reason=value))
    assert response.model_id == (_text(value) or "asked")
    assert response.response_id == _text(value)
    assert response.raw_finish_reason == _text(value)


@pytest.mark.parametrize("value", WIRE_VALUES, ids=repr)
def test_message_strings(value: Any) -> None:
    if isinstance(value, list):  # content parts are their own case (joined texts)
        return
    response = _parse(_answer({"content": value, "reasoning_content": value, "refusal": value}))
    text = _text(value)
    reasoning = _text(value or None)  # a falsy reasoning_content gives way to "reasoning"
    expected: list[Any] = []
    if reasoning:
        expected.append(ReasoningPart(text=reasoning, provider="p", model="m"))
    if text:
        expected.append(TextPart(text=text))
    assert response.message.parts == expected
    assert response.refusal == (text or None)


@pytest.mark.parametrize("value", WIRE_VALUES, ids=repr)
def test_reasoning_falls_back_to_its_other_name(value: Any) -> None:
    message = {"reasoning_content": value, "reasoning": "other", "content": "x"}
    parts = _parse(_answer(message)).message.parts
    assert parts[0] == ReasoningPart(text=_text(value or "other"), provider="p", model="m")


@pytest.mark.parametrize("value", WIRE_VALUES, ids=repr)
def test_tool_call_strings(value: Any) -> None:
    call = {"id": value, "function": {"name": value, "arguments": "{}"}}
    (part,) = _parse(_answer({"tool_calls": [call]})).message.parts
    assert isinstance(part, ToolCallPart)
    assert part.id == (_text(value) or "call_r_0")
    assert part.name == (_text(value) or "")


COUNTS: list[Any] = [None, 0, 3, -1, 2.0, 1.5, True, "4", "x", [], 10**30]


@pytest.mark.parametrize("value", COUNTS, ids=repr)
def test_counts(value: Any) -> None:
    usage = from_openai_usage(
        {"prompt_tokens": value, "completion_tokens": value, "cached_tokens": value}
    )
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (lenient_count(value), lenient_count(value))
    assert usage.cache_read_input_tokens == lenient_count(value)
    assert type(usage.input_tokens) is int
    details = from_openai_usage(
        {
            "prompt_tokens_details": {"cached_tokens": value},
            "completion_tokens_details": {"reasoning_tokens": value},
        }
    )
    assert details is not None
    assert details.cache_read_input_tokens == lenient_count(value)
    assert details.reasoning_output_tokens == lenient_count(value)
