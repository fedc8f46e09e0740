"""The pure Ollama request conversion: literal neutral input, literal wire output."""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.ollama import (
    resolve_ollama_host,
    to_ollama_messages,
    to_ollama_request,
    to_ollama_tools,
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

WEATHER = ToolDefinition(
    name="weather",
    description="Current weather.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
)
PNG = b"\x89PNG\r\n\x1a\n-tiny"


def _messages(*messages: Message) -> tuple[list[Any], list[RunWarning]]:
    return to_ollama_messages(list(messages), provider="ollama", model_id="llama3.2")


def _body(**kwargs: Any) -> tuple[dict[str, Any], list[RunWarning]]:
    request = ModelRequest(messages=[Message.user("hi")], **kwargs)
    body, warnings = to_ollama_request(request, model_id="llama3.2", stream=True)
    return dict(body), warnings


# -- messages --------------------------------------------------------------------------------


def test_a_whole_tool_round_trip() -> None:
    out, warnings = _messages(
        Message.system("Be brief."),
        Message.user("Weather in Paris and Rome?"),
        Message(
            role="assistant",
            parts=[
                ReasoningPart(text="Two cities.", provider="ollama", model="qwen3"),
                TextPart(text="Checking."),
                ToolCallPart(id="call_1", name="weather", arguments={"city": "Paris"}),
                ToolCallPart(id="call_2", name="weather", arguments={"city": "Rome"}),
            ],
        ),
        Message(
            role="tool",
            parts=[
                ToolResultPart(call_id="call_1", content=[TextPart(text="12 C")]),
                ToolResultPart(call_id="call_2", name="weather", content=[TextPart(text="18 C")]),
            ],
        ),
    )
    assert warnings == []
    assert out == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "thinking": "Two cities.",
            "tool_calls": [
                # Arguments are objects, never strings.
                {"id": "call_1", "function": {"name": "weather", "arguments": {"city": "Paris"}}},
                {"id": "call_2", "function": {"name": "weather", "arguments": {"city": "Rome"}}},
            ],
        },
        # tool_name comes from the part, else from the call it answers.
        {"role": "tool", "content": "12 C", "tool_name": "weather", "tool_call_id": "call_1"},
        {"role": "tool", "content": "18 C", "tool_name": "weather", "tool_call_id": "call_2"},
    ]


def test_images_are_base64_on_the_user_message() -> None:
    out, _ = _messages(
        Message(
            role="user",
            parts=[
                TextPart(text="What is this?"),
                ImagePart(data=PNG, media_type="image/png"),
                ImagePart(url="data:image/png;base64,QUJD"),
            ],
        )
    )
    assert out == [
        {"role": "user", "content": "What is this?", "images": ["iVBORw0KGgotdGlueQ==", "QUJD"]}
    ]


@pytest.mark.parametrize(
    "message",
    [
        Message(role="user", parts=[ImagePart(url="https://example.com/cat.png")]),
        Message(role="user", parts=[AudioPart(data=b"RIFF", media_type="audio/wav")]),
        Message(role="assistant", parts=[ImagePart(data=PNG, media_type="image/png")]),
        Message(role="user", parts=[ResourcePart(uri="file:///x.bin", data=b"\x00")]),
        Message(role="tool", parts=[TextPart(text="stray")]),
    ],
)
def test_content_ollama_cannot_carry_raises(message: Message) -> None:
    with pytest.raises(UnsupportedFeatureError):
        _messages(message)


def test_text_parts_join_with_newlines_and_links_become_text() -> None:
    out, _ = _messages(
        Message(
            role="user",
            parts=[
                TextPart(text="Read"),
                ResourcePart(uri="https://example.com/a.txt"),
                ResourcePart(uri="mem://b", text="inline"),
            ],
        )
    )
    assert out == [
        {"role": "user", "content": "Read\n[resource: https://example.com/a.txt]\ninline"}
    ]


def test_rich_tool_results_become_text_with_warnings() -> None:
    out, warnings = _messages(
        Message(
            role="tool",
            parts=[
                ToolResultPart(
                    call_id="c1",
                    content=[TextPart(text="chart:"), ImagePart(data=PNG, media_type="image/png")],
                ),
                ToolResultPart(call_id="c2", structured_content={"temp": 12}),
            ],
        )
    )
    assert out == [
        {
            "role": "tool",
            "content": "chart:\n[image omitted: tool results are sent as text]",
            "tool_call_id": "c1",
        },
        {"role": "tool", "content": '{"temp": 12}', "tool_call_id": "c2"},
    ]
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_feature", "tool_result_image")]


def test_results_in_a_user_message_come_before_its_text() -> None:
    out, _ = _messages(
        Message(
            role="user",
            parts=[
                ToolResultPart(call_id="c1", name="weather", content=[TextPart(text="12 C")]),
                TextPart(text="And tomorrow?"),
            ],
        )
    )
    assert [m["role"] for m in out] == ["tool", "user"]


def test_foreign_reasoning_is_left_out_once_with_a_warning() -> None:
    foreign = ReasoningPart(text="hmm", signature="sig", provider="openai", model="o3")
    out, warnings = _messages(
        Message(role="assistant", parts=[foreign, TextPart(text="A")]),
        Message(role="assistant", parts=[foreign, TextPart(text="B")]),
    )
    assert out == [{"role": "assistant", "content": "A"}, {"role": "assistant", "content": "B"}]
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_feature", "reasoning")]


def test_invalid_arguments_are_replayed_as_an_empty_object() -> None:
    call = ToolCallPart(id="c1", name="weather", raw_arguments="{city: Paris")
    out, warnings = _messages(Message(role="assistant", parts=[call]))
    assert out[0]["tool_calls"] == [{"id": "c1", "function": {"name": "weather", "arguments": {}}}]
    assert [w.feature for w in warnings] == ["tool_call_arguments"]


# -- tools and the request -------------------------------------------------------------------


def test_tools_in_openai_function_shape_with_compiled_schemas() -> None:
    tool = ToolDefinition(
        name="lookup",
        title="Look up",
        input_schema={
            "type": "object",
            "properties": {"who": {"$ref": "#/$defs/Person"}},
            "$defs": {"Person": {"type": "string"}},
        },
    )
    tools, warnings = to_ollama_tools([WEATHER, tool], allow_lossy=False, provider="ollama")
    assert tools == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "Current weather.",
                "parameters": WEATHER.input_schema,
            },
        },
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Look up",
                "parameters": {"type": "object", "properties": {"who": {"type": "string"}}},
            },
        },
    ]
    assert [(w.kind, w.feature) for w in warnings] == [("schema_changed", "$ref")]
    assert "lookup" in warnings[0].message


def test_schema_compilations_are_remembered_per_schema_content() -> None:
    first, _ = to_ollama_tools([WEATHER], allow_lossy=False, provider="ollama")
    again, _ = to_ollama_tools([WEATHER], allow_lossy=False, provider="ollama")
    assert again[0]["function"]["parameters"] is first[0]["function"]["parameters"]
    copy = ToolDefinition(name="weather", input_schema=dict(WEATHER.input_schema))
    other, _ = to_ollama_tools([copy], allow_lossy=False, provider="ollama")
    # Equal content, another object: the same entry of the shared memo.
    assert other[0]["function"]["parameters"] is first[0]["function"]["parameters"]


def test_settings_go_to_options_and_think_to_the_top_level() -> None:
    body, warnings = _body(
        settings=ModelSettings(
            max_tokens=64, temperature=0.2, top_p=0.9, stop=["\n"], seed=7, reasoning_effort="high"
        )
    )
    assert warnings == []
    assert body == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "options": {"num_predict": 64, "temperature": 0.2, "top_p": 0.9, "stop": ["\n"], "seed": 7},
        "think": "high",
    }


def test_minimal_effort_is_sent_as_low_with_a_warning() -> None:
    body, warnings = _body(settings=ModelSettings(reasoning_effort="minimal"))
    assert body["think"] == "low"
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "reasoning_effort")]


def test_extra_moves_options_in_and_think_out() -> None:
    body, _ = _body(
        settings=ModelSettings(
            temperature=0,
            extra={
                "num_ctx": 8192,
                "keep_alive": "10m",
                "options": {"top_k": 20, "think": True},
            },
        )
    )
    # Ollama ignores options at the top level and think inside options, silently.
    assert body["options"] == {"temperature": 0, "top_k": 20, "num_ctx": 8192}
    assert body["think"] is True
    assert body["keep_alive"] == "10m"


def test_extra_think_overrides_the_effort_level() -> None:
    body, _ = _body(settings=ModelSettings(reasoning_effort="low", extra={"think": False}))
    assert body["think"] is False


def test_tool_choice_none_sends_no_tools() -> None:
    body, warnings = _body(tools=[WEATHER], tool_choice="none")
    assert "tools" not in body
    assert warnings == []


@pytest.mark.parametrize("choice", ["required", "weather"])
def test_forcing_a_tool_is_not_possible(choice: str) -> None:
    body, warnings = _body(tools=[WEATHER], tool_choice=choice)
    assert len(body["tools"]) == 1
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "tool_choice")]


def test_parallel_tool_calls_setting_is_a_warning() -> None:
    body, warnings = _body(tools=[WEATHER], settings=ModelSettings(parallel_tool_calls=False))
    assert "parallel_tool_calls" not in body
    assert "options" not in body
    assert [w.feature for w in warnings] == ["parallel_tool_calls"]


def test_output_schema_is_the_format() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    body, warnings = _body(output_schema=schema, output_name="count")
    assert body["format"] == schema
    assert warnings == []


def test_a_schema_ollama_cannot_take_is_a_user_error() -> None:
    remote = {"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}}
    with pytest.raises(SchemaCompileError, match="points outside the schema"):
        _body(tools=[ToolDefinition(name="remote", input_schema=remote)])
    with pytest.raises(SchemaCompileError):
        _body(output_schema=remote)


def test_output_schema_changes_are_warnings() -> None:
    body, warnings = _body(output_schema={}, output_name="answer")
    assert body["format"] == {"type": "object"}
    assert [(w.kind, w.provider) for w in warnings] == [("schema_changed", "ollama")]
    assert "answer" in warnings[0].message


# -- OLLAMA_HOST -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "url"),
    [
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("localhost", "http://localhost:11434"),
        ("10.0.0.5:8080", "http://10.0.0.5:8080"),
        (":56789", "http://127.0.0.1:56789"),
        ("http://example.com", "http://example.com:80"),
        ("https://ollama.com", "https://ollama.com:443"),
        ("https://example.com:8443/ollama/", "https://example.com:8443/ollama"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("[::]:11435", "http://[::1]:11435"),
        ("[::1]", "http://[::1]:11434"),
        ("box:notaport", "http://box:11434"),
    ],
)
def test_ollama_host_is_read_like_ollama_reads_it(value: str | None, url: str) -> None:
    assert resolve_ollama_host(value) == url
