"""``run_sync`` called again and again, as a script or an evaluation loop calls it.

Each call is the weather agent (two model calls, one tool call) against the
loopback server, named by its model string as a user names it (the shared
client). The floor is the same loop written by hand on a sync
``httpx2.Client`` kept for the whole script. The reference beside it is a
new event loop per call (``anyio.run(run, ...)``), which is what ``run_sync``
did before it kept a loop per thread: that costs a loop, a connection
and its closing on every call. Cases alternate call by call; the added time
is the median of call-by-call differences with the floor.

    uv run python bench/sync_calls.py [--runs 1000]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx2

from agentkit import Agent, run, run_sync, tool

sys.path.insert(0, str(Path(__file__).parent))
from _common import ANSWER, POOL, TOOLS_JSON, _start, fast_server, get_weather, spread


def sync_hand_loop(http: httpx2.Client, base_url: str) -> str:
    """The floor: the weather agent on a sync httpx2 client kept across calls."""
    messages = _start()
    url = f"{base_url}/chat/completions"
    while True:
        body = {"model": "gpt-4.1-mini", "messages": messages, "tools": TOOLS_JSON}
        response = http.post(url, json=body, headers={"authorization": "Bearer k"})
        response.raise_for_status()
        message = response.json()["choices"][0]["message"]
        messages.append(message)
        calls = message.get("tool_calls")
        if not calls:
            return str(message["content"])
        for call in calls:
            arguments = json.loads(call["function"]["arguments"])
            messages.append(
                {"role": "tool", "tool_call_id": call["id"], "content": get_weather(**arguments)}
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    agent = Agent(name="weather", instructions="Be brief.", tools=[tool(get_weather)])
    with fast_server() as base_url:
        options = {"base_url": base_url, "api_key": "k"}
        limits = httpx2.Limits(max_connections=POOL, max_keepalive_connections=POOL)
        with httpx2.Client(limits=limits, timeout=60) as http:
            each = functools.partial(
                run, agent, "Weather in Paris?", model="openai:gpt-4.1-mini", model_options=options
            )
            cases: dict[str, Callable[[], str]] = {
                "floor (sync httpx2.Client, hand loop)": lambda: sync_hand_loop(http, base_url),
                "agentkit run_sync": lambda: str(
                    run_sync(
                        agent,
                        "Weather in Paris?",
                        model="openai:gpt-4.1-mini",
                        model_options=options,
                    ).output
                ),
                "a new loop per call (reference)": lambda: str(anyio.run(each).output),
            }
            samples: dict[str, list[float]] = {name: [] for name in cases}
            warmup = 50
            for i in range(args.runs + warmup):
                for name, one in cases.items():
                    started = time.perf_counter()
                    answer = one()
                    elapsed = (time.perf_counter() - started) * 1000
                    assert answer == ANSWER, (name, answer)
                    if i >= warmup:
                        samples[name].append(elapsed)
    floor_name = next(iter(cases))
    floor = samples[floor_name]
    print(f"{args.runs} calls of each, alternating (two model calls and one tool call per call)")
    print(f"{'case':<40} {'ms per call: median (p25, p75)':>34} {'added':>9} {'ratio':>6}")
    for name, values in samples.items():
        if name == floor_name:
            print(f"{name:<40} {spread(values):>34}")
            continue
        added = statistics.median(a - b for a, b in zip(values, floor, strict=True))
        ratio = statistics.median(values) / statistics.median(floor)
        print(f"{name:<40} {spread(values):>34} {added:+8.3f} {ratio:5.2f}x")


if __name__ == "__main__":
    main()
