"""Drafted tool calls the user's words do not support: pure checks, then the adapter's flow."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from agentkit_adapters.llamacpp import LlamaCppAdapter
from agentkit_adapters.llamacpp._grounding import grounded, user_text

from agentkit import Message, ModelRequest, ToolDefinition

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"},
    },
    "required": ["city"],
}
WEATHER = ToolDefinition(
    name="get_weather", description="Get the current weather.", input_schema=WEATHER_SCHEMA
)


def test_a_copied_city_is_grounded_and_an_invented_one_is_not() -> None:
    text = user_text([Message.user("How cold is it in Dublin?")])
    assert grounded({"city": "Dublin", "unit": "celsius"}, WEATHER_SCHEMA, text)
    assert grounded({"city": "dublin"}, WEATHER_SCHEMA, text)
    assert not grounded(
        {"city": "Paris", "unit": "celsius"}, WEATHER_SCHEMA, user_text([Message.user("Hello!")])
    )
    translate = user_text([Message.user("Translate 'good morning' into Spanish.")])
    assert not grounded({"city": "El Diablo"}, WEATHER_SCHEMA, translate)


def test_a_misspelt_copy_still_counts_as_copied() -> None:
    text = user_text([Message.user("Is it raining in Athens?")])
    assert grounded({"city": "Athos"}, WEATHER_SCHEMA, text)
    assert not grounded({"city": "Oslo"}, WEATHER_SCHEMA, text)


def test_only_free_text_is_evidence() -> None:
    text = user_text([Message.user("Hello!")])
    # An enum value or a number may be a well-chosen default: no verdict from them.
    assert grounded({"unit": "fahrenheit", "days": 3}, WEATHER_SCHEMA, text)
    assert grounded({"city": "Paris"}, {"type": "object"}, text)
    assert grounded({"city": "!!"}, WEATHER_SCHEMA, text)  # no words to judge


def test_every_user_message_counts_and_only_those() -> None:
    messages = [
        Message.system("You answer about Paris."),
        Message.user("Weather in Rome?"),
        Message.user("And in Oslo?"),
    ]
    text = user_text(messages)
    assert grounded({"city": "Rome"}, WEATHER_SCHEMA, text)
    assert grounded({"city": "Oslo"}, WEATHER_SCHEMA, text)
    assert not grounded({"city": "Paris"}, WEATHER_SCHEMA, text)


class _ScriptedModel:
    """Stands in for the loaded llama.cpp model: replies in turn, records each request."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []

    async def chunks(self, kwargs: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        self.requests.append(kwargs)
        reply = self.replies[len(self.requests) - 1]
        for piece in (reply[:5], reply[5:]):
            yield {"choices": [{"delta": {"content": piece}, "finish_reason": None}]}
        yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}
        yield {"agentkit_context_tokens": 100 + 2}


def _adapter(model: _ScriptedModel) -> LlamaCppAdapter:
    adapter = LlamaCppAdapter("smollm2-135m")
    adapter.model = lambda: model  # type: ignore[assignment,method-assign,return-value]
    return adapter


def _branches(kwargs: dict[str, Any]) -> list[str]:
    schema = kwargs["response_format"]["schema"]
    return [next(iter(b["properties"])) for b in schema.get("anyOf", [schema])]


pytestmark = pytest.mark.anyio


async def test_an_ungrounded_draft_call_becomes_an_answer() -> None:
    model = _ScriptedModel(
        [
            json.dumps({"tool": "get_weather", "arguments": {"city": "Paris"}}),
            json.dumps({"answer": "Hello! Ask me about the weather."}),
        ]
    )
    response = await _adapter(model).generate(
        ModelRequest(messages=[Message.user("Hello!")], tools=[WEATHER])
    )
    assert response.message.tool_calls == []
    assert response.message.text == "Hello! Ask me about the weather."
    assert response.finish_reason == "stop"
    assert _branches(model.requests[0]) == ["tool"]  # the bundled model drafts a call
    assert _branches(model.requests[1]) == ["answer"]  # then may only answer
    # Both generations were real work: their tokens add up (2 chunks of text each).
    assert response.usage is not None
    assert response.usage.output_tokens == 4
    assert response.usage.input_tokens == 200


async def test_a_grounded_draft_call_is_kept_without_a_second_generation() -> None:
    model = _ScriptedModel([json.dumps({"tool": "get_weather", "arguments": {"city": "Oslo"}})])
    response = await _adapter(model).generate(
        ModelRequest(messages=[Message.user("Weather in Oslo?")], tools=[WEATHER])
    )
    [call] = response.message.tool_calls
    assert call.arguments == {"city": "Oslo"}
    assert response.finish_reason == "tool_calls"
    assert len(model.requests) == 1


async def test_a_required_call_is_never_dropped() -> None:
    # tool_choice "required" (or a named tool) is the caller's decision, not a draft.
    model = _ScriptedModel([json.dumps({"tool": "get_weather", "arguments": {"city": "Paris"}})])
    response = await _adapter(model).generate(
        ModelRequest(messages=[Message.user("Hello!")], tools=[WEATHER], tool_choice="required")
    )
    assert [c.name for c in response.message.tool_calls] == ["get_weather"]
    assert len(model.requests) == 1
