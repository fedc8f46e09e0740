"""Batch throughput with 1, 2 and 4 ``agentkit worker`` processes on one Postgres.

A throwaway Postgres server (Debian's binaries, as the tests start it) and
the OpenAI Chat emulator in this process, answering each request after
``--delay`` seconds. Every worker may run ``--worker-concurrency`` runs at
once and the provider's queue allows ``--rate`` run starts per period across
all workers, so throughput should grow with workers until the rate limit
binds, and never pass it. Each configuration gets a fresh database, its
workers started (and warm) before ``agentkit batch --workers-only`` enqueues
the inputs; the time measured is from the emulator's first request to its
last, so process start-up is left out. Printed: runs/s, the ratio to one
worker, and the most requests seen in any window of the rate's period.

    uv run python bench/batch.py [--inputs 60] [--rate 20/1s] [--rounds 1]

``--durable-postgres`` also runs ``bench/durable.py`` with its Postgres row
on the same throwaway server (durable vs in-memory per run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agentkit.durable._queues import parse_rate  # noqa: E402
from tests.durable.batch_helpers import (  # noqa: E402
    Recorder,
    batch_argv,
    child_env,
    emulator,
    start_workers,
    stop_workers,
    write_agent,
    write_inputs,
)
from tests.durable.postgres_server import (  # noqa: E402
    PostgresServer,
    _free_port,
    _server_user,
    find_bindir,
)


def start_postgres() -> PostgresServer:
    """A throwaway server in a temporary directory (stop it with ``stop()``)."""
    import pwd

    bindir = find_bindir()
    if bindir is None:
        sys.exit("Postgres binaries missing: run `bash .ci/install-postgres.sh`")
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="agentkit-pg-bench-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir=bindir, root=root, port=_free_port(), user=user)
    server.start()
    return server


def most_in_window(times: list[float], window: float) -> int:
    """The most requests inside any window of ``window`` seconds."""
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


def one_round(
    server: PostgresServer, workers: int, args: argparse.Namespace, tmp: Path
) -> tuple[float, int]:
    """Runs/s and the densest window, for ``workers`` worker processes."""
    db = server.fresh_url("bench")
    recorder = Recorder(delay=args.delay)
    agent = write_agent(tmp)
    inputs = write_inputs(tmp, [f"input {n} of {workers}" for n in range(args.inputs)])
    out = tmp / f"out-{workers}-{time.monotonic_ns()}.jsonl"
    with emulator(recorder) as url:
        started = start_workers(db, tmp, workers)
        try:
            argv = batch_argv(
                agent,
                inputs,
                out,
                db,
                url,
                "--workers-only",
                "--rate",
                args.rate,
                "--worker-concurrency",
                str(args.worker_concurrency),
            )
            done = subprocess.run(
                argv, env=child_env(tmp), capture_output=True, text=True, timeout=900
            )
            if done.returncode != 0:
                sys.exit(f"batch failed: {done.stderr[-2000:]}")
        finally:
            stop_workers(started)
    times = recorder.times()
    span = max(times[-1] - times[0], 1e-9)
    _, period = parse_rate(args.rate)
    return (len(times) - 1) / span, most_in_window(times, period)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=60)
    parser.add_argument("--rate", default="20/1s", help="LIMIT/PERIOD of the provider queue")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per answer")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--durable-postgres", action="store_true")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    limit, period = parse_rate(args.rate)
    server = start_postgres()
    tmp = Path(tempfile.mkdtemp(prefix="agentkit-bench-batch-"))
    try:
        results: dict[int, list[float]] = {n: [] for n in counts}
        densest: dict[int, int] = dict.fromkeys(counts, 0)
        load = os.getloadavg()[0]
        # Rounds interleave the configurations, so the machine's load hits all alike.
        for _ in range(args.rounds):
            for n in counts:
                rate, dense = one_round(server, n, args, tmp)
                results[n].append(rate)
                densest[n] = max(densest[n], dense)
        load = (load + os.getloadavg()[0]) / 2
        per_worker = args.worker_concurrency / args.delay
        print(
            f"{args.inputs} inputs, answer delay {args.delay}s, {args.worker_concurrency} runs "
            f"at once per worker (~{per_worker:.0f} runs/s each), rate limit {limit}/{period:g}s; "
            f"load {load:.1f}"
        )
        print(f"{'workers':>8} {'runs/s':>8} {'x 1 worker':>11} {'max in ' + f'{period:g}s':>10}")
        base = statistics.median(results[counts[0]])
        for n in counts:
            median = statistics.median(results[n])
            print(f"{n:>8} {median:>8.1f} {median / base:>11.2f} {densest[n]:>10} (limit {limit})")
        if args.durable_postgres:
            env = {**os.environ, "AGENTKIT_BENCH_POSTGRES_URL": server.fresh_url("durable")}
            subprocess.run(
                [sys.executable, str(REPO / "bench" / "durable.py"), "--runs", "100"],
                env=env,
                check=True,
            )
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
