"""``agentkit serve`` against the official SDK's ``MCPServer``, with the official client.

Each number is printed with its ratio to the official server measured in
the same run (so a busy machine shifts both alike):

- ``tools/call`` per second over streamable HTTP on loopback, on both protocol
  revisions (2025-11-25 through the initialize handshake, 2026-07-28 through
  per-request metadata), sequential and with ``--clients`` (20) clients
  calling at once, each its own connection and session: serving over HTTP
  rather than stdio is how one server is shared by several agents or users,
  so that is the load a user puts on it. Beside each rate, the server
  process's CPU milliseconds per call (/proc), which a busy machine moves
  less than wall time, and the median and 90th percentile of one call's
  latency as its client sees it (where queueing shows, which CPU does not);
- milliseconds from spawning a stdio server to its first ``tools/list`` answer
  (goal: at most 300 ms for ``agentkit serve``);
- sequential ``tools/call`` per second over stdio (goal: at least 1.0x the
  official server), each server spawned once by the official client.

Both servers offer the same ``evaluate`` tool (agentkit's ``math`` tool set).

    uv run python bench/mcp_server.py [--calls 1000] [--seconds 5] [--rounds 5] [--clients 20]
        [--spawns 5] [--only http|stdio]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import anyio

ARGUMENTS = {"expression": "2 * (3 + 4) ** 2"}


def _official_server(transport: str, port: int) -> None:
    from agentkit_tools.math import safe_eval
    from mcp.server import MCPServer

    server = MCPServer("official")

    @server.tool()
    def evaluate(expression: str) -> float:
        """Evaluate an arithmetic expression."""
        return float(safe_eval(expression))

    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", port=port)


def _agentkit() -> str:
    cli = Path(sys.executable).with_name("agentkit")
    return str(cli) if cli.exists() else (shutil.which("agentkit") or "agentkit")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {port}")


def _commands(transport: str, port: int) -> dict[str, list[str]]:
    me = [sys.executable, __file__, "--official-server", transport, "--port", str(port)]
    ours = [_agentkit(), "serve", "math"]
    if transport == "http":
        ours += ["--transport", "http", "--port", str(port)]
    return {"official MCPServer": me, "agentkit serve": ours}


#: The protocol revisions measured, each with the client ``mode`` that speaks it.
REVISIONS = {"2025-11-25": "legacy", "2026-07-28": "2026-07-28"}


async def _call_loop(client: Any, deadline: float, most: int, latencies: list[float]) -> int:
    done = 0
    while done < most and time.perf_counter() < deadline:
        started = time.perf_counter()
        result = await client.call_tool("evaluate", ARGUMENTS)
        latencies.append(time.perf_counter() - started)
        assert not result.is_error, result
        done += 1
    return done


async def _round(group: list[Any], deadline: float, most: int, latencies: list[float]) -> int:
    """Every client of ``group`` calls in a loop at once; the calls they made in all."""
    counts = [0] * len(group)

    async def one(i: int) -> None:
        counts[i] = await _call_loop(group[i], deadline, most, latencies)

    async with anyio.create_task_group() as tg:
        for i in range(len(group)):
            tg.start_soon(one, i)
    return sum(counts)


async def _http_rates(
    servers: dict[str, tuple[str, int]],
    mode: str,
    clients: int,
    calls: int,
    seconds: float,
    rounds: int,
) -> dict[str, tuple[float, float, float, float]]:
    """Median calls/s, median server CPU ms per call, and the p50 and p90 of
    the calls' latencies (ms, every round's calls together), for each server.

    ``clients`` connections (each its own session) call in a loop at once;
    one client is the sequential case. Rounds alternate between the servers,
    so a noisy neighbour hits both alike.
    """
    from mcp import Client

    rates: dict[str, list[float]] = {name: [] for name in servers}
    cpu: dict[str, list[float]] = {name: [] for name in servers}
    latencies: dict[str, list[float]] = {name: [] for name in servers}
    async with contextlib.AsyncExitStack() as stack:
        sessions = {
            name: [await stack.enter_async_context(Client(url, mode=mode)) for _ in range(clients)]
            for name, (url, _) in servers.items()
        }
        for group in sessions.values():
            for client in group:
                for _ in range(5):  # warm up: session, imports, caches
                    await client.call_tool("evaluate", ARGUMENTS)
        for _ in range(rounds):
            for name, group in sessions.items():
                pid = servers[name][1]
                cpu_before = _cpu_seconds(pid)
                started = time.perf_counter()
                most = max(1, calls // rounds // len(group))
                done = await _round(group, started + seconds / rounds, most, latencies[name])
                rates[name].append(done / (time.perf_counter() - started))
                cpu[name].append((_cpu_seconds(pid) - cpu_before) * 1000 / done)
    found = {}
    for name in servers:
        ms = sorted(x * 1000 for x in latencies[name])
        found[name] = (
            statistics.median(rates[name]),
            statistics.median(cpu[name]),
            ms[len(ms) // 2],
            ms[len(ms) * 9 // 10],
        )
    return found


async def _first_list_ms(command: list[str], quiet: TextIO) -> float:
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    started = time.perf_counter()
    transport = stdio_client(params, errlog=quiet)
    async with Client(transport, mode="legacy", read_timeout_seconds=30) as client:
        tools = await client.list_tools()
        elapsed = (time.perf_counter() - started) * 1000
    assert [t.name for t in tools.tools] == ["evaluate"]
    return elapsed


def _children() -> set[int]:
    """This process's child processes (Linux), to find the server a stdio client spawned."""
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/children") as f:
            found |= {int(pid) for pid in f.read().split()}
    return found


def _cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time of process ``pid`` so far (nan when unknown)."""
    if pid is None:
        return math.nan
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _stdio_calls_per_second(
    commands: dict[str, list[str]], calls: int, seconds: float, rounds: int, quiet: TextIO
) -> dict[str, tuple[float, float]]:
    """Like ``_calls_per_second``, over stdio: rounds alternate between the servers.

    Returns calls per second and the server's CPU microseconds per call (its
    user plus system time, which a busy machine inflates far less than wall time).
    """
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    rates: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    pids: dict[str, int | None] = {}
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name, command in commands.items():
            params = StdioServerParameters(
                command=command[0], args=command[1:], env=dict(os.environ)
            )
            before = _children()
            transport = stdio_client(params, errlog=quiet)
            clients[name] = await stack.enter_async_context(
                Client(transport, mode="legacy", read_timeout_seconds=60)
            )
            spawned = _children() - before
            pids[name] = spawned.pop() if len(spawned) == 1 else None
        for client in clients.values():
            for _ in range(10):  # warm up: the SDK behind agentkit's front, caches
                await client.call_tool("evaluate", ARGUMENTS)
        for _ in range(rounds):
            for name, client in clients.items():
                done = 0
                used = _cpu_seconds(pids[name])
                started = time.perf_counter()
                deadline = started + seconds / rounds
                while done < calls // rounds and time.perf_counter() < deadline:
                    result = await client.call_tool("evaluate", ARGUMENTS)
                    assert not result.is_error, result
                    done += 1
                rates[name].append(done / (time.perf_counter() - started))
                cpu[name].append((_cpu_seconds(pids[name]) - used) / done * 1e6)
    return {
        name: (statistics.median(rates[name]), statistics.median(cpu[name])) for name in commands
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000, help="most calls per server")
    parser.add_argument("--seconds", type=float, default=5.0, help="most seconds per server")
    parser.add_argument("--rounds", type=int, default=5, help="alternating HTTP rounds")
    parser.add_argument(
        "--clients", type=int, default=20, help="HTTP clients calling at once (concurrent case)"
    )
    parser.add_argument("--spawns", type=int, default=5, help="stdio spawns per server")
    parser.add_argument("--only", choices=["http", "stdio"], help="run one of the two benchmarks")
    parser.add_argument("--official-server", choices=["stdio", "http"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.official_server:
        _official_server(args.official_server, args.port)
        return
    # Imported here, not in the official server this script also runs as.
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import user_environment

    user_environment()  # both servers spawn with bytecode, as a user's do
    if args.only in (None, "http"):
        _bench_http(args)
    if args.only in (None, "stdio"):
        _bench_stdio(args)


def _bench_http(args: argparse.Namespace) -> None:
    print(
        f"tools/call over streamable HTTP (loopback, official client; median of {args.rounds} "
        f"alternating rounds; load {os.getloadavg()[0]:.1f})"
    )
    processes = []
    servers: dict[str, tuple[str, int]] = {}
    try:
        for name in ("official MCPServer", "agentkit serve"):
            port = _free_port()
            command = _commands("http", port)[name]
            process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            processes.append(process)
            _wait_for_port(port, process)
            servers[name] = (f"http://127.0.0.1:{port}/mcp", process.pid)
        for revision, mode in REVISIONS.items():
            for clients in (1, args.clients):
                what = "sequential" if clients == 1 else f"{clients} clients at once"
                print(f"  {revision}, {what}:")
                found = anyio.run(
                    _http_rates, servers, mode, clients, args.calls, args.seconds, args.rounds
                )
                base_rate, base_cpu, _, _ = found["official MCPServer"]
                for name, (rate, cpu, p50, p90) in found.items():
                    print(
                        f"    {name:<20} {rate:8.1f} calls/s {rate / base_rate:5.2f}x official"
                        f"   server CPU {cpu:6.2f} ms/call {cpu / base_cpu:5.2f}x"
                        f"   latency p50 {p50:6.1f} p90 {p90:6.1f} ms"
                    )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    print(f"  (load {os.getloadavg()[0]:.1f} at the end)")


def _bench_stdio(args: argparse.Namespace) -> None:
    print(f"stdio: spawn to first tools/list answer (median of {args.spawns})")
    samples: dict[str, list[float]] = {name: [] for name in _commands("stdio", 0)}
    with open(os.devnull, "w") as quiet:  # the servers' stderr
        for command in _commands("stdio", 0).values():
            anyio.run(_first_list_ms, command, quiet)  # warm the file cache and .pyc files
        # Interleaved, so a noisy neighbour slows both alike.
        for _ in range(args.spawns):
            for name, command in _commands("stdio", 0).items():
                samples[name].append(anyio.run(_first_list_ms, command, quiet))
    spawn = {name: statistics.median(values) for name, values in samples.items()}
    base = spawn["official MCPServer"]
    for name, ms in spawn.items():
        goal = (
            ""
            if name != "agentkit serve"
            else ("  goal 300 ms: ok" if ms <= 300 else "  goal 300 ms: OVER")
        )
        print(f"  {name:<20} {ms:8.1f} ms        {ms / base:5.2f}x official{goal}")
    print(
        f"sequential tools/call over stdio (official client, legacy handshake; "
        f"median of {args.rounds} alternating rounds)"
    )
    with open(os.devnull, "w") as quiet:
        rates = anyio.run(
            _stdio_calls_per_second,
            _commands("stdio", 0),
            args.calls,
            args.seconds,
            args.rounds,
            quiet,
        )
    base, base_cpu = rates["official MCPServer"]
    for name, (rate, cpu_us) in rates.items():
        goal = (
            ""
            if name != "agentkit serve"
            else ("  goal 1.0x: ok" if rate >= base else "  goal 1.0x: UNDER")
        )
        print(
            f"  {name:<20} {rate:8.1f} calls/s   {rate / base:5.2f}x official"
            f"   server CPU {cpu_us:6.0f} us/call ({cpu_us / base_cpu:4.2f}x){goal}"
        )


if __name__ == "__main__":
    main()
