"""Which workers are alive, and recovering the runs of those that died.

DBOS recovers a process's own unfinished workflows when it starts again
with the same executor id; the runs of a worker that never comes back stay
``PENDING`` under its id until some process calls
``DBOS._recover_pending_workflows([its id])``, which puts them back on their
queue for any worker to take (DBOS Conductor does this in DBOS's hosted
offering; a self-hosted fleet has to do it itself).

On Postgres the liveness signal is a session-level advisory lock: each worker
holds the lock named by its executor id on a connection of its own for as
long as it lives. A process that dies, however it dies, loses its
connection, and Postgres drops the lock with it. Every worker sweeps now
and then: for each executor id that has pending runs and whose lock it can
take, the owner is gone, so it recovers that executor's runs and lets the
lock go. Two workers sweeping at once are harmless: DBOS re-enqueues a run
only while it is still pending under the dead executor's id.

On SQLite, which is one machine's file, a worker is alive while its process
is: the executor id carries the host name and the process id.

Only executors named ``agentkit-worker-...`` (batch processes and workers)
take part: a ``durable_run`` in some other process holds no lock, and its
runs are that process's to resume.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from typing import Any

__all__ = [
    "EXECUTOR_PREFIX",
    "ExecutorLiveness",
    "LocalLiveness",
    "libpq_url",
    "liveness_for",
    "new_executor_id",
]

logger = logging.getLogger("agentkit.durable")

#: Executor ids of agentkit workers; only these take part in the sweep.
EXECUTOR_PREFIX = "agentkit-worker-"


def _host() -> str:
    return (socket.gethostname().split(".", 1)[0] or "host").replace("-", "_")


def new_executor_id() -> str:
    """A fresh executor id, ``agentkit-worker-<host>-<pid>-<random>``, never reused."""
    return f"{EXECUTOR_PREFIX}{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _recover(executors: list[str], recovered: dict[str, int]) -> int:
    from dbos import DBOS

    total = 0
    for executor in executors:
        handles = DBOS._recover_pending_workflows([executor])
        if handles:
            logger.warning(
                "worker %s is gone: %d of its runs are back on the queue", executor, len(handles)
            )
        recovered[executor] = recovered.get(executor, 0) + len(handles)
        total += len(handles)
    return total


def libpq_url(db_url: str) -> str:
    """A SQLAlchemy Postgres URL (``postgresql+psycopg://``) as libpq spells it."""
    scheme, sep, rest = db_url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def _lock_key(executor_id: str) -> int:
    # pg_advisory_lock takes a signed 64-bit key.
    return int.from_bytes(hashlib.sha256(executor_id.encode()).digest()[:8], "big", signed=True)


_PENDING_EXECUTORS = """
SELECT DISTINCT executor_id FROM dbos.workflow_status
WHERE status = 'PENDING' AND executor_id LIKE %s AND executor_id <> %s
"""


class ExecutorLiveness:
    """Holds this worker's liveness lock; sweeps for workers that died.

    Args:
        db_url: The Postgres system database the workers share.
        executor_id: This process's DBOS executor id.
    """

    def __init__(self, db_url: str, executor_id: str) -> None:
        self.db_url = db_url
        self.executor_id = executor_id
        self.recovered: dict[str, int] = {}
        self._conn: Any = None
        self._lock = threading.Lock()

    def hold(self) -> None:
        """Take this executor's lock; call before DBOS starts dequeuing."""
        import psycopg

        try:
            self._conn = self._connect()
        except psycopg.OperationalError:
            # The first process on a new database: let DBOS create it and its
            # tables. Several workers may race to it; the loser's CREATE
            # fails, and the database is there all the same.
            from dbos import DBOS

            try:
                DBOS.migrate(self.db_url)
            except Exception as exc:
                logger.info("another process created the database first (%s)", exc)
            self._conn = self._connect()
        self._conn.execute("SELECT pg_advisory_lock(%s)", (_lock_key(self.executor_id),))

    def _connect(self) -> Any:
        import psycopg

        # Keepalives: a worker on a machine that drops off the network (no
        # FIN, no RST) still loses its lock within about a minute.
        return psycopg.connect(
            libpq_url(self.db_url),
            autocommit=True,
            keepalives=1,
            keepalives_idle=20,
            keepalives_interval=5,
            keepalives_count=4,
        )

    def dead_executors(self) -> list[str]:
        """Executors with pending runs whose lock nobody holds (their worker died)."""
        with self._lock:
            rows = self._conn.execute(
                _PENDING_EXECUTORS, (f"{EXECUTOR_PREFIX}%", self.executor_id)
            ).fetchall()
            dead = []
            for (executor,) in rows:
                key = _lock_key(executor)
                taken = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if taken and taken[0]:
                    # Nobody holds it: the owner is gone. Let it go again at
                    # once, so a late sweep elsewhere finds the same answer.
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
                    dead.append(str(executor))
            return dead

    def sweep(self) -> int:
        """Put the pending runs of every dead worker back on their queues; returns how many."""
        return _recover(self.dead_executors(), self.recovered)

    def release(self) -> None:
        """Let the lock go (closing the connection releases it)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class LocalLiveness:
    """Liveness on one machine (SQLite): a worker lives while its process does.

    Args:
        executor_id: This process's DBOS executor id.
    """

    def __init__(self, executor_id: str) -> None:
        self.executor_id = executor_id
        self.recovered: dict[str, int] = {}

    def hold(self) -> None:
        """Nothing to hold: the process itself is the signal."""

    def dead_executors(self) -> list[str]:
        """Executors of this host with pending runs whose process is gone."""
        from dbos import DBOS

        pending = {
            status.executor_id
            for status in DBOS.list_workflows(status="PENDING", load_input=False, load_output=False)
            if status.executor_id
        }
        return sorted(e for e in pending if e != self.executor_id and not _process_alive(e))

    def sweep(self) -> int:
        """Put the pending runs of every dead worker back on their queues; returns how many."""
        return _recover(self.dead_executors(), self.recovered)

    def release(self) -> None:
        """Nothing to release."""


def _process_alive(executor_id: str) -> bool:
    """Whether the process named by an executor id of this host still runs."""
    if not executor_id.startswith(EXECUTOR_PREFIX):
        return True  # not ours to judge
    host, _, rest = executor_id[len(EXECUTOR_PREFIX) :].partition("-")
    pid_text = rest.split("-", 1)[0]
    if host != _host() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    return True


def liveness_for(db_url: str, executor_id: str) -> ExecutorLiveness | LocalLiveness:
    """Advisory locks on Postgres, process ids on SQLite."""
    if db_url.startswith(("postgresql", "postgres://")):
        return ExecutorLiveness(db_url, executor_id)
    return LocalLiveness(executor_id)
