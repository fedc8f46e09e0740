"""What a durable run costs over an in-memory one: the same weather run, recorded.

One run = two model calls and one tool call (the weather agent) against
``_fast_openai.py``, through one adapter. ``run()`` and ``durable_run()``
(each run a new id, so every step is really recorded: three steps, plus
the workflow's start and end) alternate run by run, so the machine's load
hits both alike; the report gives medians, the ratio and the milliseconds
added per run. SQLite always (a file in a temporary directory); Postgres
too when ``AGENTKIT_BENCH_POSTGRES_URL`` names a database
(``postgresql://user:password@127.0.0.1:5432/db``).

    uv run python bench/durable.py [--runs 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import anyio
from agentkit_adapters.openai import OpenAIChatAdapter

from agentkit import Agent, run, tool
from agentkit.durable import durable_run, launch, shutdown

sys.path.insert(0, str(Path(__file__).parent))
from _common import ANSWER, client, fast_server, get_weather, spread


async def measure(
    database: str, runs: int, base_url: str, warmup: int = 20
) -> dict[str, list[float]]:
    """Milliseconds per run, in-memory and durable, interleaved run by run."""
    launch(database)
    try:
        async with client() as http:
            adapter = OpenAIChatAdapter("gpt-4.1-mini", api_key="k", base_url=base_url, client=http)
            agent = Agent(name="weather", instructions="Be brief.", tools=[tool(get_weather)])
            samples: dict[str, list[float]] = {"in-memory run()": [], "durable_run()": []}
            for i in range(runs + warmup):
                for name in samples:
                    started = time.perf_counter()
                    if name == "durable_run()":
                        result = await durable_run(
                            agent, "Weather in Paris?", model=adapter, run_id=uuid.uuid4().hex
                        )
                    else:
                        result = await run(agent, "Weather in Paris?", model=adapter)
                    elapsed = time.perf_counter() - started
                    assert result.output == ANSWER, (name, result.output)
                    if i >= warmup:
                        samples[name].append(elapsed * 1000)
            return samples
    finally:
        shutdown()


def report(label: str, samples: dict[str, list[float]]) -> None:
    memory, durable = samples["in-memory run()"], samples["durable_run()"]
    added = statistics.median(d - m for d, m in zip(durable, memory, strict=True))
    ratio = statistics.median(durable) / statistics.median(memory)
    print(f"{label}: {len(memory)} runs of each, interleaved; load {os.getloadavg()[0]:.1f}")
    for name, values in samples.items():
        print(f"  {name:<18} ms per run: {spread(values)}")
    print(f"  durable / in-memory: {ratio:.2f}x, {added:+.2f} ms per run (median of pairs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    runs = parser.parse_args().runs
    with fast_server() as base_url, tempfile.TemporaryDirectory() as tmp:
        report("SQLite", anyio.run(measure, str(Path(tmp) / "bench.sqlite"), runs, base_url))
        postgres = os.environ.get("AGENTKIT_BENCH_POSTGRES_URL")
        if postgres:
            report("Postgres", anyio.run(measure, postgres, runs, base_url))
        else:
            print("Postgres: skipped (set AGENTKIT_BENCH_POSTGRES_URL to measure it)")


if __name__ == "__main__":
    main()
