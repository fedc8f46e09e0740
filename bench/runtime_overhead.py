"""What the runtime adds to one agent run, over a hand-written loop on raw httpx2.

One run = two model calls and one tool call (the weather agent): the model
asks for ``get_weather``, gets the result, answers. Every side talks to the
same minimal OpenAI server (``_fast_openai.py``, another process) through one
client with the same 25-connection pool, interleaved run by run so machine
noise hits all alike (the added time is the median of run-by-run
differences); whole answers (``run``) against the floor's whole
answers, streamed ones (``run_stream``) against the floor reading the same
server-sent events. Budgets (added per run, medians): 0.15 ms with the
default ``@tool`` (a sync tool in a worker thread), 0.08 ms with
``@tool(blocking=False)``.

    uv run python bench/runtime_overhead.py [--runs 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx2
from agentkit_adapters.openai import OpenAIChatAdapter

from agentkit import Agent, RunEndEvent, run, run_stream, tool

sys.path.insert(0, str(Path(__file__).parent))
from _common import ANSWER, client, fast_server, get_weather, hand_loop, hand_loop_stream, spread

BUDGET_MS = {"thread": 0.15, "inline": 0.08}

Case = Callable[[], Awaitable[str]]

#: name -> (the floor it is compared with, budget key); floors have neither.
CASES: dict[str, tuple[str, str]] = {
    "floor": ("", ""),
    "floor, streamed": ("", ""),
    "agentkit run, @tool (worker thread)": ("floor", "thread"),
    "agentkit run, @tool(blocking=False)": ("floor", "inline"),
    "agentkit run_stream, @tool (worker thread)": ("floor, streamed", "thread"),
    "agentkit run_stream, @tool(blocking=False)": ("floor, streamed", "inline"),
}


def runners(http: httpx2.AsyncClient, base_url: str) -> dict[str, Case]:
    """One run of each case, by name."""
    adapter = OpenAIChatAdapter("gpt-4.1-mini", api_key="k", base_url=base_url, client=http)
    thread = Agent(name="weather", instructions="Be brief.", tools=[tool(get_weather)])
    inline = Agent(
        name="weather", instructions="Be brief.", tools=[tool(blocking=False)(get_weather)]
    )

    def whole(agent: Agent) -> Case:
        async def one() -> str:
            result = await run(agent, "Weather in Paris?", model=adapter)
            assert result.turns == 2
            return str(result.output)

        return one

    def streamed(agent: Agent) -> Case:
        async def one() -> str:
            async for event in run_stream(agent, "Weather in Paris?", model=adapter):
                if isinstance(event, RunEndEvent):
                    return str(event.result.output)
            raise AssertionError("the stream ended without run_end")

        return one

    return {
        "floor": lambda: hand_loop(http, base_url),
        "floor, streamed": lambda: hand_loop_stream(http, base_url),
        "agentkit run, @tool (worker thread)": whole(thread),
        "agentkit run, @tool(blocking=False)": whole(inline),
        "agentkit run_stream, @tool (worker thread)": streamed(thread),
        "agentkit run_stream, @tool(blocking=False)": streamed(inline),
    }


async def measure(runs: int, base_url: str, warmup: int = 100) -> dict[str, list[float]]:
    """Milliseconds per run of each case, the cases interleaved run by run."""
    async with client() as http:
        table = runners(http, base_url)
        samples: dict[str, list[float]] = {name: [] for name in table}
        for i in range(runs + warmup):
            for name, one in table.items():
                started = time.perf_counter()
                answer = await one()
                elapsed = time.perf_counter() - started
                assert answer == ANSWER, (name, answer)
                if i >= warmup:  # connections, caches, validators
                    samples[name].append(elapsed * 1000)
        return samples


def report(samples: dict[str, list[float]], runs: int) -> bool:
    """Print each case against its floor; whether every budget holds."""
    print(f"runs: {runs} of each, interleaved (two model calls and one tool call per run)")
    print(f"{'case':<44} {'ms per run: median (p25, p75)':>34} {'added':>9} {'ratio':>6}")
    ok = True
    for name, values in samples.items():
        floor_name, budget_key = CASES[name]
        if not floor_name:
            print(f"{name:<44} {spread(values):>34}")
            continue
        floor = statistics.median(samples[floor_name])
        ours = statistics.median(values)
        # Added: the median of run-by-run differences with the floor run next
        # to it, which a load that drifts during the bench moves least.
        added = statistics.median(a - b for a, b in zip(values, samples[floor_name], strict=True))
        budget = BUDGET_MS[budget_key]
        ok = ok and added <= budget
        print(
            f"{name:<44} {spread(values):>34} {added:+8.3f} {ours / floor:5.2f}x"
            f"  (budget +{budget} ms: {'ok' if added <= budget else 'OVER'})"
        )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    with fast_server() as base_url:
        samples = anyio.run(measure, runs, base_url)
    report(samples, runs)


if __name__ == "__main__":
    main()
