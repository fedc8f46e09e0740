"""The DBOS engine of this process: configured once, launched on first use.

State lives in a SQLite file by default (``durable.sqlite`` under the state
directory) or in the Postgres database of a ``postgresql://`` URL; DBOS's
``system_database_url`` is either. Each process gets an executor id of its
own, so that DBOS does not recover, at launch, every run an earlier process
left unfinished: a run resumes when someone asks for it by its id
(``durable_run(..., run_id=...)``), in the process that asks.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from dbos import DBOS, DBOSConfig

from ..exceptions import UserError

__all__ = ["APPLICATION_VERSION", "database_url", "launch", "launched_url", "shutdown"]

#: Stamped on every workflow; DBOS resumes only workflows of its own version.
#: It changes when the recorded steps change meaning, not with every release.
APPLICATION_VERSION = "agentkit-durable-1"

_launched: str | None = None


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/agentkit`` (``~/.local/state/agentkit``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "agentkit"


def database_url(database: str | os.PathLike[str] | None) -> str:
    """The system database URL for ``database``: a URL, a SQLite file or a state directory."""
    if database is None:
        database = default_state_dir()
    text = os.fspath(database)
    if "://" in text:
        return text
    path = Path(text)
    if path.suffix not in (".sqlite", ".db", ".sqlite3"):
        path = path / "durable.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def launch(
    database: str | os.PathLike[str] | None = None,
    *,
    executor_id: str | None = None,
    log_level: str = "WARNING",
    queues: Sequence[str] | None = None,
) -> str:
    """Start DBOS in this process on ``database`` (once); returns the database URL.

    Args:
        database: A ``postgresql://`` or ``sqlite:///`` URL, a ``.sqlite`` file,
            or a directory for ``durable.sqlite``; None: the database launched
            already, else the state directory.
        executor_id: DBOS's name for this process. By default a new one per
            process, so DBOS recovers nothing at launch; a worker that takes
            over a dead worker's runs on restart passes a stable one.
        log_level: DBOS's own log level.
        queues: Dequeue only from these queues (default: all; empty: none,
            a process that only enqueues and reads).

    Raises:
        UserError: DBOS is running here on another database already.
    """
    global _launched
    if database is None and _launched is not None:
        return _launched  # whatever this process launched on
    url = database_url(database)
    if _launched is not None:
        if url != _launched:
            raise UserError(
                f"the durable engine of this process runs on {_launched}; it cannot also use "
                f"{url} (call agentkit.durable.shutdown() first)"
            )
        return url
    config: DBOSConfig = {
        "name": "agentkit",
        "system_database_url": url,
        "executor_id": executor_id or f"agentkit-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        "application_version": APPLICATION_VERSION,
        "log_level": log_level,
        "notification_listener_polling_interval_sec": 0.05,
    }
    if url.startswith("sqlite:///"):
        _use_wal(Path(url.removeprefix("sqlite:///")))
    DBOS(config=config)
    if queues is not None:
        DBOS.listen_queues(list(queues))
    DBOS.launch()
    _launched = url
    return url


def _use_wal(path: Path) -> None:
    """Put a SQLite database in write-ahead-log mode (kept in the file, set once).

    Each recorded step is a commit; in WAL mode a commit is one append and one
    fsync instead of a rollback journal's several, and readers do not block
    the writer. A commit still reaches the disk before the step is done, so a
    killed process loses nothing it recorded.
    """
    import sqlite3

    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.close()


def launched_url() -> str | None:
    """The database this process's engine runs on, or None before ``launch``."""
    return _launched


def shutdown() -> None:
    """Stop the engine of this process (runs in flight stay resumable); safe to call twice."""
    global _launched
    if _launched is None:
        return
    DBOS.destroy(destroy_registry=False)
    _launched = None
