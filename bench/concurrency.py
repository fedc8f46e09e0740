"""Runs per second at high concurrency, by connection-pool size.

200 weather-agent runs at once (two model calls and one tool call each)
against the minimal OpenAI server in another process, once with the shared
client's bounded pool (25 connections, what adapters use) and once with a
1,000-connection pool, in the same run. A bounded pool reuses warm
connections instead of opening hundreds at once.

    uv run python bench/concurrency.py [--concurrency 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx2
from agentkit_adapters.openai import OpenAIChatAdapter

from agentkit import Agent, run, tool

sys.path.insert(0, str(Path(__file__).parent))
from runtime_overhead import _free_port, get_weather


async def runs_per_second(base_url: str, pool: int, concurrency: int) -> float:
    limits = httpx2.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with httpx2.AsyncClient(limits=limits, timeout=60) as client:
        adapter = OpenAIChatAdapter("gpt-4.1-mini", api_key="k", base_url=base_url, client=client)
        agent = Agent(name="weather", tools=[tool(get_weather)])

        async def one() -> None:
            result = await run(agent, "Weather in Paris?", model=adapter)
            assert result.turns == 2

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(one)
        return concurrency / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_fast_openai.py")), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        base_url = f"http://127.0.0.1:{port}/v1"
        rates: dict[int, list[float]] = {25: [], 1000: []}
        for _ in range(args.rounds):
            for pool in rates:  # interleaved, so machine noise hits both
                rates[pool].append(anyio.run(runs_per_second, base_url, pool, args.concurrency))
    finally:
        server.terminate()
        server.wait()
    print(f"{args.concurrency} concurrent runs, {args.rounds} rounds, median runs/s:")
    for pool, values in rates.items():
        print(f"  pool of {pool:>4} connections: {statistics.median(values):7.1f} runs/s")
    ratio = statistics.median(rates[25]) / statistics.median(rates[1000])
    print(f"  bounded pool / large pool: {ratio:.2f}x")


if __name__ == "__main__":
    main()
