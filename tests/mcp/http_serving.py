"""``serve_http`` in the test's own task group, for tests that talk to it over loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio

from agentkit.mcp import serve_http


@contextlib.asynccontextmanager
async def serving(server: Any) -> AsyncIterator[str]:
    """Serve ``server`` on a free loopback port; yields its URL, stops it on exit."""
    urls: list[str] = []
    ready = anyio.Event()

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    async with anyio.create_task_group() as group:
        group.start_soon(lambda: serve_http(server, port=0, on_ready=on_ready))
        await ready.wait()
        yield urls[0]
        group.cancel_scope.cancel()
