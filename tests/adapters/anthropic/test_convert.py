"""The request converter: literal neutral input, literal Messages API body out."""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.anthropic import (
    VERTEX_ANTHROPIC_VERSION,
    claude_profile,
    to_anthropic_messages,
    to_anthropic_output_schema,
    to_anthropic_request,
)

from agentkit import (
    AudioPart,
    ImagePart,
    Message,
    ModelRequest,
    ModelSettings,
    ReasoningPart,
    ResourcePart,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)
from agentkit.exceptions import SchemaCompileError, UnsupportedFeatureError

MODEL = "claude-sonnet-4-5"
PNG = b"\x89PNG\r\n\x1a\n"
WEATHER = ToolDefinition(
    name="weather",
    description="Current weather.",
    input_schema={"type": "object", "properties": {"city": {"type": "string"}}},
)
CLOCK = ToolDefinition(name="clock", input_schema={"type": "object", "properties": {}})


def _body(request: ModelRequest, **kwargs: Any) -> tuple[dict[str, Any], list[Any]]:
    body, warnings = to_anthropic_request(
        request, model_id=kwargs.pop("model_id", MODEL), stream=False, **kwargs
    )
    return dict(body), warnings


def test_text_conversation() -> None:
    body, warnings = _body(
        ModelRequest(
            messages=[
                Message.system("Be brief."),
                Message.user("Hi"),
                Message.assistant("Hello."),
                Message.system("Answer in French."),
                Message.user("Bye"),
            ]
        )
    )
    assert body == {
        "model": MODEL,
        "max_tokens": 16000,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
            {"role": "user", "content": [{"type": "text", "text": "Bye"}]},
        ],
        "system": [
            {"type": "text", "text": "Be brief."},
            {"type": "text", "text": "Answer in French."},
        ],
    }
    assert warnings == []


@pytest.mark.parametrize(
    ("model_id", "version", "max_tokens", "native", "thinking"),
    [
        ("claude-3-haiku-20240307", (3, 0), 4096, False, False),
        ("claude-3-5-haiku-latest", (3, 5), 8192, False, False),
        ("claude-3-7-sonnet@20250219", (3, 7), 16000, False, True),
        ("claude-sonnet-4-20250514", (4, 0), 16000, False, True),
        ("claude-sonnet-4-0", (4, 0), 16000, False, True),
        ("claude-opus-4-1-20250805", (4, 1), 16000, False, True),
        ("claude-haiku-4-5-20251001", (4, 5), 16000, True, True),
        ("anthropic.claude-opus-4-6-v1", (4, 6), 16000, True, True),
        ("claude-sonnet-5", (5, 0), 16000, True, True),
        ("my-proxy-alias", None, 4096, False, False),
    ],
)
def test_model_profiles(
    model_id: str, version: Any, max_tokens: int, native: bool, thinking: bool
) -> None:
    profile = claude_profile(model_id)
    assert (profile.version, profile.default_max_tokens) == (version, max_tokens)
    assert (profile.native_output, profile.thinking) == (native, thinking)
    body, _ = _body(ModelRequest(messages=[Message.user("x")]), model_id=model_id)
    assert body["max_tokens"] == max_tokens


def test_settings() -> None:
    settings = ModelSettings(
        max_tokens=100, temperature=0.2, top_p=0.9, stop=["END"], seed=7, extra={"top_k": 5}
    )
    # Claude Sonnet 4 still takes temperature and top_p together.
    request = ModelRequest(messages=[Message.user("x")], settings=settings)
    body, warnings = _body(request, model_id="claude-sonnet-4-20250514")
    assert {k: body[k] for k in ("max_tokens", "temperature", "top_p", "stop_sequences")} == {
        "max_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop_sequences": ["END"],
    }
    assert body["top_k"] == 5
    assert "seed" not in body
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "seed")]


@pytest.mark.parametrize("model_id", ["claude-sonnet-4-5", "claude-opus-4-1-20250805"])
def test_newer_models_get_temperature_or_top_p_not_both(model_id: str) -> None:
    settings = ModelSettings(temperature=0.2, top_p=0.9)
    body, warnings = _body(
        ModelRequest(messages=[Message.user("x")], settings=settings), model_id=model_id
    )
    assert body["temperature"] == 0.2
    assert "top_p" not in body
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "top_p")]
    # Alone, top_p is sent.
    alone = ModelSettings(top_p=0.9)
    body, warnings = _body(
        ModelRequest(messages=[Message.user("x")], settings=alone), model_id=model_id
    )
    assert (body["top_p"], warnings) == (0.9, [])


@pytest.mark.parametrize(
    ("choice", "parallel", "wire"),
    [
        (None, None, None),
        ("auto", None, None),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("auto", True, {"type": "auto", "disable_parallel_tool_use": False}),
        ("none", False, {"type": "none"}),
        ("required", None, {"type": "any"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ("weather", None, {"type": "tool", "name": "weather"}),
    ],
)
def test_tool_choice(choice: str | None, parallel: bool | None, wire: Any) -> None:
    request = ModelRequest(
        messages=[Message.user("x")],
        tools=[WEATHER, CLOCK],
        tool_choice=choice,
        settings=ModelSettings(parallel_tool_calls=parallel),
    )
    body, warnings = _body(request)
    assert body.get("tool_choice") == wire
    assert body["tools"] == [
        {
            "name": "weather",
            "description": "Current weather.",
            "input_schema": WEATHER.input_schema,
        },
        {"name": "clock", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert warnings == []


def test_tool_choice_without_tools_is_a_warning() -> None:
    body, warnings = _body(ModelRequest(messages=[Message.user("x")], tool_choice="required"))
    assert "tool_choice" not in body
    assert "tools" not in body
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "tool_choice")]


def test_tool_loop_turns() -> None:
    messages = [
        Message.user("Weather in Paris and the time?"),
        Message(
            role="assistant",
            parts=[
                TextPart(text="Checking."),
                ToolCallPart(id="toolu_1", name="weather", arguments={"city": "Paris"}),
                ToolCallPart(id="toolu_2", name="clock", raw_arguments="{not json"),
            ],
        ),
        Message(
            role="tool",
            parts=[
                ToolResultPart(call_id="toolu_1", content=[TextPart(text="20 C")]),
                ToolResultPart(call_id="toolu_2", content=[TextPart(text="bad")], is_error=True),
            ],
        ),
        Message.user("Thanks; and tomorrow?"),
    ]
    system, turns, warnings = to_anthropic_messages(messages)
    assert system == []
    assert turns == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and the time?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool_use", "id": "toolu_2", "name": "clock", "input": {}},
            ],
        },
        {
            "role": "user",  # the tool turn and the user turn merged, results first
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "20 C"}],
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": [{"type": "text", "text": "bad"}],
                    "is_error": True,
                },
                {"type": "text", "text": "Thanks; and tomorrow?"},
            ],
        },
    ]
    assert warnings == []


def test_tool_result_content_blocks() -> None:
    result = ToolResultPart(
        call_id="t",
        content=[
            TextPart(text="a chart:"),
            ImagePart(data=PNG, media_type="image/png"),
            ResourcePart(uri="file:///notes.txt", text="notes"),
            ResourcePart(uri="https://example.com/x"),
            AudioPart(data=b"RIFF", media_type="audio/wav"),
        ],
    )
    empty = ToolResultPart(call_id="u", structured_content={"ok": True})
    _, turns, warnings = to_anthropic_messages([Message(role="tool", parts=[result, empty])])
    first, second = turns[0]["content"]
    assert first["content"] == [
        {"type": "text", "text": "a chart:"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "text", "text": "notes"},
        {"type": "text", "text": "[resource: https://example.com/x]"},
        {"type": "text", "text": "[audio omitted: Claude cannot read it]"},
    ]
    assert second == {
        "type": "tool_result",
        "tool_use_id": "u",
        "content": [{"type": "text", "text": '{"ok": true}'}],
    }
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_feature", "tool_result_audio")]


def test_images_in_user_messages() -> None:
    message = Message(
        role="user",
        parts=[
            TextPart(text="Compare"),
            ImagePart(data=PNG, media_type="image/png"),
            ImagePart(url="https://example.com/cat.jpg"),
            ImagePart(url="data:image/webp;base64,UklGRg=="),
        ],
    )
    _, turns, _ = to_anthropic_messages([message])
    assert turns[0]["content"][1:] == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/webp", "data": "UklGRg=="},
        },
    ]


@pytest.mark.parametrize(
    "message",
    [
        Message(role="user", parts=[ImagePart(data=b"II*", media_type="image/tiff")]),
        Message(role="user", parts=[AudioPart(data=b"RIFF", media_type="audio/wav")]),
        Message(role="assistant", parts=[ImagePart(data=PNG, media_type="image/png")]),
        Message(role="user", parts=[ToolCallPart(id="x", name="y")]),
        Message(
            role="user",
            parts=[ResourcePart(uri="file:///a.bin", data=b"\0", media_type="application/zip")],
        ),
    ],
)
def test_content_claude_cannot_take_is_an_error(message: Message) -> None:
    with pytest.raises(UnsupportedFeatureError, match="anthropic"):
        to_anthropic_messages([message], model_id=MODEL)


def _assistant(*parts: Any) -> Message:
    return Message(role="assistant", parts=[*parts, TextPart(text="42")])


def test_reasoning_goes_back_only_to_anthropic() -> None:
    thinking = ReasoningPart(text="hmm", signature="sig==", provider="anthropic", model=MODEL)
    redacted = ReasoningPart(signature="opaque==", provider="anthropic", model=MODEL)
    theirs = ReasoningPart(text="plan", signature="enc", provider="openai-responses", model="o")
    unsigned = ReasoningPart(text="partial", provider="anthropic")
    _, turns, warnings = to_anthropic_messages(
        [Message.user("q"), _assistant(thinking, redacted, theirs, unsigned)]
    )
    assert turns[1]["content"] == [
        {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
        {"type": "redacted_thinking", "data": "opaque=="},
        {"type": "text", "text": "42"},
    ]
    (warning,) = warnings
    assert (warning.kind, warning.feature) == ("unsupported_feature", "reasoning")
    assert "anthropic, openai-responses" in warning.message


def test_another_provider_name_treats_anthropic_reasoning_as_foreign() -> None:
    thinking = ReasoningPart(text="hmm", signature="sig==", provider="anthropic")
    _, turns, warnings = to_anthropic_messages(
        [Message.user("q"), _assistant(thinking)], provider="vertex"
    )
    assert turns[1]["content"] == [{"type": "text", "text": "42"}]
    assert [w.feature for w in warnings] == ["reasoning"]


def test_gemini_signatures_under_the_same_provider_name_stay_out() -> None:
    # Regression: on Vertex, "vertex" stamps Gemini's thought signatures too; Claude
    # on Vertex was sent them as redacted_thinking blocks (and signed Gemini thoughts
    # as thinking blocks), which it cannot verify.
    gemini = "gemini-2.5-flash"
    thought = ReasoningPart(text="gemini thinks", signature="g1", provider="vertex", model=gemini)
    signed = ReasoningPart(signature="g2", provider="vertex", model=gemini)
    claude = ReasoningPart(
        text="hmm", signature="sig==", provider="vertex", model="claude-sonnet-4-5@20250929"
    )
    _, turns, warnings = to_anthropic_messages(
        [Message.user("q"), _assistant(thought, signed), Message.user("r"), _assistant(claude)],
        provider="vertex",
    )
    assert turns[1]["content"] == [{"type": "text", "text": "42"}]
    assert turns[3]["content"] == [
        {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
        {"type": "text", "text": "42"},
    ]
    assert [w.feature for w in warnings] == ["reasoning"]


def test_empty_text_and_empty_turns_are_left_out() -> None:
    _, turns, _ = to_anthropic_messages(
        [Message.user("q"), Message.assistant(""), Message.user("again")]
    )
    assert turns == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "q"}, {"type": "text", "text": "again"}],
        }
    ]


def test_prompt_cache_marks_the_stable_prefix() -> None:
    request = ModelRequest(
        messages=[
            Message.system("Long instructions."),
            Message.user("q"),
            Message(
                role="assistant",
                parts=[ReasoningPart(text="t", signature="s", provider="anthropic")],
            ),
        ],
        tools=[WEATHER, CLOCK],
    )
    body, _ = _body(request, cache=True)
    ephemeral = {"type": "ephemeral"}
    assert [t.get("cache_control") for t in body["tools"]] == [None, ephemeral]
    assert body["system"] == [
        {"type": "text", "text": "Long instructions.", "cache_control": ephemeral}
    ]
    # A thinking block cannot carry the mark, and is the only block: nothing to mark there.
    assert body["messages"][-1]["content"] == [
        {"type": "thinking", "thinking": "t", "signature": "s"}
    ]
    assert body["messages"][0]["content"][0]["cache_control"] == ephemeral
    plain, _ = _body(request)
    assert "cache_control" not in repr(plain)


def test_vertex_body() -> None:
    body, _ = _body(
        ModelRequest(messages=[Message.user("x")]),
        model_id="claude-3-7-sonnet@20250219",
        include_model=False,
        anthropic_version=VERTEX_ANTHROPIC_VERSION,
    )
    assert body == {
        "anthropic_version": "vertex-2023-10-16",
        "max_tokens": 16000,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}],
    }


def test_stream_flag() -> None:
    body, _ = to_anthropic_request(
        ModelRequest(messages=[Message.user("x")]), model_id=MODEL, stream=True
    )
    assert body["stream"] is True


# -- thinking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effort", "max_tokens", "budget", "sent_max", "warned"),
    [
        ("minimal", None, 1024, 16000, False),
        ("high", None, 24576, 24576 + 4096, False),
        ("medium", 20000, 8192, 20000, False),
        ("high", 10000, 5000, 10000, True),
    ],
)
def test_reasoning_effort_is_a_thinking_budget(
    effort: Any, max_tokens: int | None, budget: int, sent_max: int, warned: bool
) -> None:
    settings = ModelSettings(reasoning_effort=effort, max_tokens=max_tokens)
    body, warnings = _body(ModelRequest(messages=[Message.user("x")], settings=settings))
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == sent_max
    assert [w.feature for w in warnings] == (["reasoning_effort"] if warned else [])


@pytest.mark.parametrize(
    ("model_id", "tool_choice", "max_tokens"),
    [
        (MODEL, "required", None),  # the API refuses thinking with a forced tool
        (MODEL, "weather", None),
        (MODEL, None, 1024),  # no room for the smallest budget
        ("claude-3-5-sonnet-20241022", None, None),  # no extended thinking
    ],
)
def test_thinking_left_out_with_a_warning(
    model_id: str, tool_choice: str | None, max_tokens: int | None
) -> None:
    request = ModelRequest(
        messages=[Message.user("x")],
        tools=[WEATHER],
        tool_choice=tool_choice,
        settings=ModelSettings(reasoning_effort="low", max_tokens=max_tokens),
    )
    body, warnings = _body(request, model_id=model_id)
    assert "thinking" not in body
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "reasoning_effort")]


# -- structured output -------------------------------------------------------------------------


def test_output_schema_is_native_with_closed_objects_and_bounds_in_descriptions() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 40},
            "days": {
                "type": "array",
                "minItems": 2,
                "items": {
                    "type": "object",
                    "properties": {"temp": {"type": "number", "minimum": -90, "description": "C"}},
                    "required": ["temp"],
                },
            },
        },
        "required": ["city"],
    }
    body, warnings = _body(ModelRequest(messages=[Message.user("x")], output_schema=schema))
    assert body["output_config"] == {
        "format": {
            "type": "json_schema",
            "schema": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "(maxLength: 40)"},
                    "days": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "temp": {"type": "number", "description": "C (minimum: -90)"}
                            },
                            "required": ["temp"],
                            "additionalProperties": False,
                        },
                        "description": "(minItems: 2)",
                    },
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        }
    }
    assert schema["properties"]["city"] == {"type": "string", "maxLength": 40}  # not modified
    assert sorted(w.feature or "" for w in warnings) == [
        "additionalProperties",
        "maxLength",
        "minItems",
        "minimum",
    ]
    assert all(w.kind == "schema_changed" for w in warnings)
    (closed,) = [w for w in warnings if w.feature == "additionalProperties"]
    assert "#, #/properties/days/items" in closed.message


def test_an_output_schema_that_allows_other_keys_is_refused_unless_lossy() -> None:
    schema = {"type": "object", "additionalProperties": {"type": "string"}}
    with pytest.raises(SchemaCompileError, match="additionalProperties"):
        to_anthropic_output_schema(schema)
    closed, warnings = to_anthropic_output_schema(schema, allow_lossy=True)
    assert closed == {"type": "object", "additionalProperties": False}
    assert [w.feature for w in warnings] == ["additionalProperties"]


def test_sampling_settings_the_api_refuses_with_thinking_are_left_out() -> None:
    settings = ModelSettings(reasoning_effort="low", temperature=0, top_p=0.9)
    body, warnings = _body(ModelRequest(messages=[Message.user("x")], settings=settings))
    assert "temperature" not in body
    assert "top_p" not in body
    assert [w.feature for w in warnings] == ["temperature", "top_p"]
    # Claude Sonnet 4 takes both samplers at once (newer models take one).
    allowed = ModelSettings(reasoning_effort="low", temperature=1, top_p=0.95)
    request = ModelRequest(messages=[Message.user("x")], settings=allowed)
    body, warnings = _body(request, model_id="claude-sonnet-4-20250514")
    assert (body["temperature"], body["top_p"]) == (1, 0.95)
    assert warnings == []
