"""Neutral request -> Gemini JSON: literal input, literal output."""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.gemini import (
    GENERATED_ID_PREFIX,
    to_gemini_contents,
    to_gemini_request,
    to_gemini_tool_config,
    to_gemini_tools,
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
from agentkit._schema_compile import SchemaCompileError
from agentkit.exceptions import UnsupportedFeatureError

MODEL = "gemini-2.5-flash"
WEATHER = ToolDefinition(
    name="weather",
    description="Current weather.",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


def _body(**kwargs: Any) -> dict[str, Any]:
    messages = kwargs.pop("messages", [Message.user("hi")])
    body, _ = to_gemini_request(ModelRequest(messages=messages, **kwargs), model_id=MODEL)
    return dict(body)


def _sig(signature: str, model: str = MODEL, provider: str = "gemini") -> ReasoningPart:
    return ReasoningPart(signature=signature, provider=provider, model=model)


# -- messages --------------------------------------------------------------------------------


def test_roles_system_instruction_and_merged_turns() -> None:
    system, contents, warnings = to_gemini_contents(
        [
            Message.system("Be brief."),
            Message.user("Hello"),
            Message.user("again"),
            Message.assistant("Hi."),
            Message.system("And polite."),
        ],
        model_id=MODEL,
    )
    assert system == {"parts": [{"text": "Be brief."}, {"text": "And polite."}]}
    assert contents == [
        {"role": "user", "parts": [{"text": "Hello"}, {"text": "again"}]},
        {"role": "model", "parts": [{"text": "Hi."}]},
    ]
    assert warnings == []


def test_tool_calls_and_results_with_gemini3_ids() -> None:
    _, contents, _ = to_gemini_contents(
        [
            Message.user("Weather?"),
            Message(
                role="assistant",
                parts=[
                    _sig("c2ln", model="gemini-3-flash"),
                    ToolCallPart(id="a1b2", name="weather", arguments={"city": "Oslo"}),
                    ToolCallPart(id="c3d4", name="weather", arguments={"city": "Rome"}),
                ],
            ),
            Message(
                role="tool",
                parts=[
                    ToolResultPart(call_id="a1b2", content=[TextPart(text="rain")]),
                    ToolResultPart(
                        call_id="c3d4",
                        name="weather",
                        content=[TextPart(text="boom")],
                        is_error=True,
                    ),
                ],
            ),
            Message.user("Thanks"),
        ],
        model_id="gemini-3-flash",
    )
    assert contents == [
        {"role": "user", "parts": [{"text": "Weather?"}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "weather", "args": {"city": "Oslo"}, "id": "a1b2"},
                    "thoughtSignature": "c2ln",
                },
                {"functionCall": {"name": "weather", "args": {"city": "Rome"}, "id": "c3d4"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "weather",
                        "response": {"output": "rain"},
                        "id": "a1b2",
                    }
                },
                {
                    "functionResponse": {
                        "name": "weather",
                        "response": {"error": "boom"},
                        "id": "c3d4",
                    }
                },
                {"text": "Thanks"},
            ],
        },
    ]


def test_generated_ids_are_not_sent_and_structured_results_go_as_objects() -> None:
    call_id = f"{GENERATED_ID_PREFIX}r1-0"
    _, contents, _ = to_gemini_contents(
        [
            Message.user("x"),
            Message(role="assistant", parts=[ToolCallPart(id=call_id, name="get", arguments={})]),
            Message(
                role="tool",
                parts=[
                    ToolResultPart(
                        call_id=call_id,
                        content=[TextPart(text='{"a": 1}')],
                        structured_content={"a": 1},
                    )
                ],
            ),
        ],
        model_id=MODEL,
    )
    assert contents[1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "get", "args": {}}}]},
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get", "response": {"output": {"a": 1}}}}],
        },
    ]


def test_signatures_attach_to_the_part_after_them_or_stand_alone() -> None:
    message = Message(
        role="assistant",
        parts=[
            ReasoningPart(
                text="Let me think.", signature="dGhvdWdodA==", provider="gemini", model=MODEL
            ),
            ReasoningPart(text="", signature="ZW1wdHk=", provider="gemini", model=MODEL),
            _sig("dGV4dA=="),
            TextPart(text="Answer."),
            _sig("dGFpbA=="),
        ],
    )
    _, contents, warnings = to_gemini_contents([message], model_id=MODEL)
    assert contents == [
        {
            "role": "model",
            "parts": [
                {"text": "Let me think.", "thought": True, "thoughtSignature": "dGhvdWdodA=="},
                {"text": "", "thought": True, "thoughtSignature": "ZW1wdHk="},
                {"text": "Answer.", "thoughtSignature": "dGV4dA=="},
                {"text": "", "thoughtSignature": "dGFpbA=="},
            ],
        }
    ]
    assert warnings == []


def test_reasoning_of_other_providers_and_models_is_left_out_once() -> None:
    message = Message(
        role="assistant",
        parts=[
            ReasoningPart(text="openai thoughts", provider="openai", model="o3"),
            _sig("b3RoZXI=", model="gemini-2.5-pro"),
            ReasoningPart(text="unstamped"),
            TextPart(text="Hi."),
        ],
    )
    _, contents, warnings = to_gemini_contents([message], model_id=MODEL)
    assert contents == [{"role": "model", "parts": [{"text": "Hi."}]}]
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_feature", "reasoning")]


def test_an_assistant_turn_with_nothing_left_is_skipped() -> None:
    message = Message(role="assistant", parts=[_sig("eA==", provider="openai")])
    _, contents, _ = to_gemini_contents(
        [Message.user("a"), message, Message.user("b")], model_id=MODEL
    )
    assert contents == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


def test_media_parts() -> None:
    _, contents, _ = to_gemini_contents(
        [
            Message(
                role="user",
                parts=[
                    ImagePart(data=b"\x89PNG", media_type="image/png"),
                    ImagePart(url="https://example.com/cat.jpg"),
                    ImagePart(url="gs://bucket/doc", media_type="application/pdf"),
                    AudioPart(data=b"RIFF", media_type="audio/wav"),
                    ResourcePart(uri="file:///notes.txt", text="notes"),
                    ResourcePart(
                        uri="file:///a.bin", data=b"\x00", media_type="application/octet-stream"
                    ),
                    ResourcePart(uri="https://example.com/doc"),
                ],
            )
        ],
        model_id=MODEL,
    )
    assert contents[0]["parts"] == [
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw=="}},
        {"fileData": {"fileUri": "https://example.com/cat.jpg", "mimeType": "image/jpeg"}},
        {"fileData": {"fileUri": "gs://bucket/doc", "mimeType": "application/pdf"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"text": "notes"},
        {"inlineData": {"mimeType": "application/octet-stream", "data": "AA=="}},
        {"text": "[resource: https://example.com/doc]"},
    ]


def test_an_image_in_a_tool_result_becomes_a_placeholder_and_a_warning() -> None:
    result = ToolResultPart(
        call_id="c1",
        name="shot",
        content=[TextPart(text="see"), ImagePart(data=b"x", media_type="image/png")],
    )
    _, contents, warnings = to_gemini_contents(
        [Message(role="tool", parts=[result])], model_id=MODEL
    )
    assert contents[0]["parts"][0]["functionResponse"]["response"] == {
        "output": "see\n[image omitted: tool results are sent as text]"
    }
    assert [w.feature for w in warnings] == ["tool_result_image"]


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (Message(role="tool", parts=[ToolResultPart(call_id="nope")]), "whose tool is unknown"),
        (Message(role="system", parts=[ImagePart(url="https://x/y.png")]), "system message"),
        (Message(role="user", parts=[ToolCallPart(id="1", name="x")]), "tool call in a user"),
        (Message(role="assistant", parts=[ToolResultPart(call_id="1", name="x")]), "assistant"),
    ],
)
def test_content_gemini_cannot_carry_raises(message: Message, match: str) -> None:
    with pytest.raises(UnsupportedFeatureError, match=match) as info:
        to_gemini_contents([message], model_id=MODEL)
    assert info.value.provider == "gemini"


# -- tools, tool choice, schemas -------------------------------------------------------------


def test_tools_use_parameters_json_schema() -> None:
    tools, warnings = to_gemini_tools([WEATHER])
    assert tools == [
        {
            "functionDeclarations": [
                {
                    "name": "weather",
                    "description": "Current weather.",
                    "parametersJsonSchema": WEATHER.input_schema,
                }
            ]
        }
    ]
    assert warnings == []


def test_a_tool_without_parameters_sends_no_schema() -> None:
    bare = ToolDefinition(
        name="now", title="Now", input_schema={"type": "object", "properties": {}}
    )
    tools, _ = to_gemini_tools([bare])
    assert tools == [{"functionDeclarations": [{"name": "now", "description": "Now"}]}]


def test_openapi_parameters_only_where_they_keep_the_schema() -> None:
    code = ToolDefinition(
        name="lookup",
        input_schema={
            "type": "object",
            "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}$", "maxLength": 3}},
        },
    )
    tools, warnings = to_gemini_tools([code])
    assert tools[0]["functionDeclarations"][0] == {
        "name": "lookup",
        "parameters": code.input_schema,  # pattern and maxLength exist only in the OpenAPI subset
    }
    assert warnings == []


def test_lossy_schemas_raise_unless_allowed_and_changes_become_warnings() -> None:
    both = ToolDefinition(
        name="both",
        input_schema={
            "type": "object",
            "properties": {"code": {"type": "string", "pattern": "^x"}},
            "additionalProperties": False,
        },
    )
    with pytest.raises(SchemaCompileError, match="pattern"):
        to_gemini_tools([both])
    tools, warnings = to_gemini_tools([both], allow_lossy=True)
    assert tools[0]["functionDeclarations"][0]["parametersJsonSchema"] == {
        "type": "object",
        "properties": {"code": {"type": "string"}},
        "additionalProperties": False,
    }
    assert [(w.kind, w.feature, w.provider) for w in warnings] == [
        ("schema_changed", "pattern", "gemini")
    ]
    assert "tool 'both'" in warnings[0].message
    # The request path honours ModelRequest.allow_lossy_schemas.
    with pytest.raises(SchemaCompileError):
        _body(tools=[both])
    _, request_warnings = to_gemini_request(
        ModelRequest(messages=[Message.user("x")], tools=[both], allow_lossy_schemas=True),
        model_id=MODEL,
    )
    assert request_warnings == warnings


def test_non_lossy_changes_are_warnings() -> None:
    with_default = ToolDefinition(
        name="w",
        input_schema={
            "type": "object",
            "properties": {"unit": {"enum": ["c", "f"], "default": "c"}},
        },
    )
    tools, warnings = to_gemini_tools([with_default])
    assert tools[0]["functionDeclarations"][0]["parametersJsonSchema"] == {
        "type": "object",
        "properties": {"unit": {"enum": ["c", "f"]}},
    }
    assert [(w.kind, w.feature) for w in warnings] == [("schema_changed", "default")]


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("required", {"mode": "ANY"}),
        ("weather", {"mode": "ANY", "allowedFunctionNames": ["weather"]}),
    ],
)
def test_tool_choice(choice: str, config: dict[str, Any]) -> None:
    assert to_gemini_tool_config(choice) == {"functionCallingConfig": config}
    assert _body(tools=[WEATHER], tool_choice=choice)["toolConfig"] == {
        "functionCallingConfig": config
    }


def test_tool_choice_without_tools_is_a_warning() -> None:
    body, warnings = to_gemini_request(
        ModelRequest(messages=[Message.user("x")], tool_choice="required"), model_id=MODEL
    )
    assert "toolConfig" not in body
    assert [w.feature for w in warnings] == ["tool_choice"]


def test_tool_name_gemini_may_reject_is_a_warning() -> None:
    odd = ToolDefinition(name="9lives", input_schema={"type": "object"})
    _, warnings = to_gemini_tools([odd])
    assert [w.feature for w in warnings] == ["tool_name"]


# -- settings and structured output ----------------------------------------------------------


def test_generation_config() -> None:
    settings = ModelSettings(max_tokens=64, temperature=0.2, top_p=0.9, stop=["END"], seed=7)
    assert _body(settings=settings)["generationConfig"] == {
        "maxOutputTokens": 64,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END"],
        "seed": 7,
    }


@pytest.mark.parametrize(
    ("model", "effort", "thinking", "warned"),
    [
        ("gemini-2.5-flash", "low", {"thinkingBudget": 2048, "includeThoughts": True}, False),
        ("gemini-2.5-pro", "minimal", {"thinkingBudget": 512, "includeThoughts": True}, False),
        ("gemini-3-pro-preview", "high", {"thinkingLevel": "high", "includeThoughts": True}, False),
        (
            "gemini-3-pro-preview",
            "medium",
            {"thinkingLevel": "high", "includeThoughts": True},
            True,
        ),
        (
            "gemini-3-flash-preview",
            "minimal",
            {"thinkingLevel": "minimal", "includeThoughts": True},
            False,
        ),
        ("gemini-2.0-flash", "high", None, True),
    ],
)
def test_reasoning_effort(model: str, effort: Any, thinking: Any, warned: bool) -> None:
    request = ModelRequest(
        messages=[Message.user("x")], settings=ModelSettings(reasoning_effort=effort)
    )
    body, warnings = to_gemini_request(request, model_id=model)
    assert body.get("generationConfig", {}).get("thinkingConfig") == thinking
    assert [w.feature for w in warnings] == (["reasoning_effort"] if warned else [])


def test_parallel_tool_calls_setting_is_a_warning() -> None:
    request = ModelRequest(
        messages=[Message.user("x")], settings=ModelSettings(parallel_tool_calls=False)
    )
    body, warnings = to_gemini_request(request, model_id=MODEL)
    assert "generationConfig" not in body
    assert [(w.kind, w.feature) for w in warnings] == [
        ("unsupported_setting", "parallel_tool_calls")
    ]


def test_structured_output_and_extra_merge() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    settings = ModelSettings(
        temperature=0,
        extra={"generationConfig": {"candidateCount": 1}, "safetySettings": []},
    )
    body = _body(output_schema=schema, settings=settings)
    assert body["generationConfig"] == {
        "temperature": 0,
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
        "candidateCount": 1,
    }
    assert body["safetySettings"] == []


def test_output_schema_falls_back_to_response_schema() -> None:
    schema = {"type": "object", "properties": {"id": {"type": "string", "minLength": 2}}}
    assert _body(output_schema=schema)["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": schema,
    }
