"""agentkit against what a user would otherwise choose, on one loopback server.

The same weather agent (two model calls, one tool call) in each framework:
the floor (a hand loop on raw httpx2), a hand loop on the official ``openai``
SDK, ``pydantic-ai``, ``openai-agents``, ``litellm`` (a hand loop on
``acompletion``) and agentkit (default ``@tool``, model string). Each peer is
installed at a pinned version into its own throwaway venv outside the repo
(``~/.cache/agentkit/bench-envs/``, with ``uv``; this needs PyPI once, and is
never part of the tests); agentkit runs from this checkout. All talk to one
``_fast_openai.py`` server, whose own headroom (requests/s with a raw client)
is measured first. Rounds alternate the frameworks, each round a fresh
process per framework; the table has medians over rounds and ratios to the
floor for sequential runs, streamed runs, 200 concurrent runs, import time
and peak RSS.

    uv run python bench/compare.py [--rounds 5] [--runs 200] [--json out.json]
        [--compare old.json] [--only floor,agentkit]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _common import fast_server, user_environment

HERE = Path(__file__).parent
PEERS_DIR = HERE / "peers"
ENVS = Path(os.environ.get("AGENTKIT_BENCH_ENVS", "~/.cache/agentkit/bench-envs")).expanduser()

#: name -> (peer script, pinned requirements; None: this checkout's interpreter)
FRAMEWORKS: dict[str, tuple[str, list[str] | None]] = {
    "floor (httpx2 hand loop)": ("floor.py", ["httpx2==2.16.2"]),
    "openai SDK hand loop": ("openai_sdk.py", ["openai==3.51.0"]),
    "agentkit": ("agentkit_peer.py", None),
    "pydantic-ai": ("pydantic_ai_peer.py", ["pydantic-ai-slim[openai]==2.62.0"]),
    "openai-agents": ("openai_agents_peer.py", ["openai-agents==0.24.0"]),
    "litellm": ("litellm_peer.py", ["litellm==1.110.2"]),
}
FLOOR = "floor (httpx2 hand loop)"
#: Nothing leaves the machine: litellm would fetch its price map at import,
#: openai-agents would export traces.
PEER_SETTINGS = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "OPENAI_API_KEY": "sk-test-bench",
}


def _peer_env() -> dict[str, str]:
    # Read when a round starts, after main() has let the processes write and
    # use bytecode (user_environment): with PYTHONDONTWRITEBYTECODE inherited,
    # every import compiled from source, and agentkit's import read 282 ms
    # where a user's takes ~120.
    return {**os.environ, **PEER_SETTINGS}


#: metric -> unit (concurrent: higher is better; the rest: lower is)
METRICS = {
    "sequential": "ms/run",
    "streaming": "ms/run",
    "concurrent": "runs/s",
    "import_ms": "ms",
    "peak_rss_mib": "MiB",
}


def python_for(name: str) -> str:
    """The interpreter of ``name``'s venv, created and installed on first use."""
    requirements = FRAMEWORKS[name][1]
    if requirements is None:
        return sys.executable
    env = ENVS / "-".join(r.replace("[", "_").replace("]", "") for r in requirements)
    python = env / "bin" / "python"
    if not python.exists():
        print(f"installing {', '.join(requirements)} into {env} ...", flush=True)
        subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(env)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "--quiet", "--python", str(python), *requirements],
            check=True,
        )
    return str(python)


async def _headroom(base_url: str, seconds: float = 2.0, connections: int = 25) -> float:
    """Requests/s the server answers to a raw keep-alive client (no framework at all)."""
    host, port = base_url.split("//")[1].split("/")[0].split(":")
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    done = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            done += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return done / (time.perf_counter() - started)


def run_peer(name: str, python: str, base_url: str, runs: int, concurrency: int) -> dict[str, Any]:
    script = PEERS_DIR / FRAMEWORKS[name][0]
    done = subprocess.run(
        [python, str(script), base_url, "--runs", str(runs), "--concurrency", str(concurrency)],
        capture_output=True,
        text=True,
        cwd=PEERS_DIR,
        env=_peer_env(),
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": os.getloadavg(),
    }


def summarize(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for name in rounds[0]:
        row: dict[str, Any] = {}
        for metric in METRICS:
            values = [r[name][metric] for r in rounds if r[name].get(metric) is not None]
            row[metric] = statistics.median(values) if values else None
            row[f"{metric}_min"] = min(values) if values else None
            row[f"{metric}_max"] = max(values) if values else None
        errors = {k: v for r in rounds for k, v in r[name].items() if k.endswith("error")}
        if errors:
            row["errors"] = errors
        table[name] = row
    return table


def print_table(table: dict[str, dict[str, Any]], old: dict[str, Any] | None) -> None:
    floor = table.get(FLOOR, {})
    header = f"{'framework':<26}" + "".join(f"{m + ' (' + u + ')':>24}" for m, u in METRICS.items())
    print(header)
    for name, row in table.items():
        cells = []
        for metric in METRICS:
            value = row.get(metric)
            if value is None:
                cells.append(f"{'n/a':>24}")
                continue
            base = floor.get(metric)
            ratio = f" {value / base:4.2f}x" if base else ""
            cells.append(f"{value:>16.2f}{ratio:>8}")
        print(f"{name:<26}" + "".join(cells))
        for key, message in row.get("errors", {}).items():
            print(f"    {key}: {message}")
    if old is not None:
        print("\nagainst the earlier run (new / old, each framework's median):")
        for name, row in table.items():
            before = old["table"].get(name)
            if before is None:
                continue
            cells = []
            for metric in METRICS:
                new_value, old_value = row.get(metric), before.get(metric)
                ok = new_value is not None and old_value
                cells.append(f"{metric} {new_value / old_value:.2f}x" if ok else f"{metric} n/a")
            print(f"  {name:<26} " + ", ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200, help="sequential runs per process")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--only", help="comma-separated framework names (substrings)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--compare", type=Path, help="an earlier --json file to compare with")
    args = parser.parse_args()
    user_environment()
    names = list(FRAMEWORKS)
    if args.only:
        wanted = args.only.split(",")
        names = [n for n in names if n == FLOOR or any(w in n for w in wanted)]
    pythons = {name: python_for(name) for name in names}
    info = machine()
    with fast_server() as base_url:
        headroom = asyncio.run(_headroom(base_url))
        print(
            f"machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, "
            f"{info['date']}, load {info['load_before'][0]:.2f}"
        )
        print(
            f"server headroom: {headroom:,.0f} requests/s (raw keep-alive client, 25 connections)"
        )
        rounds = []
        for i in range(args.rounds):
            order = names[i % len(names) :] + names[: i % len(names)]  # rotate who goes first
            rounds.append(
                {n: run_peer(n, pythons[n], base_url, args.runs, args.concurrency) for n in order}
            )
            print(f"  round {i + 1}/{args.rounds} done", flush=True)
    rounds = [{n: r[n] for n in names} for r in rounds]
    table = summarize(rounds)
    info["load_after"] = os.getloadavg()
    print(
        f"\n{args.rounds} rounds x {args.runs} sequential runs and {args.concurrency} concurrent; "
        f"medians, ratio to the floor; load after {info['load_after'][0]:.2f}"
    )
    # Saved before printing: a long run's numbers must survive a printing bug.
    if args.json:
        payload = {"machine": info, "headroom_rps": headroom, "rounds": rounds, "table": table}
        args.json.write_text(json.dumps(payload, indent=2))
        print(f"written to {args.json}")
    old = json.loads(args.compare.read_text()) if args.compare else None
    print_table(table, old)


if __name__ == "__main__":
    main()
