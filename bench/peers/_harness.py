"""What every peer script shares: arguments, timing, the JSON it prints.

A peer script defines ``make(base_url) -> (run, run_stream)``: two coroutine
functions doing one weather-agent run (whole answers, streamed) and
returning the answer text. It runs in its framework's own venv, so this
module uses the standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

ANSWER = "It is sunny in Paris, 21C."
Run = Callable[[], Awaitable[str]]


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city's name.
    """
    return f"{city}: 21C, sunny"


async def _sequential(one: Run, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await one()
        samples.append((time.perf_counter() - started) * 1000)
        assert answer == ANSWER, answer
    return samples


async def _concurrent(one: Run, concurrency: int) -> float:
    async def checked() -> None:
        assert await one() == ANSWER

    started = time.perf_counter()
    await asyncio.gather(*(checked() for _ in range(concurrency)))
    return concurrency / (time.perf_counter() - started)


def main(make: Callable[[str], tuple[Run, Run]], import_ms: float) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()

    async def measure() -> dict[str, Any]:
        run, run_stream = make(args.base_url)
        out: dict[str, Any] = {"import_ms": import_ms}
        for name, one in (("sequential", run), ("streaming", run_stream)):
            try:
                await _sequential(one, 20)  # warm-up
                out[name] = statistics.median(await _sequential(one, args.runs))
            except Exception as exc:  # a peer without this mode says why
                out[name] = None
                out[f"{name}_error"] = f"{type(exc).__name__}: {exc}"[:300]
        try:
            out["concurrent"] = await _concurrent(run, args.concurrency)
        except Exception as exc:
            out["concurrent"] = None
            out["concurrent_error"] = f"{type(exc).__name__}: {exc}"[:300]
        return out

    result = asyncio.run(measure())
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(result, sys.stdout)
