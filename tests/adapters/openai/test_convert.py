"""The pure OpenAI Chat request conversion: literal neutral input, literal wire output."""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.openai import (
    OpenAIQuirks,
    compile_openai_schema,
    to_openai_messages,
    to_openai_request,
    to_openai_tools,
)

from agentkit import (
    AudioPart,
    ImagePart,
    Message,
    ModelRequest,
    ModelSettings,
    ReasoningPart,
    ResourcePart,
    RunWarning,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)
from agentkit.exceptions import UnsupportedFeatureError

STRICT = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}


def _messages(*messages: Message) -> tuple[list[Any], list[RunWarning]]:
    return to_openai_messages(list(messages), provider="openai", model_id="gpt-x")


# -- messages --------------------------------------------------------------------------------


def test_a_whole_tool_round_trip() -> None:
    out, warnings = _messages(
        Message.system("Be brief."),
        Message.user("Weather in Paris and Rome?"),
        Message(
            role="assistant",
            parts=[
                TextPart(text="Checking."),
                ToolCallPart(id="call_1", name="weather", arguments={"city": "Paris"}),
                ToolCallPart(id="call_2", name="weather", arguments={"city": "Rome"}),
            ],
        ),
        Message(
            role="tool",
            parts=[
                ToolResultPart(call_id="call_1", content=[TextPart(text="sunny")]),
                ToolResultPart(
                    call_id="call_2", content=[TextPart(text="rain"), TextPart(text="12 C")]
                ),
            ],
        ),
        Message.assistant("Paris is sunny, Rome rainy."),
    )
    assert warnings == []
    assert out == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "rain\n12 C"},
        {"role": "assistant", "content": "Paris is sunny, Rome rainy."},
    ]


def test_assistant_with_only_tool_calls_has_null_content_and_empty_has_empty_string() -> None:
    out, _ = _messages(
        Message(role="assistant", parts=[ToolCallPart(id="c", name="f")]),
        Message(role="assistant", parts=[]),
    )
    assert out == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "assistant", "content": ""},
    ]


def test_invalid_arguments_are_replayed_verbatim() -> None:
    call = ToolCallPart(id="c", name="f", raw_arguments='{"city": "Par')
    out, _ = _messages(Message(role="assistant", parts=[call]))
    assert out[0]["tool_calls"][0]["function"]["arguments"] == '{"city": "Par'


def test_user_images_by_url_and_by_data() -> None:
    out, _ = _messages(
        Message(
            role="user",
            parts=[
                TextPart(text="What is this?"),
                ImagePart(url="https://example.com/cat.png"),
                ImagePart(data=b"\x89PNG", media_type="image/png"),
            ],
        )
    )
    assert out == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
            ],
        }
    ]


def test_user_audio_wav_and_unsupported_audio() -> None:
    out, _ = _messages(
        Message(role="user", parts=[AudioPart(data=b"RIFF", media_type="audio/wav")])
    )
    assert out[0]["content"] == [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    ]
    with pytest.raises(UnsupportedFeatureError, match="audio/ogg"):
        _messages(Message(role="user", parts=[AudioPart(data=b"x", media_type="audio/ogg")]))


@pytest.mark.parametrize(
    "message",
    [
        Message(role="assistant", parts=[ImagePart(url="https://example.com/a.png")]),
        Message(role="system", parts=[ImagePart(url="https://example.com/a.png")]),
        Message(role="tool", parts=[ImagePart(url="https://example.com/a.png")]),
        Message(role="user", parts=[ToolCallPart(id="c", name="f")]),
        Message(role="user", parts=[ResourcePart(uri="file:///a.bin", data=b"\x00")]),
        Message(role="tool", parts=[TextPart(text="loose text")]),
    ],
)
def test_content_the_wire_cannot_carry_raises(message: Message) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        _messages(message)
    assert info.value.provider == "openai"
    assert info.value.model_id == "gpt-x"


def test_non_text_tool_result_blocks_become_placeholders_with_warnings() -> None:
    result = ToolResultPart(
        call_id="c",
        content=[
            TextPart(text="chart below"),
            ImagePart(data=b"x", media_type="image/png"),
            ResourcePart(uri="file:///notes.txt", text="notes"),
            ResourcePart(uri="https://example.com/doc"),
        ],
    )
    out, warnings = _messages(Message(role="tool", parts=[result]))
    assert out == [
        {
            "role": "tool",
            "tool_call_id": "c",
            "content": "chart below\n[image omitted: tool results are sent as text]\n"
            "notes\n[resource: https://example.com/doc]",
        }
    ]
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_feature", "tool_result_image")]


def test_structured_only_tool_result_is_sent_as_json() -> None:
    result = ToolResultPart(call_id="c", structured_content={"temp": 21})
    out, _ = _messages(Message(role="tool", parts=[result]))
    assert out == [{"role": "tool", "tool_call_id": "c", "content": '{"temp": 21}'}]


def test_tool_results_inside_a_user_message_come_first() -> None:
    out, _ = _messages(
        Message(
            role="user",
            parts=[
                TextPart(text="and now?"),
                ToolResultPart(call_id="c", content=[TextPart(text="42")]),
            ],
        )
    )
    assert out == [
        {"role": "tool", "tool_call_id": "c", "content": "42"},
        {"role": "user", "content": "and now?"},
    ]


def test_reasoning_is_dropped_with_one_warning() -> None:
    out, warnings = _messages(
        Message(
            role="assistant",
            parts=[ReasoningPart(text="hmm", provider="gemini"), TextPart(text="a")],
        ),
        Message(role="assistant", parts=[ReasoningPart(text="again", provider="openai")]),
    )
    assert out == [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": ""}]
    assert [(w.kind, w.feature, w.provider) for w in warnings] == [
        ("unsupported_feature", "reasoning", "openai")
    ]


def test_several_user_texts_stay_separate_parts() -> None:
    out, _ = _messages(Message(role="user", parts=[TextPart(text="a"), TextPart(text="b")]))
    assert out == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


# -- tools and strict mode -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "strict", "nulls"),
    [
        (STRICT, True, ()),
        ({"type": "object", "properties": {}, "additionalProperties": False}, True, ()),
        # Recorded as accepted (strict_tool_with_default_and_title_keywords).
        (
            {
                "type": "object",
                "title": "Args",
                "properties": {"unit": {"type": "string", "default": "c", "title": "Unit"}},
                "required": ["unit"],
                "additionalProperties": False,
            },
            True,
            (),
        ),
        # An optional property: strict, written as required and nullable.
        ({**STRICT, "required": []}, True, ("#/properties/city",)),
        # Closing an open object would change what is accepted: not strict.
        ({**STRICT, "additionalProperties": True}, False, ()),
        ({k: v for k, v in STRICT.items() if k != "additionalProperties"}, False, ()),
        (
            {
                **STRICT,
                "properties": {
                    "city": {"type": "object", "properties": {"x": {"type": "integer"}}}
                },
            },
            False,
            (),
        ),
        ({**STRICT, "properties": {"city": {"type": "string", "minLength": 1}}}, False, ()),
        ({**STRICT, "properties": {"city": True}}, False, ()),
    ],
)
def test_the_strict_rule_shared_with_responses(
    schema: dict[str, Any], strict: bool, nulls: tuple[str, ...]
) -> None:
    compiled, warnings = compile_openai_schema(schema, name="t")
    assert (compiled.strict, compiled.added_nulls) == (strict, nulls)
    if not strict:
        assert [w.feature for w in warnings][:1] == ["strict_disabled"]
    # A host without strict mode gets the plain dialect, never strict.
    assert compile_openai_schema(schema, name="t", strict=False)[0].strict is False


def test_tools_strict_only_when_compatible_and_enabled() -> None:
    loose = {"type": "object", "properties": {"q": {"type": "string"}}}
    tools = [
        ToolDefinition(name="weather", description="Weather now.", input_schema=STRICT),
        ToolDefinition(name="search", title="Search the web", input_schema=loose),
    ]
    out, warnings = to_openai_tools(tools, strict_mode=True)
    # The open object stays open, and the warning says why it is not strict.
    assert [(w.feature, w.message.split(",")[0]) for w in warnings] == [
        ("strict_disabled", "tool 'search'")
    ]
    assert out == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Weather now.",
                "parameters": STRICT,
                "strict": True,
            },
        },
        {
            "type": "function",
            "function": {"name": "search", "description": "Search the web", "parameters": loose},
        },
    ]
    off, _ = to_openai_tools(tools[:1], strict_mode=False)
    assert "strict" not in off[0]["function"]


def test_tool_names_openai_rejects_are_warned_about() -> None:
    _, warnings = to_openai_tools(
        [ToolDefinition(name="fs.read", input_schema=STRICT)], strict_mode=True
    )
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_feature", "tool_name")]


# -- whole request ---------------------------------------------------------------------------


def _request(**kwargs: Any) -> ModelRequest:
    return ModelRequest(messages=[Message.user("hi")], **kwargs)


def test_minimal_request() -> None:
    body, warnings = to_openai_request(_request(), model_id="gpt-x", stream=False)
    assert body == {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}
    assert warnings == []


def test_settings_map_to_their_wire_names() -> None:
    settings = ModelSettings(
        max_tokens=50,
        temperature=0.2,
        top_p=0.9,
        stop=["END"],
        seed=7,
        parallel_tool_calls=False,
        reasoning_effort="low",
        timeout=3,
        extra={"user": "u1", "temperature": 0.5},
    )
    body, warnings = to_openai_request(_request(settings=settings), model_id="m", stream=False)
    assert warnings == []
    # parallel_tool_calls is only meaningful (and accepted) beside tools; extra wins.
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 50,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["END"],
        "seed": 7,
        "reasoning_effort": "low",
        "user": "u1",
    }


def test_quirks_max_tokens_field_and_unsupported_settings() -> None:
    quirks = OpenAIQuirks(
        max_tokens_field="max_tokens",
        unsupported_settings=frozenset({"seed", "parallel_tool_calls"}),
    )
    request = _request(
        tools=[ToolDefinition(name="f", input_schema=STRICT)],
        settings=ModelSettings(max_tokens=5, seed=1, parallel_tool_calls=True),
    )
    body, warnings = to_openai_request(
        request, model_id="m", stream=False, quirks=quirks, provider="groq"
    )
    assert body["max_tokens"] == 5
    assert "seed" not in body
    assert "parallel_tool_calls" not in body
    assert [(w.kind, w.feature, w.provider) for w in warnings] == [
        ("unsupported_setting", "parallel_tool_calls", "groq"),
        ("unsupported_setting", "seed", "groq"),
    ]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("f", {"type": "function", "function": {"name": "f"}}),
    ],
)
def test_tool_choice(choice: str, wire: object) -> None:
    request = _request(
        tools=[ToolDefinition(name="f", input_schema=STRICT)],
        tool_choice=choice,
        settings=ModelSettings(parallel_tool_calls=False),
    )
    body, _ = to_openai_request(request, model_id="m", stream=False)
    assert body["tool_choice"] == wire
    assert body["parallel_tool_calls"] is False


def test_tool_choice_without_tools_is_warned_not_sent() -> None:
    body, warnings = to_openai_request(_request(tool_choice="required"), model_id="m", stream=False)
    assert "tool_choice" not in body
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "tool_choice")]


def test_structured_output_strict_when_compatible_and_name_sanitised() -> None:
    body, _ = to_openai_request(
        _request(output_schema=STRICT, output_name="my agent.v2"), model_id="m", stream=False
    )
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "my_agent_v2", "schema": STRICT, "strict": True},
    }
    loose = {"type": "object", "properties": {"a": {"type": "string"}}}
    body, _ = to_openai_request(_request(output_schema=loose), model_id="m", stream=False)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": loose},
    }
    no_strict = OpenAIQuirks(supports_strict=False)
    body, _ = to_openai_request(
        _request(output_schema=STRICT), model_id="m", stream=False, quirks=no_strict
    )
    assert "strict" not in body["response_format"]["json_schema"]


def test_stream_asks_for_usage_unless_the_host_cannot() -> None:
    body, _ = to_openai_request(_request(), model_id="m", stream=True)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    quirks = OpenAIQuirks(supports_stream_usage=False)
    body, _ = to_openai_request(_request(), model_id="m", stream=True, quirks=quirks)
    assert "stream_options" not in body


def test_tool_schemas_go_through_the_schema_compiler() -> None:
    schema: dict[str, Any] = {"type": "object"}  # OpenAI rejects an object without properties
    tool = ToolDefinition(name="ping", input_schema=schema)
    out, warnings = to_openai_tools([tool], strict_mode=False, provider="groq")
    assert out[0]["function"]["parameters"] == {"type": "object", "properties": {}}
    assert [(w.kind, w.provider) for w in warnings] == [("schema_changed", "groq")]
    assert schema == {"type": "object"}  # the tool's own schema is untouched
