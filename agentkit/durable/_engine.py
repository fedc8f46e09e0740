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
    log_level: str = "WARNING",
    executor_id: str | None = None,
    queues: Sequence[str] | None = None,
) -> str:
    """Start DBOS in this process on ``database`` (once); returns the database URL.

    Args:
        database: A ``postgresql://`` or ``sqlite:///`` URL, a ``.sqlite`` file,
            or a directory for ``durable.sqlite``; defaults to the state directory.
        log_level: DBOS's own log level.
        executor_id: This process's executor id (default: a fresh one); a
            worker takes it before launch to hold its liveness lock.
        queues: Dequeue only from these queues (default: all; empty: none).

    Raises:
        UserError: DBOS is running here on another database already.
    """
    global _launched
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
    DBOS(config=config)
    if queues is not None:
        DBOS.listen_queues(list(queues))
    DBOS.launch()
    _launched = url
    return url


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
