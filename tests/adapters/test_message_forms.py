"""Each message is converted once for all the calls that send it (``_memo.MessageForms``)."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from agentkit_adapters._memo import MessageForms
from agentkit_adapters.openai import _convert
from agentkit_adapters.openai._convert import OpenAIQuirks, to_openai_request

from agentkit import (
    Message,
    ModelRequest,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)


def _call(n: int) -> Message:
    return Message(
        role="assistant",
        parts=[ToolCallPart(id=f"call_{n}", name="get_weather", arguments={"n": n})],
    )


def _result(n: int) -> Message:
    return Message(
        role="tool", parts=[ToolResultPart(call_id=f"call_{n}", content=[TextPart(text="ok")])]
    )


def _builder(built: list[Message]) -> Any:
    def build(message: Message) -> str:
        built.append(message)
        return f"form of {message.parts[0].type}"

    return build


def test_a_message_is_built_once_per_options() -> None:
    forms: MessageForms[str] = MessageForms()
    built: list[Message] = []
    message = _call(1)
    assert forms.get(message, "a", _builder(built)) == "form of tool_call"
    assert forms.get(message, "a", _builder(built)) == "form of tool_call"
    assert built == [message]
    forms.get(message, "b", _builder(built))  # other options: another form
    assert built == [message, message]


def test_an_entry_goes_with_its_message() -> None:
    forms: MessageForms[str] = MessageForms()
    messages = [_call(n) for n in range(50)]
    for message in messages:
        forms.get(message, "a", _builder([]))
    assert len(forms) == 50
    del messages, message
    gc.collect()
    assert len(forms) == 0


def test_an_equal_message_at_another_address_is_built_again() -> None:
    forms: MessageForms[str] = MessageForms()
    built: list[Message] = []
    first, second = _call(1), _call(1)
    forms.get(first, "a", _builder(built))
    forms.get(second, "a", _builder(built))
    assert built == [first, second]


def test_changed_parts_are_built_again() -> None:
    forms: MessageForms[str] = MessageForms()
    built: list[Message] = []
    message = _call(1)
    forms.get(message, "a", _builder(built))
    message.parts.insert(0, TextPart(text="changed in place"))
    assert forms.get(message, "a", _builder(built)) == "form of text"
    assert built == [message, message]


def test_a_failure_is_not_remembered() -> None:
    forms: MessageForms[str] = MessageForms()
    message = _call(1)

    def fail(message: Message) -> str:
        raise ValueError("cannot")

    with pytest.raises(ValueError, match="cannot"):
        forms.get(message, "a", fail)
    assert len(forms) == 0
    assert forms.get(message, "a", _builder([])) == "form of tool_call"


def test_a_growing_conversation_converts_each_message_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    converted: list[Message] = []
    real = _convert._form

    def counting(message: Message, **options: Any) -> Any:
        converted.append(message)
        return real(message, **options)

    monkeypatch.setattr(_convert, "_form", counting)
    monkeypatch.setattr(_convert, "REMEMBER_FROM", 0)
    conversation = [Message.system("Be brief."), Message.user("Weather?")]
    bodies = []
    for turn in range(6):
        conversation += [_call(turn), _result(turn)]
        request = ModelRequest(messages=list(conversation))
        bodies.append(to_openai_request(request, model_id="m", stream=False)[0])
    # Lone text parts are converted inline; each call and result once, not once a turn.
    assert converted == conversation[2:]
    # The same bodies as converting everything afresh.
    monkeypatch.setattr(_convert, "_FORMS", MessageForms())
    converted.clear()
    fresh = [
        to_openai_request(
            ModelRequest(messages=conversation[: 4 + 2 * turn]), model_id="m", stream=False
        )[0]
        for turn in range(6)
    ]
    assert json.dumps(fresh) == json.dumps(bodies)


def test_reasoning_left_out_is_said_once_per_request_from_remembered_forms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_convert, "REMEMBER_FROM", 0)
    thought = Message(
        role="assistant", parts=[ReasoningPart(text="hm", provider="other"), TextPart(text="a")]
    )
    request = ModelRequest(messages=[Message.user("q"), thought, Message.user("q2"), thought])
    for _ in range(2):  # converted, then remembered
        _, warnings = to_openai_request(request, model_id="m", stream=False)
        assert [w.feature for w in warnings] == ["reasoning"]


def test_forms_differ_by_provider_and_reasoning_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_convert, "REMEMBER_FROM", 0)
    thought = Message(
        role="assistant", parts=[ReasoningPart(text="hm", provider="deepseek"), TextPart(text="a")]
    )
    request = ModelRequest(messages=[Message.user("q"), thought])
    keep = OpenAIQuirks(reasoning_history_field="reasoning_content")
    kept, _ = to_openai_request(
        request, model_id="m", stream=False, quirks=keep, provider="deepseek"
    )
    dropped, warnings = to_openai_request(request, model_id="m", stream=False, provider="deepseek")
    assert kept["messages"][1] == {"role": "assistant", "content": "a", "reasoning_content": "hm"}
    assert dropped["messages"][1] == {"role": "assistant", "content": "a"}
    assert len(warnings) == 1


def test_a_short_conversation_is_converted_afresh() -> None:
    conversation = [Message.user("Weather?"), _call(1), _result(1)]
    before = len(_convert._FORMS)
    for _ in range(2):
        to_openai_request(ModelRequest(messages=conversation), model_id="m", stream=False)
    assert len(_convert._FORMS) == before
    long = [Message.user(f"q{n}") for n in range(_convert.REMEMBER_FROM)] + [_call(1)]
    to_openai_request(ModelRequest(messages=long), model_id="m", stream=False)
    assert len(_convert._FORMS) == before + 1


def test_a_body_handed_out_by_request_body_can_be_changed_without_changing_the_next() -> None:
    from agentkit_adapters.openai import OpenAIChatAdapter

    adapter = OpenAIChatAdapter("gpt-4.1-mini", api_key="sk-test-planted")
    history = [Message.user("hi")]
    for n in range(_convert.REMEMBER_FROM):  # long enough for remembered forms
        history += [_call(n), _result(n)]
    request = ModelRequest(messages=history)
    body = adapter.request_body(request)
    body["messages"][1]["tool_calls"][0]["function"]["name"] = "changed"
    again = adapter.request_body(request)
    assert again["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"
