"""A throwaway Postgres server for the multi-worker tests.

The binaries come from Debian's ``postgresql`` package, which
``bash .ci/install-postgres.sh`` installs (``.ci/run`` does it). The tests
install nothing: without the binaries they skip, saying how to get them,
except under CI (``CI`` set), where a missing server fails the test.

The server lives in a temporary directory: ``initdb`` there, ``pg_ctl start``
on a free loopback port with its unix socket beside the data, stopped and
removed at the end of the session. Postgres refuses to run as root, and CI
runs as root: then the server runs as the ``postgres`` system user (or
``nobody``), which owns the temporary directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_HINT = "bash .ci/install-postgres.sh"


def find_bindir() -> Path | None:
    """The directory of ``initdb``/``pg_ctl``: ``$AGENTKIT_PG_BINDIR``, Debian's, or ``PATH``."""
    configured = os.environ.get("AGENTKIT_PG_BINDIR")
    if configured:
        path = Path(configured)
        return path if (path / "initdb").exists() else None

    def version(initdb: str) -> int:
        name = Path(initdb).parent.parent.name
        return int(name) if name.isdigit() else 0

    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if debian:
        return Path(debian[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str | None:
    """The unprivileged user the server runs as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


@dataclass
class PostgresServer:
    """A running throwaway server reachable on ``127.0.0.1:port`` without a password."""

    bindir: Path
    root: Path
    port: int
    user: str | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy/psycopg URL of ``database`` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def fresh_url(self, prefix: str = "agentkit") -> str:
        """The URL of a database nobody used yet (DBOS creates it on first launch)."""
        return self.url(f"{prefix}_{uuid.uuid4().hex[:12]}")

    def _as_server_user(self, argv: list[str]) -> list[str]:
        if self.user is None:
            return argv
        return ["runuser", "-u", self.user, "--", *argv]

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(
            self._as_server_user(argv), capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed ({done.returncode}): {done.stderr or done.stdout}"
            )

    def start(self) -> None:
        """``initdb`` (trust auth, superuser ``postgres``) and ``pg_ctl start -w``."""
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        )
        # Durability of the throwaway server itself is irrelevant; speed is not.
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
            ]
        )
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def stop(self) -> None:
        """``pg_ctl stop -m immediate``; the directory is removed by the caller."""
        self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"]
        )


def require_bindir() -> Path:
    """The Postgres binaries; skips the test (fails it under CI) when they are missing."""
    bindir = find_bindir()
    if bindir is None:
        why = (
            f"Postgres binaries (initdb, pg_ctl) missing; install them with `{INSTALL_HINT}` "
            "(or set AGENTKIT_PG_BINDIR to their directory)"
        )
        if os.environ.get("CI"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    return bindir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway Postgres server for the whole session."""
    bindir = require_bindir()
    user = _server_user()
    # Directly under /tmp: pytest's own tmp tree is private to root, and the
    # server user must reach its data directory and socket.
    root = Path(tempfile.mkdtemp(prefix="agentkit-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir=bindir, root=root, port=_free_port(), user=user)
    try:
        server.start()
        yield server
    finally:
        try:
            if (server.data_dir / "postmaster.pid").exists():
                server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
