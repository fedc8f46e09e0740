"""Events built without validation (``_trusted.py``) are the objects pydantic would build."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agentkit import (
    ReasoningDeltaEvent,
    RefusalDeltaEvent,
    ResponseEndEvent,
    StreamAccumulator,
    TextDeltaEvent,
    TextPart,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    ToolCallPart,
    ToolResultPart,
)
from agentkit._trusted import trusted
from tests.same_model import assert_same_model


def test_the_accumulators_deltas_equal_validated_events() -> None:
    acc = StreamAccumulator("p", "m")
    acc.start()
    (text,) = acc.add_text("Hel")
    (reasoning,) = acc.add_reasoning("think")
    (refusal,) = acc.add_refusal("no")
    acc.start_call(0, "c1", "f")
    (arguments,) = acc.add_arguments(0, '{"a"')
    (ended,) = acc.end_call(0, '{"a": 1}')
    (*_, end) = acc.finish("tool_calls")
    assert_same_model(text, TextDeltaEvent(text="Hel"))
    assert_same_model(reasoning, ReasoningDeltaEvent(text="think"))
    assert_same_model(refusal, RefusalDeltaEvent(text="no"))
    assert_same_model(arguments, ToolCallDeltaEvent(index=0, arguments_delta='{"a"'))
    call = ToolCallPart(id="c1", name="f", arguments={"a": 1}, raw_arguments=None)
    assert isinstance(end, ResponseEndEvent)
    # Unhashable (dicts and lists inside), so compared without hash().
    for fast, validated in [
        (ended, ToolCallEndEvent(index=0, call=call)),
        (end, ResponseEndEvent(response=end.response)),
    ]:
        assert fast == validated
        assert fast.model_fields_set == validated.model_fields_set
        assert fast.model_dump_json() == validated.model_dump_json()
        assert repr(fast) == repr(validated)


def test_a_trusted_event_is_frozen_like_a_validated_one() -> None:
    event = trusted(TextDeltaEvent, {"type": "text_delta", "text": "x"}, {"text"})
    with pytest.raises(Exception, match="frozen"):
        event.text = "y"  # type: ignore[misc]


def test_text_that_is_not_a_string_is_still_validated() -> None:
    # A host that sends a number as content: pydantic's error, as before.
    acc = StreamAccumulator("p", "m")
    with pytest.raises(ValueError, match="string"):
        acc.add_text(12)  # type: ignore[arg-type]


def test_built_models_equal_validated_ones() -> None:
    from agentkit import Message, ModelResponse, ModelSettings, RunResult, RunWarning, Usage
    from agentkit._trusted import build

    usage = Usage(input_tokens=3, output_tokens=4)
    message = Message(role="assistant", parts=[TextPart(text="hi")])
    cases: list[tuple[type[BaseModel], dict[str, object]]] = [
        (TextPart, {"text": "hi"}),
        (ToolCallPart, {"id": "c", "name": "f", "arguments": {"a": 1}}),
        (ToolCallPart, {"id": "c", "name": "f", "raw_arguments": "{"}),
        (Usage, {"input_tokens": 3, "output_tokens": 4, "reasoning_output_tokens": 1}),
        (Message, {"role": "tool", "parts": [message.parts[0]]}),
        (ModelSettings, {}),  # an agent's default settings
        (
            RunWarning,
            {"kind": "schema_changed", "message": "m", "feature": "f", "provider": None},
        ),
        (
            ModelResponse,
            {"message": message, "finish_reason": "stop", "provider": "p", "model_id": "m"},
        ),
        (
            RunResult,
            {
                "output": "hi",
                "messages": [message],
                "usage": usage,
                "usage_by_model": {"p:m": usage},
                "turns": 1,
                "model": "p:m",
                "warnings": [],
                "retries": [],
                "finish_reason": "stop",
                "cascade": [],
                "escalations": [],
            },
        ),
    ]
    for cls, values in cases:
        fast, validated = build(cls, **values), cls(**values)
        assert type(fast) is type(validated)
        assert fast == validated
        assert fast.model_dump() == validated.model_dump()
        assert fast.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
        assert fast.model_fields_set == validated.model_fields_set
        assert fast.__pydantic_private__ == validated.__pydantic_private__
        assert repr(fast) == repr(validated)


def test_build_refuses_missing_and_unknown_fields() -> None:
    from agentkit._trusted import build

    with pytest.raises(TypeError, match="TextPart"):
        build(TextPart, texts="hi")
    with pytest.raises(TypeError, match="ToolCallPart"):
        build(ToolCallPart, id="c")


def test_a_built_result_keeps_its_own_private_state() -> None:
    from agentkit import Message, RunResult, Usage
    from agentkit._trusted import build

    values = {
        "output": "x",
        "messages": [Message.user("hi")],
        "usage": Usage(),
        "usage_by_model": {},
        "turns": 1,
        "model": "p:m",
    }
    first, second = build(RunResult, **values), build(RunResult, **values)
    first._calls = []
    assert second._calls is None  # each instance its own private dict
    assert first.warnings is not second.warnings  # factories called per instance


def _revalidated(model: BaseModel) -> BaseModel:
    """``model`` built again by pydantic from its own field values (those it was given)."""
    return type(model)(**{name: getattr(model, name) for name in model.model_fields_set})


@pytest.mark.anyio
@pytest.mark.parametrize("streamed", [False, True])
async def test_a_runs_events_and_result_equal_validated_ones(streamed: bool) -> None:
    # The runner builds its events, the input messages, the tool message and
    # the result without validation: each must be what pydantic would build.
    from agentkit import Agent, Message, ModelSettings, RunEndEvent, WarningEvent, run_stream, tool
    from agentkit.testing import FunctionAdapter

    def get_weather(city: str) -> str:
        """Weather."""
        return f"{city}: sunny"

    def model(request: object) -> object:
        messages = request.messages  # type: ignore[attr-defined]
        if messages[-1].role == "tool":
            return "It is sunny."
        return [ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})]

    # reasoning_effort: a setting the adapter lacks, for a warning event.
    settings = ModelSettings(reasoning_effort="low")
    agent = Agent(name="w", instructions="Be brief.", tools=[tool(get_weather)], settings=settings)
    events = [
        e
        async for e in run_stream(agent, "Weather?", model=FunctionAdapter(model), stream=streamed)
    ]
    assert isinstance(events[-1], RunEndEvent)
    result = events[-1].result
    built: list[BaseModel] = [*events, result, *result.messages, *result.warnings]
    built += [p for m in result.messages for p in m.parts]
    built += [c for p in built if isinstance(p, ToolResultPart) for c in p.content]
    assert any(isinstance(p, ToolResultPart) for p in built)
    assert any(isinstance(e, WarningEvent) for e in events)
    for model_ in built:
        again = _revalidated(model_)
        assert model_ == again
        assert model_.model_fields_set == again.model_fields_set
        assert model_.model_dump_json() == again.model_dump_json()
        assert model_.model_dump(exclude_unset=True) == again.model_dump(exclude_unset=True)
    assert result.messages[:2] == [Message.system("Be brief."), Message.user("Weather?")]
    assert [m.role for m in result.messages] == ["system", "user", "assistant", "tool", "assistant"]
