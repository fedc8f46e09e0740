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

from agentkit import (
    Agent,
    Message,
    ModelRequest,
    OutputEvent,
    RetryEvent,
    RunEvent,
    RunResult,
    RunStartEvent,
    RunWarning,
    ToolCallPart,
    WarningEvent,
    run_stream,
    tool,
)
from agentkit._result import RunFold
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


def test_a_fold_keeps_every_warning_and_retry_and_hands_out_copies() -> None:
    # The fold's rarely used lists start empty and immutable, and grow on their
    # first item: what it folds and what it hands out is unchanged.
    fold = RunFold()
    fold.add(RunStartEvent(messages=[Message.user("hi")], models=["a:b"], escalate_on=[]))
    first = RunWarning(kind="other", message="one")
    second = RunWarning(kind="other", message="two")
    retry = RetryEvent(model="a:b", attempt=1, error="RateLimitError", message="x", wait_seconds=0)
    fold.add(WarningEvent(warning=first))
    fold.add(retry)
    fold.add(OutputEvent(output="done", model="a:b"))
    before = fold.result()
    fold.add(WarningEvent(warning=second))
    after = fold.result()
    assert before.warnings == [first]
    assert after.warnings == [first, second]
    assert after.retries == [retry]
    assert after.cascade == []
    assert after.escalations == []
    assert type(after.warnings) is list
    assert type(after.cascade) is list
    assert after.messages == [Message.user("hi")]
    assert after == RunResult.model_validate(after.model_dump())
