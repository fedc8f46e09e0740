"""What a run in flight keeps alive while it waits for the model.

A run's loop is one generator whose frame lives as long as the run; with 200
runs waiting on HTTP at once, whatever that frame still references is walked
(and promoted) by every garbage collection. Events that the fold has already
taken in must not be held there.
"""

from __future__ import annotations

import gc
import weakref

import anyio

from agentkit import Agent, Message, ModelRequest, RunEvent, ToolCallPart, run_stream, tool
from agentkit.testing import FunctionAdapter


def get_weather(city: str) -> str:
    """Get the weather.

    Args:
        city: The city.
    """
    return f"{city}: sunny"


def test_a_waiting_run_holds_neither_its_start_event_nor_its_last_tool_round() -> None:
    seen: list[weakref.ref[RunEvent]] = []
    alive_during_second_call: list[str] = []

    def model(request: ModelRequest) -> str | Message:
        if len(request.messages) < 3:
            return Message(
                role="assistant",
                parts=[ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})],
            )
        gc.collect()
        alive_during_second_call.extend(
            event.type
            for ref in seen
            if (event := ref()) is not None and event.type in ("run_start", "tool_result")
        )
        return "sunny"

    agent = Agent(name="a", instructions="Be brief.", tools=[tool(blocking=False)(get_weather)])

    async def main() -> str:
        output = ""
        adapter = FunctionAdapter(model)
        async for event in run_stream(agent, "Weather?", model=adapter, stream=False):
            seen.append(weakref.ref(event))
            if event.type == "run_end":
                output = event.result.output
        return output

    assert anyio.run(main) == "sunny"
    # The weak references work: once the run is over, nothing holds its events.
    assert [ref for ref in seen if ref() is not None] == []
    assert alive_during_second_call == []
