"""The throwaway Postgres server of the multi-worker tests really serves SQL."""

from __future__ import annotations

import psycopg

from tests.durable.postgres_server import PostgresServer, postgres_server

__all__ = ["postgres_server"]


def test_the_throwaway_server_answers_sql_over_loopback(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE probe_db")
        row = conn.execute("SELECT current_user, inet_server_port()").fetchone()
    assert row == ("postgres", postgres_server.port)
    with psycopg.connect(postgres_server.url("probe_db")) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (41), (1)")
        assert conn.execute("SELECT sum(x) FROM t").fetchone() == (42,)
