"""Memory: what a finished ``RunResult`` keeps alive, and whether runs leak.

The weather agent (a tool call, then the answer) on an in-process
``FunctionAdapter``, under ``tracemalloc``. Two passes of ``--runs`` sequential
runs: one keeps every ``RunResult`` (traced memory grown / runs = the cost of
one result; goal at most 20 KiB), one drops them (traced memory after each
tenth of the runs; goal: flat, the last tenth within 64 KiB of the first).
The baseline is the traced memory before the pass, in the same process.

    uv run python bench/memory.py [--runs 10000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
from pathlib import Path

import anyio

from agentkit import Agent, Message, ModelRequest, RunResult, ToolCallPart, run, tool
from agentkit.testing import FunctionAdapter

sys.path.insert(0, str(Path(__file__).parent))
from _common import ANSWER, get_weather

GOAL_KIB_PER_RESULT = 20.0
GOAL_FLAT_KIB = 64.0


def weather_model(request: ModelRequest) -> Message | str:
    if request.messages[-1].role == "tool":
        return ANSWER
    call = ToolCallPart(id="call_1", name="get_weather", arguments={"city": "Paris"})
    return Message(role="assistant", parts=[call])


async def runs(count: int, keep: bool) -> tuple[list[RunResult], list[int]]:
    agent = Agent(name="weather", instructions="Be brief.", tools=[tool(get_weather)])
    adapter = FunctionAdapter(weather_model)
    kept: list[RunResult] = []
    marks: list[int] = []
    for i in range(count):
        result = await run(agent, "Weather in Paris?", model=adapter)
        assert result.output == ANSWER
        adapter.calls.clear()  # the test double's own record of requests
        if keep:
            kept.append(result)
        if (i + 1) % max(1, count // 10) == 0:
            gc.collect()
            marks.append(tracemalloc.get_traced_memory()[0])
    return kept, marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    count = parser.parse_args().runs
    anyio.run(runs, 50, False)  # warm: imports, validators, caches
    tracemalloc.start()

    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    kept, _ = anyio.run(runs, count, True)
    gc.collect()
    per_result = (tracemalloc.get_traced_memory()[0] - before) / count / 1024
    del kept
    gc.collect()

    _, marks = anyio.run(runs, count, False)
    drift = (marks[-1] - marks[0]) / 1024
    tracemalloc.stop()

    ok_kept = per_result <= GOAL_KIB_PER_RESULT
    ok_flat = drift <= GOAL_FLAT_KIB
    print(f"{count} sequential runs (one tool call, two model calls each), tracemalloc")
    print(
        f"  kept alive: {per_result:.2f} KiB per RunResult"
        f"  (goal <= {GOAL_KIB_PER_RESULT:.0f} KiB: {'ok' if ok_kept else 'OVER'})"
    )
    steps = ", ".join(f"{(m - marks[0]) / 1024:+.1f}" for m in marks)
    print(f"  dropped: traced KiB after each tenth, against the first: {steps}")
    print(
        f"  growth first tenth -> last: {drift:+.1f} KiB"
        f"  (goal <= {GOAL_FLAT_KIB:.0f} KiB: {'ok' if ok_flat else 'OVER'})"
    )


if __name__ == "__main__":
    main()
