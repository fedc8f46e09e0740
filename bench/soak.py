"""Soak: many agent runs against a faulty loopback emulator; memory, descriptors, outcomes.

Each run is the weather agent (two model calls and one tool call) against
``OpenAIChatEmulator`` on 127.0.0.1, behind a small fault wrapper that
answers a seeded fraction of requests with 429 or 500, or cuts the answer
off half-way (the connection closes mid-body). The runner retries with a
``RetryPolicy`` of millisecond waits. RSS and open file descriptors are
printed at the start, every 2,000 runs and at the end, then the runs that
recovered from an injected fault and those that failed, by error class.

Bounded: ``--runs`` runs (default 10,000), ``--concurrency`` at a time, each
with a 30 s timeout; loopback only; stops by itself.

    uv run python bench/soak.py [--runs 10000] [--concurrency 8] [--fault-rate 0.05]

The fault wrapper is local on purpose: a shared ``agentkit.testing`` fault
server is being built separately; this one only needs three kinds of fault.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import anyio
import httpx2
from agentkit_adapters.openai import OpenAIChatAdapter

from agentkit import Agent, ModelRequest, RetryPolicy, ToolCallPart, ToolResultPart, run, tool
from agentkit.testing import OpenAIChatEmulator, serve_asgi

sys.path.insert(0, str(Path(__file__).parent))
from runtime_overhead import get_weather

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

REPORT_EVERY = 2_000


def weather_model(request: ModelRequest) -> Any:
    """Call the tool first; answer once its result is in."""
    last = request.messages[-1]
    if any(isinstance(part, ToolResultPart) for part in last.parts):
        return "It is 21C and sunny in Paris."
    return [ToolCallPart(id="call_1", name="get_weather", arguments={"city": "Paris"})]


class FaultWrapper:
    """ASGI middleware: answer some requests with 429/500, cut others off mid-body.

    Faults are drawn from a seeded generator and counted per run (the run's
    number comes in the ``x-soak-run`` header), so the bench can tell which
    successful runs recovered from a fault.
    """

    def __init__(self, app: Any, rate: float, seed: int = 7) -> None:
        self.app = app
        self.rate = rate
        self.rng = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.runs_hit: set[int] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        roll = self.rng.random()
        fault = (
            "429"
            if roll < self.rate
            else "500"
            if roll < 2 * self.rate
            else "cut"
            if roll < 3 * self.rate
            else None
        )
        if fault is None:
            await self.app(scope, receive, send)
            return
        self.injected[fault] += 1
        headers = dict(scope["headers"])
        self.runs_hit.add(int(headers.get(b"x-soak-run", b"-1")))
        if fault == "cut":
            await self.app(scope, receive, _cut(send))
            return
        await receive()  # the request body, unread otherwise
        status = int(fault)
        body = b'{"error": {"message": "injected fault", "type": "server_error"}}'
        extra = [(b"retry-after", b"0")] if status == 429 else []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _cut(send: Send) -> Send:
    """A ``send`` that passes on the first half of the body and then stops the response."""
    state = {"sent": False}

    async def cut(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        if state["sent"]:
            raise _Cut
        body = message.get("body", b"")
        half = body[: len(body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        state["sent"] = True
        raise _Cut

    return cut


class _Cut(Exception):
    """Raised inside the app: uvicorn then drops the connection half-way through the body."""


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def report(label: str, started: float) -> None:
    print(
        f"{label:>14}: RSS {rss_kib() / 1024:7.1f} MiB, open fds {open_fds():4d}, "
        f"{time.perf_counter() - started:6.1f} s",
        flush=True,
    )


async def soak(
    base_url: str, faults: FaultWrapper, emulator: Any, args: argparse.Namespace
) -> None:
    retry = RetryPolicy(max_attempts=3, initial_delay=0.001, max_delay=0.004, jitter=0.0)
    agent = Agent(name="weather", tools=[tool(get_weather)])
    succeeded: set[int] = set()
    failed: Counter[str] = Counter()
    started = time.perf_counter()
    report("start", started)
    async with httpx2.AsyncClient(timeout=30) as client:

        async def one(index: int) -> None:
            adapter = OpenAIChatAdapter(
                "gpt-4.1-mini",
                api_key="sk-test-planted",
                base_url=base_url,
                headers={"x-soak-run": str(index)},
                client=client,
            )
            try:
                with anyio.fail_after(30):
                    result = await run(agent, "Weather in Paris?", model=adapter, retry=retry)
                assert result.turns == 2, result.turns
                succeeded.add(index)
            except Exception as exc:  # counted by class: the point of the soak
                why = type(exc).__name__
                if exc.__cause__ is not None:
                    why += f"({type(exc.__cause__).__name__})"
                failed[why] += 1

        for batch in range(0, args.runs, args.concurrency):
            async with anyio.create_task_group() as group:
                for index in range(batch, min(batch + args.concurrency, args.runs)):
                    group.start_soon(one, index)
            done = min(batch + args.concurrency, args.runs)
            emulator.requests.clear()  # the emulator's own log would grow with the runs
            emulator.calls.clear()
            if done % REPORT_EVERY == 0 and done < args.runs:
                report(f"{done} runs", started)
    report(f"end ({args.runs})", started)
    recovered = len(succeeded & faults.runs_hit)
    print(f"faults injected: {dict(faults.injected)} in {len(faults.runs_hit)} runs")
    print(f"succeeded: {len(succeeded)} (recovered from a fault: {recovered})")
    print(f"failed: {sum(failed.values())} {dict(failed)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--fault-rate", type=float, default=0.05, help="fraction of requests per fault kind"
    )
    args = parser.parse_args()
    emulator = OpenAIChatEmulator(weather_model)
    faults = FaultWrapper(emulator, args.fault_rate)
    with serve_asgi(faults) as root:
        # uvicorn logs a traceback for every answer cut off on purpose (set once it has
        # configured its loggers).
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        anyio.run(soak, f"{root}/v1", faults, emulator, args)


if __name__ == "__main__":
    main()
