"""Start-up cost in fresh processes, against a bare interpreter measured in the same run.

Cases: ``import agentkit``, ``agentkit --help``, ``from agentkit import Agent,
run, tool``, and a whole first run (import, then the weather agent against
the loopback server: what a script or a serverless cold start pays).
Budgets over ``python -c pass``: 60 ms for the import of the three names,
150 ms for import plus first run. Cases alternate so noise hits all alike.

Two references say what part of a first run is agentkit's own: the import
of the libraries it is built on (anyio with its asyncio backend, httpx2,
pydantic's models), and the same first run written by hand on raw httpx2
(the floor of the per-run benchmarks, in a fresh process). The first run's
line "over the hand-written run" is what agentkit adds to a cold start.
``--importtime`` prints the slowest modules of the first run (``-X importtime``).
``--instructions`` counts each case's instructions once under callgrind
(valgrind), which, unlike milliseconds, do not move with the machine's load.

    uv run python bench/startup.py [--runs 20] [--importtime] [--instructions]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import fast_server, user_environment

# The tool is written out here, as a user's script has it: importing it from
# ``_common`` would add that module's own imports (statistics, subprocess) to
# what the case measures.
FIRST_RUN = """
from agentkit import Agent, run_sync, tool

def get_weather(city: str) -> str:
    \"\"\"Get the weather in a city.

    Args:
        city: The city's name.
    \"\"\"
    return f"{{city}}: 21C, sunny"

agent = Agent(name="weather", instructions="Be brief.", tools=[tool(get_weather)])
result = run_sync(agent, "Weather in Paris?", model="openai:gpt-4.1-mini",
                  model_options={{"base_url": {url!r}, "api_key": "k"}})
assert result.turns == 2, result
"""

# The floor's first run: what a careful developer writes on raw httpx2 and
# anyio, with httpx2's default client. It imports no pydantic.
HAND_FIRST_RUN = """
import json

import anyio
import httpx2

TOOLS = [{{"type": "function", "function": {{
    "name": "get_weather", "description": "Get the weather in a city.",
    "parameters": {{"type": "object", "properties": {{"city": {{"type": "string"}}}},
                   "required": ["city"]}}}}}}]

def get_weather(city):
    return f"{{city}}: 21C, sunny"

async def main():
    messages = [{{"role": "system", "content": "Be brief."}},
                {{"role": "user", "content": "Weather in Paris?"}}]
    async with httpx2.AsyncClient(timeout=60) as http:
        for turn in range(3):
            body = {{"model": "gpt-4.1-mini", "messages": messages, "tools": TOOLS}}
            response = await http.post({url!r} + "/chat/completions", json=body,
                                       headers={{"authorization": "Bearer k"}})
            message = response.json()["choices"][0]["message"]
            messages.append(message)
            if not message.get("tool_calls"):
                return turn + 1
            for call in message["tool_calls"]:
                result = get_weather(**json.loads(call["function"]["arguments"]))
                messages.append({{"role": "tool", "tool_call_id": call["id"], "content": result}})

assert anyio.run(main) == 2
"""

# What agentkit is built on, imported and nothing more: no agentkit code runs.
DEPENDENCIES = (
    "import anyio, anyio._backends._asyncio, httpx2, httpcore2, h11; "
    "from pydantic import BaseModel, Field, TypeAdapter"
)

DEPS_CASE = "dependencies' import (reference)"
HAND_CASE = "first run by hand on httpx2 (reference)"
BUDGET_MS = {"from agentkit import Agent, run, tool": 60.0, "import + first run": 150.0}


def _importtime(command: list[str], top: int = 15) -> None:
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True)
    rows = []
    for line in done.stderr.decode().splitlines():
        own, _, rest = line.removeprefix("import time:").partition("|")
        cumulative, _, name = rest.partition("|")
        if own.strip().isdigit():
            rows.append((int(cumulative), int(own), name.rstrip()))
    print(f"\nslowest imports of the first run (cumulative / own, microseconds), top {top}:")
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative:>9} {own:>9} {name}")


def _instructions(command: list[str]) -> int:
    """Instructions the process ``command`` executes (callgrind's ``Collected``)."""
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                f"--log-file={log.name}",
                *command,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        text = Path(log.name).read_text()
    found = re.search(r"Collected : (\d+)", text)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind: {text[-300:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--instructions", action="store_true")
    args = parser.parse_args()
    user_environment()
    cli = str(Path(sys.executable).with_name("agentkit"))
    if not Path(cli).exists():
        cli = shutil.which("agentkit") or "agentkit"
    with fast_server() as url:
        script = FIRST_RUN.format(url=url)
        cases = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "import agentkit": [sys.executable, "-c", "import agentkit"],
            "agentkit --help": [cli, "--help"],
            "from agentkit import Agent, run, tool": [
                sys.executable,
                "-c",
                "from agentkit import Agent, run, tool",
            ],
            "import + first run": [sys.executable, "-c", script],
            DEPS_CASE: [sys.executable, "-c", DEPENDENCIES],
            HAND_CASE: [
                sys.executable,
                "-c",
                HAND_FIRST_RUN.format(url=url),
            ],
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for command in cases.values():  # warm the file cache and .pyc files
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        for _ in range(args.runs):
            for name, command in cases.items():
                started = time.perf_counter()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
                samples[name].append((time.perf_counter() - started) * 1000)
        if args.importtime:
            _importtime(cases["import + first run"])
        counts = {name: _instructions(c) for name, c in cases.items()} if args.instructions else {}
    baseline = statistics.median(samples["python -c pass (baseline)"])
    print(f"{args.runs} alternating runs of each; ms, median (min-max)")
    print(f"{'case':<40} {'median':>8} {'range':>13} {'over baseline':>14} {'budget':>12}")
    for name, values in samples.items():
        ms = statistics.median(values)
        over = ms - baseline
        budget = BUDGET_MS.get(name)
        verdict = ""
        if budget is not None:
            verdict = f"+{budget:.0f}: " + ("ok" if over <= budget else "OVER")
        span = f"{min(values):.0f}-{max(values):.0f}"
        print(f"{name:<40} {ms:>8.1f} {span:>13} {over:>+14.1f} {verdict:>12}")
    hand = statistics.median(samples[HAND_CASE])
    first = statistics.median(samples["import + first run"])
    print(
        f"import + first run over the hand-written run: {first - hand:+.1f} ms "
        f"({first / hand:.2f}x); the dependencies' import alone is "
        f"{statistics.median(samples[DEPS_CASE]) - baseline:+.1f} ms"
    )
    if counts:
        base = counts["python -c pass (baseline)"]
        print("\ninstructions (callgrind, one run each), millions: total / over baseline")
        for name, count in counts.items():
            print(f"{name:<40} {count / 1e6:>8.1f} {(count - base) / 1e6:>+10.1f}")


if __name__ == "__main__":
    main()
