"""The floor: a hand-written loop on raw httpx2 (bench/_common.py), 25 connections."""

import sys
import time
from pathlib import Path

started = time.perf_counter()
import httpx2  # noqa: E402

import_ms = (time.perf_counter() - started) * 1000
sys.path.insert(0, str(Path(__file__).parents[1]))
from _common import client, hand_loop, hand_loop_stream  # noqa: E402
from _harness import main  # noqa: E402


def make(base_url: str):  # type: ignore[no-untyped-def]
    http: httpx2.AsyncClient | None = None

    def pool() -> httpx2.AsyncClient:
        nonlocal http
        http = http or client()
        return http

    return (lambda: hand_loop(pool(), base_url)), (lambda: hand_loop_stream(pool(), base_url))


main(make, import_ms)
