"""The converter helpers every adapter shares: one form, one wording, whatever the wire."""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.gemini import to_gemini_contents
from agentkit_adapters.ollama import to_ollama_messages
from agentkit_adapters.openai import to_openai_messages
from agentkit_adapters.openai_responses import to_responses_input

from agentkit import (
    ImagePart,
    Message,
    ResourcePart,
    RunWarning,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from agentkit.adapter import (
    reasoning_left_out,
    resource_text,
    setting_not_sent,
    tool_result_text,
    unsupported_content,
)
from agentkit.exceptions import UnsupportedFeatureError

PNG = ImagePart(data=b"\x89PNG", media_type="image/png")


def test_resource_text() -> None:
    assert resource_text(ResourcePart(uri="file:///a", text="body")) == "body"
    assert resource_text(ResourcePart(uri="https://x/doc")) == "[resource: https://x/doc]"
    assert resource_text(ResourcePart(uri="file:///b", data=b"\x00", media_type="x/y")) is None


def test_a_tool_result_of_one_text_is_that_text() -> None:
    result = ToolResultPart(call_id="c", content=[TextPart(text="42")])
    assert tool_result_text(result, api="X") == ("42", [])


def test_a_tool_result_is_flattened_with_placeholders_and_warnings() -> None:
    result = ToolResultPart(
        call_id="c7",
        content=[
            TextPart(text="chart:"),
            PNG,
            ResourcePart(uri="https://x/doc"),
            ResourcePart(uri="file:///b", data=b"\x00", media_type="x/y"),
        ],
    )
    text, warnings = tool_result_text(result, api="Acme Chat", provider="acme")
    assert text == (
        "chart:\n[image omitted: tool results are sent as text]\n[resource: https://x/doc]\n"
        "[resource omitted: tool results are sent as text]"
    )
    assert warnings == [
        RunWarning(
            kind="unsupported_feature",
            feature="tool_result_image",
            provider="acme",
            message="an image in the result of tool call c7 was replaced by a placeholder: "
            "Acme Chat takes tool results as text",
        ),
        RunWarning(
            kind="unsupported_feature",
            feature="tool_result_resource",
            provider="acme",
            message="a resource in the result of tool call c7 was replaced by a placeholder: "
            "Acme Chat takes tool results as text",
        ),
    ]


def test_a_tool_result_without_text_sends_its_structured_content() -> None:
    result = ToolResultPart(call_id="c", content=[], structured_content={"t": 21})
    assert tool_result_text(result, api="X") == ('{"t": 21}', [])


def test_the_error_and_warnings_have_one_wording() -> None:
    error = unsupported_content("audio", api="Gemini", provider="gemini", model_id="m")
    assert isinstance(error, UnsupportedFeatureError)
    assert (str(error), error.provider, error.model_id) == (
        "gemini: audio cannot be sent to Gemini",
        "gemini",
        "m",
    )
    left_out = reasoning_left_out(why="no way back", provider="p")
    assert (left_out.kind, left_out.feature, left_out.message) == (
        "unsupported_feature",
        "reasoning",
        "earlier reasoning was left out: no way back",
    )
    setting = setting_not_sent("seed", why="no such setting", provider="p")
    assert (setting.kind, setting.feature, setting.message) == (
        "unsupported_setting",
        "seed",
        "the setting seed was not sent as given: no such setting",
    )


def _with_an_image_result() -> list[Message]:
    call = ToolCallPart(id="c1", name="chart", arguments={})
    result = ToolResultPart(call_id="c1", content=[TextPart(text="chart:"), PNG])
    return [
        Message.user("draw"),
        Message(role="assistant", parts=[call]),
        Message(role="tool", parts=[result]),
    ]


def _openai(messages: list[Message]) -> list[RunWarning]:
    return to_openai_messages(messages, provider="openai", model_id="m")[1]


def _responses(messages: list[Message]) -> list[RunWarning]:
    return to_responses_input(messages, provider="openai", model_id="m")[1]


def _gemini(messages: list[Message]) -> list[RunWarning]:
    return to_gemini_contents(messages, provider="gemini", model_id="m")[2]


def _ollama(messages: list[Message]) -> list[RunWarning]:
    return to_ollama_messages(messages, provider="ollama", model_id="m")[1]


@pytest.mark.parametrize(
    ("convert", "api"),
    [
        (_openai, "Chat Completions"),
        (_responses, "the Responses API"),
        (_gemini, "Gemini"),
        (_ollama, "Ollama's /api/chat"),
    ],
)
def test_every_adapter_words_a_placeholder_alike(convert: Any, api: str) -> None:
    warnings = convert(_with_an_image_result())
    assert [(w.kind, w.feature, w.message) for w in warnings] == [
        (
            "unsupported_feature",
            "tool_result_image",
            "an image in the result of tool call c1 was replaced by a placeholder: "
            f"{api} takes tool results as text",
        )
    ]
