"""The local model's tool protocol: pure functions, literal in, literal out."""

from __future__ import annotations

import json

import pytest
from agentkit_adapters.llamacpp import (
    AnswerStreamer,
    constraint_schema,
    parse_reply,
    to_llama_messages,
)
from agentkit_adapters.llamacpp._protocol import (
    render_result,
    result_values,
    stating_pattern,
    tool_rounds,
)

from agentkit import (
    Message,
    ModelRequest,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)
from agentkit.exceptions import UnsupportedFeatureError

WEATHER = ToolDefinition(
    name="get_weather",
    description="Get the weather.",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
)


def test_constraint_offers_each_tool_and_the_answer() -> None:
    args = WEATHER.input_schema
    assert constraint_schema(
        [(WEATHER, args)], answer_schema=None, allow_tools=True, allow_answer=True
    ) == {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "tool": {"const": "get_weather"},
                    "arguments": {**args, "additionalProperties": False},
                },
                "required": ["tool", "arguments"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"answer": {"type": "string", "minLength": 1}},
                "required": ["answer"],
                "additionalProperties": False,
            },
        ]
    }


def test_constraint_answer_only_and_call_only() -> None:
    answer_only = constraint_schema([], answer_schema=None, allow_tools=False, allow_answer=True)
    assert answer_only["required"] == ["answer"]
    call_only = constraint_schema(
        [(WEATHER, WEATHER.input_schema)], answer_schema=None, allow_tools=True, allow_answer=False
    )
    assert call_only["properties"]["tool"] == {"const": "get_weather"}
    structured = constraint_schema(
        [], answer_schema={"type": "object"}, allow_tools=False, allow_answer=True
    )
    assert structured["properties"]["answer"] == {"type": "object"}


def test_messages_use_three_roles_and_replay_the_protocol() -> None:
    request = ModelRequest(
        messages=[
            Message.system("Be brief."),
            Message.user("Weather in Paris?"),
            Message(
                role="assistant",
                parts=[
                    ReasoningPart(text="secret", provider="openai"),
                    ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"}),
                ],
            ),
            Message(
                role="tool",
                parts=[
                    ToolResultPart(
                        call_id="c1",
                        name="get_weather",
                        content=[TextPart(text="ignored when structured")],
                        structured_content={"temp": 21},
                    )
                ],
            ),
        ],
        tools=[WEATHER],
    )
    out = to_llama_messages(request, allow_tools=False, provider="llamacpp", model_id="m")
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user"]
    assert out[0]["content"].startswith("Be brief.\n\nReply with a JSON object")
    assert json.loads(out[2]["content"]) == {"tool": "get_weather", "arguments": {"city": "Paris"}}
    assert "secret" not in out[2]["content"]  # reasoning is never replayed as text
    assert out[3]["content"] == (
        "get_weather returned: temp: 21.\nTell me in one sentence, with these values."
    )
    offered = to_llama_messages(request, allow_tools=True, provider="llamacpp", model_id="m")
    assert (
        "- get_weather: Get the weather. Arguments: city (string: City name)."
        in (offered[0]["content"])
    )


def test_results_render_as_short_plain_text() -> None:
    def rendered(**fields: object) -> str:
        return render_result(ToolResultPart(call_id="1", **fields))  # type: ignore[arg-type]

    assert rendered(structured_content={"temperature_c": 20, "conditions": "windy"}) == (
        "temperature c: 20; conditions: windy"
    )
    assert rendered(structured_content={"ok": True, "tags": ["a"]}) == 'ok: yes; tags: ["a"]'
    assert rendered(content=[TextPart(text="plain")]) == "plain"


def test_images_are_refused() -> None:
    from agentkit import ImagePart

    request = ModelRequest(
        messages=[Message(role="user", parts=[ImagePart(url="http://x/cat.png")])]
    )
    with pytest.raises(UnsupportedFeatureError, match="text only, not image"):
        to_llama_messages(request, allow_tools=False, provider="llamacpp", model_id="m")


def test_parse_reply() -> None:
    parts, is_call = parse_reply('{"tool": "get_weather", "arguments": {"city": "Oslo"}}', "c9")
    assert is_call
    assert parts == [ToolCallPart(id="c9", name="get_weather", arguments={"city": "Oslo"})]
    assert parse_reply('{"answer": "Sunny."}', "c") == ([TextPart(text="Sunny.")], False)
    assert parse_reply('{"answer": {"n": 1}}', "c") == ([TextPart(text='{"n": 1}')], False)
    # Cut short by max_tokens: kept as text, not lost.
    assert parse_reply('{"answer": "Sun', "c") == ([TextPart(text='{"answer": "Sun')], False)


@pytest.mark.parametrize(
    "full",
    [
        json.dumps({"answer": 'Paris: 21°C, "sunny" \\ 😀 done'}),
        json.dumps({"answer": "Paris: 21°C 😀"}, ensure_ascii=False),
        '{ "answer" : "two\\nlines"}',
        '{"answer": "a raw\nnewline and\ttab"}',
        json.dumps({"tool": "get_weather", "arguments": {"city": "Paris"}}),
        json.dumps({"answer": {"structured": True}}),
    ],
)
@pytest.mark.parametrize("step", [1, 2, 3, 7])
def test_answer_streamer_emits_exactly_the_answer_text(full: str, step: int) -> None:
    streamer = AnswerStreamer()
    out = "".join(streamer.feed(full[i : i + step]) for i in range(0, len(full), step))
    answer = json.loads(full, strict=False).get("answer")
    assert out == (answer if isinstance(answer, str) else "")
    assert streamer.streaming is isinstance(answer, str)
    assert streamer.raw == full


def test_tool_rounds_count_since_the_last_user_message() -> None:
    call = Message(role="assistant", parts=[ToolCallPart(id="1", name="t")])
    result = Message(role="tool", parts=[ToolResultPart(call_id="1")])
    assert tool_rounds([Message.user("a")]) == 0
    assert tool_rounds([Message.user("a"), call, result]) == 1
    assert tool_rounds([Message.user("a"), call, result, call, result]) == 2
    assert tool_rounds([Message.user("a"), call, result, Message.user("b")]) == 0


def test_close_objects_closes_open_objects_only() -> None:
    from agentkit_adapters.llamacpp._protocol import close_objects

    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"x": {}}, "additionalProperties": True},
            "b": {"type": "object", "additionalProperties": {"type": "string"}},
            "c": {"type": "array", "items": {"type": "object", "properties": {"y": {}}}},
        },
    }
    closed = close_objects(schema)
    assert closed["additionalProperties"] is False
    assert closed["properties"]["a"]["additionalProperties"] is False
    assert closed["properties"]["b"] == schema["properties"]["b"]  # a map stays a map
    assert closed["properties"]["c"]["items"]["additionalProperties"] is False
    assert "additionalProperties" not in schema  # the input is not changed


def _after_result(structured: dict[str, object]) -> list[Message]:
    return [
        Message.user("Weather in Paris?"),
        Message(
            role="assistant",
            parts=[ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})],
        ),
        Message(
            role="tool",
            parts=[ToolResultPart(call_id="c1", name="get_weather", structured_content=structured)],
        ),
    ]


def test_stating_pattern_needs_every_value_in_order() -> None:
    import re

    values = result_values(
        _after_result({"city": "Paris", "temperature_c": -2, "sky": "light rain"})
    )
    assert values == ["Paris", "-2", "light rain"]
    pattern = stating_pattern(values)
    assert pattern is not None
    assert re.fullmatch(pattern, "In Paris it is -2 C with light rain.")
    assert not re.fullmatch(pattern, "In Paris it is cold with light rain.")
    assert not re.fullmatch(pattern, "Light rain, -2 C in Paris.")
    assert not re.fullmatch(pattern, 'In Paris it is -2 C with light rain. "')
    # A number stands on its own: after a space, before no digit.
    assert not re.fullmatch(pattern, "In Paris it is-2 C with light rain.")
    assert not re.fullmatch(pattern, "In Paris it is -20 C with light rain.")
    # Only a few characters may follow the last value.
    assert not re.fullmatch(pattern, "In Paris it is -2 C with light rain for the rest of the day.")
    assert re.fullmatch(stating_pattern(["7"]) or "", "It is 7.")
    assert stating_pattern([]) is None
    assert result_values([Message.user("hi")]) == []


def test_the_bundled_model_must_state_the_result_and_others_need_not() -> None:
    from agentkit_adapters.llamacpp import LlamaCppAdapter

    request = ModelRequest(
        messages=_after_result({"temperature_c": 20, "conditions": "windy"}), tools=[WEATHER]
    )
    kwargs, _ = LlamaCppAdapter("smollm2-135m")._plan(request)
    answer = kwargs["response_format"]["schema"]["properties"]["answer"]
    assert "20" in answer["pattern"]
    assert "windy" in answer["pattern"]
    free, _ = LlamaCppAdapter("smollm2-135m", tools_first=False)._plan(request)
    assert "pattern" not in free["response_format"]["schema"]["properties"]["answer"]
