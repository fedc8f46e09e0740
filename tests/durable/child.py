"""Durable runs in their own processes, for the kill-and-resume tests (not a test module).

    python child.py        # a zygote: one JSON config a line on stdin, one run each

DBOS takes seconds to import on a busy machine, so this process imports it
once and forks a fresh process per run (before any engine thread exists):
it prints the child's pid, and the child writes its lines to the FIFO named
by ``out``. A config: ``{"database", "run_id", "base_url", "log", "out",
"block", "stream"}``.

The tools append ``start NAME`` and ``done NAME`` to the log file. The tool
named by ``block`` (once: a flag file beside the log remembers) writes
``BLOCKED NAME`` and waits forever, so the test can kill the process while
the call is in flight. The run's end is one line: ``RESULT <json>`` or
``ERROR <class> <json>``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

import anyio

from agentkit import Agent, tool
from agentkit.durable import durable_run, durable_stream, shutdown
from agentkit.exceptions import AgentkitError

config: dict[str, Any] = {}
out: TextIO = sys.stdout


def say(line: str) -> None:
    out.write(line + "\n")
    out.flush()


def _step(name: str) -> None:
    log = Path(config["log"])
    with log.open("a", encoding="utf-8") as f:
        f.write(f"start {name}\n")
    flag = log.with_name(f"blocked-{name}")
    if config.get("block") == name and not flag.exists():
        flag.touch()
        say(f"BLOCKED {name}")
        threading.Event().wait()  # until SIGKILL
    with log.open("a", encoding="utf-8") as f:
        f.write(f"done {name}\n")


@tool
def lookup(city: str) -> str:
    """Look up a city's weather.

    Args:
        city: The city.
    """
    _step("lookup")
    return f"{city}: 21C"


@tool(idempotent=False)
def pay(amount: int) -> str:
    """Pay an amount (must not happen twice).

    Args:
        amount: Euros.
    """
    _step("pay")
    return f"paid {amount}"


agent = Agent(name="trip", instructions="Plan the trip.", tools=[lookup, pay])


async def main() -> None:
    options: dict[str, Any] = {
        "run_id": config["run_id"],
        "model": "openai:gpt-4.1-mini",
        "model_options": {"base_url": config["base_url"]},
        "database": config["database"],
    }
    try:
        if config.get("stream"):
            kinds = []
            async for event in durable_stream(agent, "Plan Paris", **options):
                kinds.append(event.type)
                if event.type == "run_end":
                    result = event.result
            say("EVENTS " + json.dumps(kinds))
        else:
            result = await durable_run(agent, "Plan Paris", **options)
        say("RESULT " + result.model_dump_json())
    except AgentkitError as exc:
        details = {"message": str(exc), "tool": getattr(exc, "tool", None)}
        say(f"ERROR {type(exc).__name__} {json.dumps(details)}")
    finally:
        shutdown()


def serve() -> None:
    """Fork one child per config line; print its pid. Children are reaped by the kernel."""
    global config, out
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    for line in sys.stdin:
        config = json.loads(line)
        pid = os.fork()
        if pid == 0:
            sys.stdin.close()
            out = open(config["out"], "w", encoding="utf-8")  # noqa: SIM115 - the child's lifetime
            try:
                anyio.run(main)
            finally:
                out.close()
                os._exit(0)
        print(pid, flush=True)


if __name__ == "__main__":
    serve()
