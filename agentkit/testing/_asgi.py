"""The ASGI plumbing the provider emulators share: bodies in, JSON and streams out.

Plain ASGI, no web framework: the emulators are small, and agentkit should
not depend on a framework for its test doubles. ``serve_asgi`` runs any ASGI
app on a free loopback port with uvicorn (a dev dependency, imported when used).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

import anyio

__all__ = [
    "Receive",
    "Scope",
    "Send",
    "Stalling",
    "read_body",
    "respond",
    "send_json",
    "serve_asgi",
    "stream_body",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return bytes(body)


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    """A whole response."""
    raw = [(b"content-type", content_type.encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    content_type: str = "application/json",
    indent: int | None = None,
) -> None:
    """A JSON response."""
    await respond(send, status, json.dumps(body, indent=indent).encode(), content_type, headers)


async def stream_body(
    send: Send,
    receive: Receive,
    frames: Iterable[bytes],
    *,
    content_type: str,
    disconnected: threading.Event,
    delay: float = 0.0,
    final: bytes = b"",
) -> None:
    """A 200 response sent frame by frame, noticing a client that hangs up.

    When the client disconnects mid-stream, sending stops and ``disconnected``
    is set, so tests can check that an adapter really closed its connection.
    ``final`` (e.g. ``data: [DONE]``) is sent only to a client still there.
    """
    headers = [(b"content-type", content_type.encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    gone = False

    async def watch(scope: anyio.CancelScope) -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        disconnected.set()
        scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(watch, group.cancel_scope)
        for frame in frames:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            if delay:
                await anyio.sleep(delay)
        # Stop watching before the last message: after it, "disconnect" is normal.
        group.cancel_scope.cancel()
    if not gone:
        await send({"type": "http.response.body", "body": final})


class Stalling:
    """ASGI middleware that holds back a response, as a server too slow to answer does.

    With ``seconds`` set, the app's response waits that long before its first
    byte; a client that hangs up meanwhile (its read timeout fired) gets
    nothing, and the app's response is dropped. Every emulator gets the same
    stall without knowing about it.

    Args:
        app: The ASGI app to wrap.

    Attributes:
        seconds: How long to hold each response; None: no stall.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds: float | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        seconds = self.seconds
        if seconds is None or scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        gone = False
        held = True

        async def stalling_send(message: MutableMapping[str, Any]) -> None:
            nonlocal gone, held
            if held:
                held = False
                # The body has been read, so the next message is the client leaving.
                with anyio.move_on_after(seconds):
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    gone = True
            if not gone:
                await send(message)

        await self.app(scope, receive, stalling_send)


@contextmanager
def serve_asgi(app: Any, *, host: str = "127.0.0.1", timeout: float = 10.0) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port, in a background thread.

    Args:
        app: The ASGI app.
        host: The address to bind (keep it loopback).
        timeout: Seconds to wait for start-up and shutdown.

    Yields:
        The server's root URL, like ``http://127.0.0.1:54321`` (add ``/v1``
        for an OpenAI client).

    Raises:
        RuntimeError: uvicorn is not installed, or the server did not start.
    """
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - uvicorn is a dev dependency
        raise RuntimeError("serve_asgi needs uvicorn: pip install uvicorn") from exc
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))  # port 0: the OS picks a free one, and we keep it bound
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"serve_asgi:{port}"
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the ASGI server on {host}:{port} did not start")
        time.sleep(0.005)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
