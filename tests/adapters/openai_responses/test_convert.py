"""The pure OpenAI Responses request conversion: literal neutral input, literal wire output."""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.openai_responses import (
    to_responses_input,
    to_responses_request,
    to_responses_tools,
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
from agentkit._schema_compile import SchemaCompileError
from agentkit.exceptions import UnsupportedFeatureError

STRICT = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
OPTIONAL_UNIT = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
OPEN = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def _input(*messages: Message, **kwargs: Any) -> tuple[list[Any], list[RunWarning]]:
    return to_responses_input(list(messages), provider="openai", model_id="gpt-x", **kwargs)


def _body(**kwargs: Any) -> tuple[dict[str, Any], list[RunWarning]]:
    kwargs.setdefault("messages", [Message.user("hi")])
    prepared = to_responses_request(ModelRequest(**kwargs), model_id="gpt-x", stream=False)
    return dict(prepared.body), prepared.warnings


def _tool(schema: dict[str, Any], name: str = "weather") -> ToolDefinition:
    return ToolDefinition(name=name, description="Current weather.", input_schema=schema)


# -- input items -----------------------------------------------------------------------------


def test_a_whole_tool_round_trip() -> None:
    items, warnings = _input(
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
                ToolResultPart(call_id="call_2", content=[TextPart(text="rain")]),
            ],
        ),
        Message.assistant("Sunny in Paris, rain in Rome."),
    )
    assert items == [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "weather",
            "arguments": '{"city":"Paris"}',
        },
        {
            "type": "function_call",
            "call_id": "call_2",
            "name": "weather",
            "arguments": '{"city":"Rome"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        {"type": "function_call_output", "call_id": "call_2", "output": "rain"},
        {
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Sunny in Paris, rain in Rome."}],
        },
    ]
    assert warnings == []


def test_a_system_message_keeps_its_place() -> None:
    items, _ = _input(Message.user("a"), Message.system("JSON only."), Message.user("b"))
    assert items == [
        {"role": "user", "content": "a"},
        {"role": "developer", "content": "JSON only."},
        {"role": "user", "content": "b"},
    ]


def test_user_content_parts_and_images() -> None:
    items, _ = _input(
        Message(
            role="user",
            parts=[
                TextPart(text="What is this?"),
                ImagePart(url="https://example.com/cat.png"),
                ImagePart(data=b"\x89PNG", media_type="image/png"),
                ResourcePart(uri="file:///notes.txt", text="notes"),
                ResourcePart(uri="https://example.com/doc"),
            ],
        )
    )
    assert items == [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {
                    "type": "input_image",
                    "image_url": "https://example.com/cat.png",
                    "detail": "auto",
                },
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64,iVBORw==",
                    "detail": "auto",
                },
                {"type": "input_text", "text": "notes"},
                {"type": "input_text", "text": "[resource: https://example.com/doc]"},
            ],
        }
    ]


def test_tool_results_come_before_the_users_words() -> None:
    items, _ = _input(
        Message(
            role="user",
            parts=[
                ToolResultPart(call_id="call_1", content=[TextPart(text="42")]),
                TextPart(text="Thanks; now explain."),
            ],
        )
    )
    assert items == [
        {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        {"role": "user", "content": "Thanks; now explain."},
    ]


def test_tool_result_content_becomes_text() -> None:
    items, warnings = _input(
        Message(
            role="tool",
            parts=[
                ToolResultPart(
                    call_id="call_1",
                    content=[TextPart(text="chart:"), ImagePart(url="https://e.com/c.png")],
                ),
                ToolResultPart(call_id="call_2", structured_content={"total": 3}),
                ToolResultPart(call_id="call_3", content=[TextPart(text="boom")], is_error=True),
            ],
        )
    )
    assert items == [
        {
            "type": "function_call_output",
            "call_id": "call_1",
            "output": "chart:\n[image omitted: tool results are sent as text]",
        },
        {"type": "function_call_output", "call_id": "call_2", "output": '{"total": 3}'},
        {"type": "function_call_output", "call_id": "call_3", "output": "boom"},
    ]
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_feature", "tool_result_image")]


def test_invalid_arguments_are_replayed_verbatim() -> None:
    call = ToolCallPart(id="call_1", name="weather", raw_arguments="{city: Paris")
    items, _ = _input(Message(role="assistant", parts=[call]))
    assert items == [
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "weather",
            "arguments": "{city: Paris",
        }
    ]


@pytest.mark.parametrize(
    "message",
    [
        Message(role="user", parts=[AudioPart(data=b"RIFF", media_type="audio/wav")]),
        Message(role="assistant", parts=[ImagePart(url="https://e.com/a.png")]),
        Message(role="user", parts=[ResourcePart(uri="file:///a.bin", data=b"\x00")]),
        Message(role="tool", parts=[TextPart(text="loose text")]),
        Message(role="user", parts=[ToolCallPart(id="c", name="t")]),
    ],
)
def test_content_the_wire_cannot_carry_is_an_error(message: Message) -> None:
    with pytest.raises(UnsupportedFeatureError, match="Responses API"):
        _input(message)


# -- reasoning replay ------------------------------------------------------------------------

OURS = ReasoningPart(
    text="Think first.", signature="gAAAAenc", id="rs_1", provider="openai", model="gpt-5"
)
CALL = ToolCallPart(id="call_1", name="weather", arguments={"city": "Oslo"})


def test_own_reasoning_is_replayed_before_its_call_with_its_encrypted_content() -> None:
    items, warnings = _input(Message(role="assistant", parts=[OURS, CALL]))
    assert items == [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "Think first."}],
            "encrypted_content": "gAAAAenc",
        },
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "weather",
            "arguments": '{"city":"Oslo"}',
        },
    ]
    assert warnings == []


@pytest.mark.parametrize(
    "part",
    [
        # Another provider's reasoning, even with a signature: never sent, never as text.
        ReasoningPart(text="Gemini thought.", signature="sig", provider="gemini", model="g"),
        # Ours without encrypted content: with store false its id points at nothing.
        ReasoningPart(text="Summary only.", id="rs_2", provider="openai", model="gpt-5"),
        # Unstamped reasoning (a test double, an old transcript).
        ReasoningPart(text="Who knows."),
    ],
)
def test_other_reasoning_is_left_out_with_one_warning(part: ReasoningPart) -> None:
    items, warnings = _input(
        Message(role="assistant", parts=[part, TextPart(text="Answer.")]),
        Message(role="assistant", parts=[part, TextPart(text="Again.")]),
    )
    assert items == [
        {"role": "assistant", "content": [{"type": "output_text", "text": "Answer."}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Again."}]},
    ]
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_feature", "reasoning")]


def test_stored_conversations_replay_reasoning_by_id() -> None:
    part = ReasoningPart(id="rs_3", provider="openai", model="gpt-5")
    items, warnings = _input(Message(role="assistant", parts=[part, CALL]), stored=True)
    assert items[0] == {"type": "reasoning", "id": "rs_3", "summary": []}
    assert warnings == []


# -- tools and their schemas -----------------------------------------------------------------


def test_a_strict_ready_schema_is_sent_strict_and_unchanged() -> None:
    tools, warnings, schemas = to_responses_tools([_tool(STRICT)])
    assert tools == [
        {
            "type": "function",
            "name": "weather",
            "description": "Current weather.",
            "parameters": STRICT,
            "strict": True,
        }
    ]
    assert (warnings, schemas) == ([], {})


def test_optional_properties_become_nullable_and_their_schema_is_kept_for_parsing() -> None:
    tools, warnings, schemas = to_responses_tools([_tool(OPTIONAL_UNIT)])
    assert tools[0]["strict"] is True
    assert tools[0]["parameters"] == {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": ["string", "null"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    }
    assert list(schemas) == ["weather"]
    assert schemas["weather"].added_nulls == ("#/properties/unit",)
    assert [(w.kind, w.feature) for w in warnings] == [("schema_changed", "required")]


def test_an_open_schema_says_strict_false_explicitly() -> None:
    # strict defaults to TRUE on this API: leaving it out would close the object.
    tools, warnings, schemas = to_responses_tools([_tool(OPEN)])
    assert tools[0]["strict"] is False
    assert tools[0]["parameters"] == OPEN
    assert schemas == {}
    assert [(w.kind, w.feature) for w in warnings] == [("schema_changed", "strict_disabled")]


def test_allowing_lossy_schemas_closes_an_open_one_for_strict_mode() -> None:
    tools, warnings, _ = to_responses_tools([_tool(OPEN)], allow_lossy=True)
    assert tools[0]["strict"] is True
    assert tools[0]["parameters"]["additionalProperties"] is False
    assert [w.feature for w in warnings] == ["additionalProperties"]


def test_title_and_default_keywords_stay_strict() -> None:
    # Accepted by OpenAI (case strict_tool_with_default_and_title_keywords).
    schema = {
        "type": "object",
        "properties": {"unit": {"type": "string", "title": "Unit", "default": "celsius"}},
        "required": ["unit"],
        "additionalProperties": False,
    }
    tools, warnings, _ = to_responses_tools([_tool(schema)])
    assert (tools[0]["parameters"], tools[0]["strict"], warnings) == (schema, True, [])


def test_a_schema_no_dialect_can_take_is_an_error() -> None:
    with pytest.raises(SchemaCompileError):
        to_responses_tools([_tool({"type": "object", "properties": {"a": {"$ref": "https://x"}}})])


# -- whole requests --------------------------------------------------------------------------


def test_a_plain_request_is_stateless() -> None:
    body, warnings = _body()
    assert body == {"model": "gpt-x", "input": [{"role": "user", "content": "hi"}], "store": False}
    assert warnings == []


def test_settings_map_and_unsupported_ones_warn() -> None:
    settings = ModelSettings(
        max_tokens=50,
        temperature=0.2,
        top_p=0.9,
        stop=["x"],
        seed=7,
        reasoning_effort="low",
        timeout=3,
        extra={"service_tier": "flex", "store": True},
    )
    body, warnings = _body(settings=settings)
    assert body == {
        "model": "gpt-x",
        "input": [{"role": "user", "content": "hi"}],
        "store": True,
        "max_output_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.9,
        "reasoning": {"effort": "low"},
        "include": ["reasoning.encrypted_content"],
        "service_tier": "flex",
    }
    assert [(w.kind, w.feature) for w in warnings] == [
        ("unsupported_setting", "stop"),
        ("unsupported_setting", "seed"),
    ]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("weather", {"type": "function", "name": "weather"}),
    ],
)
def test_tool_choice(choice: str, wire: Any) -> None:
    body, _ = _body(
        tools=[_tool(STRICT)],
        tool_choice=choice,
        settings=ModelSettings(parallel_tool_calls=False),
    )
    assert (body["tool_choice"], body["parallel_tool_calls"]) == (wire, False)


def test_tool_choice_without_tools_warns() -> None:
    body, warnings = _body(tool_choice="required")
    assert "tool_choice" not in body
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "tool_choice")]


def test_structured_output_strict_when_nothing_becomes_nullable() -> None:
    body, warnings = _body(output_schema=STRICT, output_name="City answer")
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "City_answer", "schema": STRICT, "strict": True}
    }
    assert warnings == []


@pytest.mark.parametrize("schema", [OPTIONAL_UNIT, OPEN])
def test_structured_output_with_optional_or_open_fields_is_not_strict(
    schema: dict[str, Any],
) -> None:
    body, warnings = _body(output_schema=schema)
    assert body["text"]["format"] == {
        "type": "json_schema",
        "name": "output",
        "schema": schema,
        "strict": False,
    }
    assert [w.feature for w in warnings] == ["strict_disabled"]


def test_custom_tools_declared_in_extra_replay_as_custom_calls() -> None:
    custom = {"type": "custom", "name": "write_sql", "description": "SQL."}
    call = ToolCallPart(id="call_9", name="write_sql", arguments={"input": "SELECT 1"})
    result = ToolResultPart(call_id="call_9", content=[TextPart(text="1")])
    body, _ = _body(
        messages=[
            Message.user("sql?"),
            Message(role="assistant", parts=[call]),
            Message(role="tool", parts=[result]),
        ],
        tools=[_tool(STRICT, "write_sql")],
        tool_choice="write_sql",
        settings=ModelSettings(extra={"tools": [custom]}),
    )
    assert body["tools"] == [custom]  # extra wins, as everywhere
    assert body["tool_choice"] == {"type": "custom", "name": "write_sql"}
    assert body["input"][1:] == [
        {"type": "custom_tool_call", "call_id": "call_9", "name": "write_sql", "input": "SELECT 1"},
        {"type": "custom_tool_call_output", "call_id": "call_9", "output": "1"},
    ]


def test_streaming_asks_for_a_stream() -> None:
    prepared = to_responses_request(
        ModelRequest(messages=[Message.user("hi")]), model_id="gpt-x", stream=True
    )
    assert prepared.body["stream"] is True


def test_arguments_are_replayed_compact_and_unescaped() -> None:
    # As the model writes them, so the replayed prefix is byte-identical for the prompt cache.
    call = ToolCallPart(id="call_1", name="weather", arguments={"city": "Zürich", "days": [1, 2]})
    items, _ = _input(Message(role="assistant", parts=[call]))
    assert items[0]["arguments"] == '{"city":"Zürich","days":[1,2]}'


def test_a_reasoning_summary_is_asked_for_only_when_wanted() -> None:
    # Asking for one by default got unverified organisations a 400.
    request = ModelRequest(
        messages=[Message.user("hi")], settings=ModelSettings(reasoning_effort="high")
    )
    plain = to_responses_request(request, model_id="gpt-5", stream=False).body
    assert plain["reasoning"] == {"effort": "high"}
    asked = to_responses_request(
        request, model_id="gpt-5", stream=False, reasoning_summary="detailed"
    ).body
    assert asked["reasoning"] == {"effort": "high", "summary": "detailed"}
    extra = ModelSettings(
        reasoning_effort="high", extra={"reasoning": {"effort": "high", "summary": "auto"}}
    )
    replaced = to_responses_request(
        ModelRequest(messages=[Message.user("hi")], settings=extra), model_id="gpt-5", stream=False
    ).body
    assert replaced["reasoning"] == {"effort": "high", "summary": "auto"}


def test_the_factory_takes_the_summary_option() -> None:
    from agentkit_adapters.openai_responses import create_responses_adapter

    adapter = create_responses_adapter("gpt-5", api_key="k", reasoning_summary="auto")
    assert adapter.reasoning_summary == "auto"
    assert create_responses_adapter("gpt-5", api_key="k").reasoning_summary is None
