"""What the runtime adds to one agent run, over a hand-written loop on raw httpx2.

One run = two model calls and one tool call (the weather agent): the model
asks for ``get_weather``, gets the result, answers. Both sides talk to the
same minimal OpenAI server (``_fast_openai.py``, another process) over one
keep-alive connection pool, interleaved run by run so machine noise hits both
alike. Budget: at most 0.3 ms per run over the baseline.

    uv run python bench/runtime_overhead.py [--runs 2000]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
from agentkit_adapters.openai import OpenAIChatAdapter

from agentkit import Agent, run, tool

BUDGET_MS = 0.3


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city's name.
    """
    return f"{city}: 21C, sunny"


#: As users write it: a sync function runs in a worker thread by default.
WEATHER_TOOL = tool(get_weather)
#: The same function marked as quick and pure: it runs inline, like the baseline's.
INLINE_TOOL = tool(blocking=False)(get_weather)
TOOLS_JSON = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather in a city.",
            "parameters": WEATHER_TOOL.definition.input_schema,
        },
    }
]


async def hand_loop(client: httpx2.AsyncClient, url: str) -> str:
    """The baseline: what a careful developer writes without a framework."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    while True:
        body = {"model": "gpt-4.1-mini", "messages": messages, "tools": TOOLS_JSON}
        response = await client.post(url, json=body, headers={"authorization": "Bearer k"})
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def measure(runs: int, base_url: str) -> dict[str, list[float]]:
    agents = {
        "agentkit, sync tool in a worker thread": Agent(
            name="weather", instructions="Be brief.", tools=[WEATHER_TOOL]
        ),
        "agentkit, sync tool inline (blocking=False)": Agent(
            name="weather", instructions="Be brief.", tools=[INLINE_TOOL]
        ),
    }
    adapter = OpenAIChatAdapter("gpt-4.1-mini", api_key="k", base_url=base_url)
    limits = httpx2.Limits(max_connections=25, max_keepalive_connections=25)
    samples: dict[str, list[float]] = {"baseline": [], **{name: [] for name in agents}}
    async with httpx2.AsyncClient(limits=limits) as client:
        url = f"{base_url}/chat/completions"
        for i in range(runs + 50):
            t0 = time.perf_counter()
            answer = await hand_loop(client, url)
            elapsed = {"baseline": time.perf_counter() - t0}
            for name, agent in agents.items():
                t0 = time.perf_counter()
                result = await run(agent, "Weather in Paris?", model=adapter)
                elapsed[name] = time.perf_counter() - t0
                assert answer == result.output, (answer, result.output)
                assert result.turns == 2
            if i >= 50:  # warm-up: connections, caches, validators
                for name, seconds in elapsed.items():
                    samples[name].append(seconds * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_fast_openai.py")), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        samples = anyio.run(measure, runs, f"http://127.0.0.1:{port}/v1")
    finally:
        server.terminate()
        server.wait()
    base = statistics.median(samples.pop("baseline"))
    print(f"runs: {runs} each, interleaved (two model calls and one tool call per run)")
    print(f"{'hand-written loop on raw httpx2 (baseline)':<46} {base:8.3f} ms")
    for name, values in samples.items():
        ours = statistics.median(values)
        added = ours - base
        verdict = "ok" if added <= BUDGET_MS else "OVER"
        print(
            f"{name:<46} {ours:8.3f} ms  added {added:+.3f} ms ({ours / base:.2f}x)"
            f"  budget {BUDGET_MS} ms: {verdict}"
        )


if __name__ == "__main__":
    main()
