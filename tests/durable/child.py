"""A durable run in its own process, for the kill-and-resume tests (not a test module).

    python child.py '{"database": ..., "run_id": ..., "base_url": ..., "log": ..., "block": ...}'

Its tools append ``start NAME`` and ``done NAME`` to the log file. The tool
named by ``block`` (once: a flag file beside the log remembers) prints
``BLOCKED NAME`` on stdout and waits forever, so the test can kill the
process while the call is in flight. The run's end is one line on stdout:
``RESULT <json>`` or ``ERROR <class> <json>``.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import anyio

from agentkit import Agent, tool
from agentkit.exceptions import AgentkitError

config = json.loads(sys.argv[1])
log = Path(config["log"])


def _step(name: str) -> None:
    with log.open("a", encoding="utf-8") as f:
        f.write(f"start {name}\n")
    flag = log.with_name(f"blocked-{name}")
    if config.get("block") == name and not flag.exists():
        flag.touch()
        print(f"BLOCKED {name}", flush=True)
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
    from agentkit.durable import durable_run, durable_stream, shutdown

    try:
        if config.get("stream"):
            kinds = []
            async for event in durable_stream(
                agent,
                "Plan Paris",
                run_id=config["run_id"],
                model="openai:gpt-4.1-mini",
                model_options={"base_url": config["base_url"]},
                database=config["database"],
            ):
                kinds.append(event.type)
                if event.type == "run_end":
                    result = event.result
            print("EVENTS " + json.dumps(kinds), flush=True)
        else:
            result = await durable_run(
                agent,
                "Plan Paris",
                run_id=config["run_id"],
                model="openai:gpt-4.1-mini",
                model_options={"base_url": config["base_url"]},
                database=config["database"],
            )
        print("RESULT " + result.model_dump_json(), flush=True)
    except AgentkitError as exc:
        details = {"message": str(exc), "tool": getattr(exc, "tool", None)}
        print(f"ERROR {type(exc).__name__} {json.dumps(details)}", flush=True)
    finally:
        shutdown()


anyio.run(main)
