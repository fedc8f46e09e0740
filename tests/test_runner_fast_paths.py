"""The run loop's shortcuts build exactly what the validated constructors build."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from agentkit import (
    Agent,
    Message,
    ModelRequest,
    ModelSettings,
    RunEndEvent,
    RunResult,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
    Usage,
    fold_events,
    run,
    run_stream,
    tool,
)
from agentkit._modelcall import _new_request
from agentkit.testing import FunctionAdapter
from tests.same_model import assert_same_model


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (Usage(input_tokens=3, output_tokens=2), Usage(requests=2, input_tokens=5)),
        (Usage(cost_usd=1, reasoning_output_tokens=4), Usage(cost_usd=0.5)),
        (Usage(cache_read_input_tokens=7, cost_usd=0.25), Usage()),
    ],
)
def test_a_usage_sum_is_the_validated_usage(left: Usage, right: Usage) -> None:
    total = left + right
    fields = {name: getattr(total, name) for name in Usage.model_fields}
    assert_same_model(total, Usage(**fields))
    assert total.requests == left.requests + right.requests
    assert total.input_tokens == left.input_tokens + right.input_tokens


def test_a_usage_holding_other_types_is_validated_when_summed() -> None:
    # A Usage an adapter built without validation, counts as floats: the sum
    # goes through validation and holds ints, as it always did.
    odd = Usage.model_construct(input_tokens=2.0, output_tokens=1.0, cost_usd=None)
    total = odd + Usage(input_tokens=1)
    assert type(total.input_tokens) is int
    assert (
        total.model_dump_json()
        == Usage(requests=2, input_tokens=3, output_tokens=1).model_dump_json()
    )


def test_a_fast_request_is_the_dataclass_request() -> None:
    values: dict[str, Any] = {
        "messages": [Message.user("hi")],
        "tools": [ToolDefinition(name="t", input_schema={"type": "object"})],
        "tool_choice": "required",
        "output_schema": {"type": "object"},
        "output_name": "agent",
        "settings": ModelSettings(temperature=0.5),
        "allow_lossy_schemas": True,
    }
    # Every field, in declaration order: a new field must be added to _new_request.
    assert [f.name for f in dataclasses.fields(ModelRequest)] == list(values)
    fast = _new_request(*values.values())
    assert fast == ModelRequest(**values)
    assert dataclasses.replace(fast, tool_choice=None) == ModelRequest(
        **{**values, "tool_choice": None}
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.tool_choice = None  # type: ignore[misc]


def test_a_text_tool_result_is_the_validated_result() -> None:
    def hello(name: str) -> str:
        """Say hello."""
        return f"hello {name}"

    result = tool(hello).to_result("hello you")
    assert_same_model(
        result,
        ToolResultPart(call_id="", name="hello", content=[TextPart(text="hello you")]),
    )


@pytest.mark.anyio
@pytest.mark.parametrize("streamed", [False, True])
async def test_run_returns_the_fold_of_run_streams_events(streamed: bool) -> None:
    calls: list[str] = []

    def get_weather(city: str, unit: str = "C") -> str:
        """Weather."""
        calls.append(f"{city}/{unit}")
        return f"{city}: 21{unit}"

    def model(request: Any) -> Any:
        if request.messages[-1].role == "tool":
            return "It is sunny."
        return [ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})]

    agent = Agent(name="w", instructions="Be brief.", tools=[tool(blocking=False)(get_weather)])
    adapter = FunctionAdapter(model)
    events = [e async for e in run_stream(agent, "Weather?", model=adapter, stream=streamed)]
    result = await run(agent, "Weather?", model=adapter)
    assert isinstance(events[-1], RunEndEvent)
    assert result == events[-1].result == fold_events(events[:-1])
    assert calls == ["Paris/C", "Paris/C"]  # the default filled in, each run
    fields = {name: getattr(result, name) for name in RunResult.model_fields}
    validated = RunResult(**fields)
    assert_same_model(result, validated)
    # Pydantic's private state, the calls made aside (the fold's own list).
    assert result.__pydantic_private__ == {**validated.__pydantic_private__, "_calls": result.calls}
    assert [c.sent for c in result.calls] == [2, 4]
    assert result.usage.requests == 2
