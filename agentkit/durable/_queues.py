"""The per-provider queues of batch runs, their shared limits, and the engine's launch.

A batch enqueues one workflow per input on the queue of its model's
provider; any process that launched DBOS on the same system database (the
``agentkit batch`` command itself, ``agentkit worker`` processes on any
machine) dequeues and runs them. The workflow is ``agentkit.durable``'s
``run_workflow`` (every model call and tool call a recorded step), and its
``RunSpec`` names the agent by its file's absolute path: a worker on another
machine needs the same files at the same place (one image, one checkout).

A queue's limits are stored with the queue in the system database, so they
hold across every worker that shares it: ``limiter`` is DBOS's rolling
window of workflow *starts* (one start is one run; a run that makes several
model calls makes several requests), ``global_concurrency`` caps the runs
in flight across all workers and ``worker_concurrency`` those in one worker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..exceptions import UserError

__all__ = [
    "QUEUE_PREFIX",
    "ensure_queue",
    "launch_engine",
    "parse_rate",
    "queue_name",
    "set_queue_limits",
]

#: Every provider's queue is named ``agentkit-<provider>``.
QUEUE_PREFIX = "agentkit-"
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_rate(text: str) -> tuple[int, float]:
    """``"60/1m"`` -> ``(60, 60.0)``: at most LIMIT run starts per PERIOD.

    Raises:
        UserError: not of the form LIMIT/PERIOD[ms|s|m|h] with both positive.
    """
    match = _RATE.match(text)
    if match is None:
        raise UserError(
            f"--rate {text!r}: expected LIMIT/PERIOD, e.g. 60/1m, 10/1s or 500/60 (seconds)"
        )
    limit, period = int(match.group(1)), float(match.group(2)) * _UNIT_SECONDS[match.group(3)]
    if limit < 1 or period <= 0:
        raise UserError(f"--rate {text!r}: the limit and the period must both be positive")
    return limit, period


def queue_name(model: str) -> str:
    """The queue of a model string: its first provider's (``agentkit-openai``)."""
    provider = model.split(",", 1)[0].split(":", 1)[0].strip()
    return f"{QUEUE_PREFIX}{provider}"


def ensure_queue(name: str, *, polling_interval: float = 0.2) -> Any:
    """The queue ``name`` from the system database, created without limits if new."""
    from dbos import DBOS

    queue = DBOS.retrieve_queue(name)
    if queue is None:
        queue = DBOS.register_queue(
            name, polling_interval_sec=polling_interval, on_conflict="never_update"
        )
    return queue


def set_queue_limits(
    name: str,
    *,
    rate: tuple[int, float] | None = None,
    concurrency: int | None = None,
    worker_concurrency: int | None = None,
) -> None:
    """Store the limits given (others stay as they are) on the queue ``name``.

    Args:
        name: The queue.
        rate: At most ``rate[0]`` run starts in any rolling ``rate[1]`` seconds,
            across every worker.
        concurrency: Runs in flight at once across all workers.
        worker_concurrency: Runs in flight at once in each worker process.

    Raises:
        UserError: the limits contradict each other (a worker's above the total).
    """
    queue = ensure_queue(name)
    try:
        if concurrency is not None:
            queue.set_global_concurrency(concurrency)
        if worker_concurrency is not None:
            queue.set_worker_concurrency(worker_concurrency)
        if rate is not None:
            queue.set_limiter({"limit": rate[0], "period": rate[1]})
    except ValueError as exc:
        raise UserError(f"queue {name}: {exc}") from None


#: The name DBOS gives its console log handler.
_DBOS_CONSOLE = "__dbos_console_log_handler__"


def _follow_stderr() -> None:
    """Point DBOS's console log handler at the current ``sys.stderr``.

    DBOS makes the handler once per process, on the ``sys.stderr`` of that
    moment; a process that launches the engine again later (a test run, a
    notebook) may have replaced that stream since, and closed it.
    """
    import logging
    import sys

    for handler in logging.getLogger("dbos").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.name == _DBOS_CONSOLE:
            # Not setStream: it flushes the old stream, which may be closed.
            handler.stream = sys.stderr


def launch_engine(
    db_url: str, *, executor_id: str | None = None, queues: Sequence[str] | None = None
) -> None:
    """Start the durable engine (``agentkit.durable.launch``) on ``db_url`` in this process.

    Args:
        db_url: ``sqlite:///path`` or ``postgresql://...``.
        executor_id: This process's id in the database; each worker that
            shares a database needs its own, so that the others can tell its
            runs apart and recover them when it dies.
        queues: Dequeue and run work from these queues only (None: every
            queue; empty: none, the process only enqueues and reads).
    """
    from ._engine import launch

    _follow_stderr()
    launch(db_url, executor_id=executor_id, queues=queues)
