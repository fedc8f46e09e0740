"""Durable runs in this process, on a real SQLite file: the same outcome as in memory.

The kill-and-resume behaviour needs processes to kill (``test_kill_resume.py``);
here the engine's record is read back by running a finished run again.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agentkit import Agent, Message, ModelRequest, ToolCallPart, run, run_stream, tool
from agentkit.exceptions import MaxTurnsError, ToolNotRepeatableError, UserError
from agentkit.testing import FunctionAdapter


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from agentkit.durable import launch, shutdown

    database = tmp_path_factory.mktemp("durable") / "runs.sqlite"
    launch(database)
    yield database
    shutdown()


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: One.
        b: The other.
    """
    return a + b


def _adding_model(request: ModelRequest) -> Any:
    """Two calls in one round, then the answer naming both results."""
    last = request.messages[-1]
    if last.role == "tool":
        return "sums: " + ", ".join(p.text for p in last.parts)
    return Message(
        role="assistant",
        parts=[
            ToolCallPart(id="call_1", name="add", arguments={"a": 1, "b": 2}),
            ToolCallPart(id="call_2", name="add", arguments={"a": 3, "b": 4}),
        ],
    )


@pytest.mark.anyio
async def test_a_durable_run_gives_the_in_memory_result_and_a_rerun_calls_nothing(
    engine: Path,
) -> None:
    from agentkit.durable import durable_run

    agent = Agent(name="adder", instructions="Add.", tools=[add])
    expected = await run(agent, "sums?", model=FunctionAdapter(_adding_model))
    model = FunctionAdapter(_adding_model)
    result = await durable_run(agent, "sums?", model=model, run_id="parallel")
    assert result == expected
    assert result.output == "sums: 3, 7"
    assert len(model.calls) == 2
    again = await durable_run(agent, "sums?", model=model, run_id="parallel")
    assert again == expected
    assert len(model.calls) == 2  # the record answered: no model call


class Booking(BaseModel):
    city: str
    nights: int


@pytest.mark.anyio
async def test_a_recorded_structured_output_comes_back_typed(engine: Path) -> None:
    from agentkit.durable import durable_run

    agent = Agent(name="booker", output_type=Booking)
    model = FunctionAdapter(lambda request: '{"city": "Oslo", "nights": 2}')
    first = await durable_run(agent, "book", model=model, run_id="typed")
    again = await durable_run(agent, "book", model=model, run_id="typed")
    assert first.output == again.output == Booking(city="Oslo", nights=2)
    assert isinstance(again.output, Booking)
    assert len(model.calls) == 1


@pytest.mark.anyio
async def test_a_failed_run_fails_again_from_its_record(engine: Path) -> None:
    from agentkit.durable import durable_run

    agent = Agent(name="looper", tools=[add], max_turns=1)
    model = FunctionAdapter(_adding_model)
    with pytest.raises(MaxTurnsError) as first:
        await durable_run(agent, "sums?", model=model, run_id="fails")
    with pytest.raises(MaxTurnsError) as again:
        await durable_run(agent, "sums?", model=model, run_id="fails")
    assert str(again.value) == str(first.value)
    assert again.value.messages == first.value.messages
    assert len(model.calls) == 1


@pytest.mark.anyio
async def test_a_durable_stream_yields_the_events_of_run_stream(engine: Path) -> None:
    from agentkit.durable import durable_stream

    agent = Agent(name="adder", tools=[add])
    plain = [e.type async for e in run_stream(agent, "sums?", model=FunctionAdapter(_adding_model))]
    durable = [
        e.type
        async for e in durable_stream(
            agent, "sums?", model=FunctionAdapter(_adding_model), run_id="streamed"
        )
    ]
    assert durable == plain
    assert "text_delta" in durable


@pytest.mark.anyio
async def test_an_agent_object_without_a_reference_cannot_be_resumed_elsewhere() -> None:
    from agentkit.durable import RunSpec, resolve_agent

    spec = RunSpec(agent=None, agent_name="adder", input=[Message.user("hi")])
    with pytest.raises(UserError, match="agent_ref"):
        resolve_agent(spec)


def test_repeat_safety_follows_the_mcp_hints() -> None:
    from agentkit.durable import repeat_safe

    @tool(idempotent=False)
    def pay(amount: int) -> str:
        """Pay."""
        return "paid"

    assert pay.definition.annotations == {"idempotentHint": False}
    assert not repeat_safe(pay.definition)
    assert repeat_safe(add.definition)  # unsaid: safe
    assert repeat_safe(None)
    reader = pay.definition.model_copy(
        update={"annotations": {"readOnlyHint": True, "idempotentHint": False}}
    )
    assert repeat_safe(reader)  # reading twice changes nothing


def test_idempotent_and_a_contradicting_annotation_are_refused() -> None:
    def f() -> None:
        """F."""

    with pytest.raises(UserError, match="contradicts"):
        tool(idempotent=False, annotations={"idempotentHint": True})(f)


def test_the_not_repeatable_error_survives_its_record_and_a_pickle() -> None:
    from agentkit.durable._records import error_from_record, record_error

    error = ToolNotRepeatableError(
        "stopped", tool="pay", call_id="call_b", arguments={"amount": 5}, run_id="r4"
    )
    for copy in (error_from_record(record_error(error)), pickle.loads(pickle.dumps(error))):
        assert isinstance(copy, ToolNotRepeatableError)
        assert (copy.tool, copy.call_id, copy.arguments, copy.run_id) == (
            "pay",
            "call_b",
            {"amount": 5},
            "r4",
        )
        assert str(copy) == "stopped"


def test_import_agentkit_does_not_import_dbos() -> None:
    code = (
        "import sys, agentkit, agentkit.exceptions; from agentkit import tool; "
        "print([m for m in ('dbos', 'sqlalchemy', 'agentkit.durable') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
