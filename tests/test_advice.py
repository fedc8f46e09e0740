"""Advice drawn from token ledgers: each kind fires on what it names, and only then."""

from __future__ import annotations

from typing import Any

from agentkit import Agent, ModelRequest, ToolCallPart, advice, run_sync, tool
from agentkit.testing import FunctionAdapter


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: The city's name.
    """
    return f"sunny in {city}"


@tool
def get_tides(port: str) -> str:
    """Get the tide tables of a port, with a long description that costs tokens on every call.

    Args:
        port: The port's name.
    """
    return "high at noon"


def weather_model(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        return [ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})]
    return "Sunny."


def both_model(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        return [
            ToolCallPart(id="c1", name="get_weather", arguments={"city": "Brest"}),
            ToolCallPart(id="c2", name="get_tides", arguments={"port": "Brest"}),
        ]
    return "Sunny, high tide at noon."


def run(instructions: str, model: Any = weather_model) -> Any:
    agent = Agent(name="w", instructions=instructions, tools=[get_weather, get_tides])
    return run_sync(agent, "Weather in Paris?", model=FunctionAdapter(model))


def kinds(items: list[Any]) -> list[str]:
    return [item.kind for item in items]


def test_a_tool_offered_and_never_called_is_named_with_its_cost() -> None:
    result = run("Answer briefly.")
    found = [a for a in advice(result) if a.kind == "unused_tool"]
    assert [a.subject for a in found] == ["get_tides"]
    expected = sum(call.tools["get_tides"] for call in result.ledger.calls)
    assert found[0].tokens == expected > 0
    assert "get_tides" in found[0].message
    assert "never called" in found[0].message


def test_no_unused_tool_advice_when_every_tool_is_called() -> None:
    assert "unused_tool" not in kinds(advice(run("Answer briefly.", both_model)))


def test_a_prefix_that_changes_between_calls_is_flagged() -> None:
    runs = [
        run("Answer briefly. Today is 2026-12-01."),
        run("Answer briefly. Today is 2026-12-02."),
    ]
    found = [a for a in advice(runs) if a.kind == "prefix_changes"]
    assert len(found) == 1
    assert "function:function" in found[0].message
    assert "instructions" in found[0].message


def test_an_identical_prefix_is_not_flagged() -> None:
    runs = [run("Answer briefly."), run("Answer briefly.")]
    assert "prefix_changes" not in kinds(advice(runs))


def test_heavy_tool_definitions_and_long_history_fire_past_their_thresholds() -> None:
    result = run("Answer briefly.")
    assert "tool_definitions" in kinds(advice(result, min_prefix_tokens=10))
    assert "tool_definitions" not in kinds(advice(result, min_prefix_tokens=10_000))
    assert "history" in kinds(advice(result, history_threshold=5))
    assert "history" not in kinds(advice(result))
