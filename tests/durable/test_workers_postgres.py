"""Several ``agentkit worker`` processes on one real Postgres, one of them killed.

The throwaway server comes from ``postgres_server`` (Debian's binaries;
``bash .ci/install-postgres.sh``). The emulator answers slowly, so runs are
in flight at the kill; it records when every request came, so the rate
limit can be checked across workers, and what each asked, so a repeated
model call would show.
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from agentkit.durable._liveness import libpq_url
from tests.durable.batch_helpers import (
    Recorder,
    batch_argv,
    child_env,
    emulator,
    read_lines,
    start_workers,
    stop_workers,
    write_agent,
    write_inputs,
)
from tests.durable.postgres_server import PostgresServer, postgres_server

__all__ = ["postgres_server"]

_PENDING = "SELECT count(*) FROM dbos.workflow_status WHERE executor_id = %s AND status = 'PENDING'"


_STARTS = (
    "SELECT started_at_epoch_ms FROM dbos.workflow_status"
    " WHERE queue_name IS NOT NULL AND started_at_epoch_ms IS NOT NULL ORDER BY 1"
)


def _run_starts(db: str) -> list[float]:
    """When DBOS started each queued run (seconds), as its own tables recorded it."""
    with psycopg.connect(libpq_url(db), autocommit=True) as conn:
        return [row[0] / 1000 for row in conn.execute(_STARTS).fetchall()]


def _pending_of(db: str, executor_id: str) -> int:
    try:
        with psycopg.connect(libpq_url(db), autocommit=True) as conn:
            row = conn.execute(_PENDING, (executor_id,)).fetchone()
    except psycopg.Error:
        return 0  # the tables are not there yet
    return int(row[0]) if row else 0


def _most_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_workers_share_a_batch_survive_a_kill_and_keep_the_rate(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    texts = [f"question {n}" for n in range(16)]
    limit, period = 4, 2.0
    db = postgres_server.fresh_url("batch")
    agent = write_agent(tmp_path)
    inputs = write_inputs(tmp_path, texts)
    out = tmp_path / "results.jsonl"
    recorder = Recorder(delay=0.6)
    with emulator(recorder) as url:
        argv = batch_argv(agent, inputs, out, db, url, "--workers-only", "--rate", f"{limit}/2s")
        batch = subprocess.Popen(
            argv,
            env=child_env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "batch.err").open("w"),
        )
        workers = start_workers(db, tmp_path, 3)
        try:
            # The victim is whichever worker is first seen holding a run: the
            # queue gives runs to whoever asks first, so a fixed choice could
            # find its worker idle until the batch is done.
            deadline = time.monotonic() + 240
            while True:
                held = [(w, _pending_of(db, w.executor_id)) for w in workers]
                busy = [(w, n) for w, n in held if n >= 1]
                if busy:
                    victim, pending = busy[0]
                    break
                assert batch.poll() is None, (tmp_path / "batch.err").read_text()
                assert time.monotonic() < deadline, "no worker ever took a run"
                time.sleep(0.05)
            survivors = [w for w in workers if w is not victim]
            victim.process.kill()
            victim.process.wait(timeout=30)
            assert batch.wait(timeout=300) == 0, (tmp_path / "batch.err").read_text()
        finally:
            if batch.poll() is None:
                batch.kill()
            stop_workers(workers)

    lines = read_lines(out)
    # Every input answered exactly once, with its own answer.
    assert sorted(line["id"] for line in lines) == sorted({line["id"] for line in lines})
    assert len(lines) == len(texts)
    assert sorted(line["output"] for line in lines) == sorted(f"echo: {t}" for t in texts)

    # The living swept the victim's runs back onto the queue and finished them.
    notes = "".join(s.stderr() for s in survivors)
    gone = re.findall(rf"worker {re.escape(victim.executor_id)} is gone: (\d+) of its runs", notes)
    assert gone, notes[-3000:]
    recovered = max(int(n) for n in gone)
    assert recovered >= pending >= 1
    answered_by = {line["worker"] for line in lines}
    assert answered_by <= {w.executor_id for w in workers}
    assert answered_by & {s.executor_id for s in survivors}
    # Only a model call cut off by the kill is asked again; nothing finished is.
    asked = recorder.inputs()
    assert set(asked) == set(texts)
    assert len(texts) <= len(asked) <= len(texts) + recovered

    # The rate limit held across the three workers. DBOS limits run starts, so
    # they are read from its tables: the time a request reaches the emulator
    # trails its start by however long a busy machine takes to load the agent
    # file, and windows of request times bunched up by that delay were seen to
    # hold one request more than the limit allows. DBOS forgets the start of a
    # run it puts back on the queue, so the window of the kill may also hold the
    # runs the dead worker had started.
    starts = _run_starts(db)
    assert len(starts) == len(texts)
    assert _most_in_window(starts, period) <= limit + recovered, starts
    times = recorder.times()
    slack = 0.8
    # The first runs of a fresh worker are the slowest to send: more slack.
    assert times[-1] - times[0] >= (math.ceil(len(asked) / limit) - 1) * period - 2 * slack
