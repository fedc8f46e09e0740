"""The kit's loopback plumbing: a recording proxy, a cassette server, and emulator middleware.

The recording proxy (record) and the cassette server (replay) are plain ASGI
apps served by ``agentkit.testing.serve_asgi`` on a free 127.0.0.1 port; the
adapter under test is pointed at them through its factory's ``base_url``, so
they see its traffic whatever HTTP stack it uses. They run in the server's
own thread, so what the kit reads from them between scenarios is guarded by
a lock. Both count every request they get before answering it, as
``Counting`` does for an emulator: a retry shows as a second request,
whatever the first one was answered with.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlsplit

import anyio

from ..testing._asgi import Receive, Scope, Send, read_body, respond
from ._cassette import (
    describe_mismatch,
    recorded_request,
    recorded_response,
    replay_chunks,
    secrets_of,
)

__all__ = ["CassetteServer", "Counting", "RecordingProxy", "Truncating"]

#: Request headers not forwarded: the proxy's client sets its own.
_HOP_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "keep-alive"}
)
#: Response headers not passed back: the proxy frames and decodes the body itself.
_HOP_RESPONSE_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "content-encoding", "keep-alive"}
)


def _target(scope: Scope) -> str:
    path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string") or b""
    text = bytes(path).decode("latin-1")
    return text + (f"?{bytes(query).decode('latin-1')}" if query else "")


def _headers(scope: Scope) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]


async def _until_disconnect(receive: Receive, gone: threading.Event, scope: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()
    scope.cancel()


class RecordingProxy:
    """Forwards every request to ``upstream`` with httpx2 and keeps each exchange.

    The request path is kept as it came (``/v1/chat/completions``) and sent to
    the upstream's origin, so point the adapter at this server's root plus
    the upstream's path. Bodies are asked for uncompressed, streamed back
    chunk by chunk as they arrive, and a client that hangs up mid-stream is
    noticed (``disconnected``) and passed on by closing the upstream response.

    Args:
        upstream: The upstream's URL (``http://127.0.0.1:PORT`` for an
            emulator, ``https://api.openai.com/v1`` for a live API).
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.disconnected = threading.Event()
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self.requests = 0

    def take(self) -> list[dict[str, Any]]:
        """The exchanges since the last call, scrubbed, as a cassette's interactions."""
        with self._lock:
            entries, self._entries = self._entries, []
            out = []
            for entry in entries:
                item: dict[str, Any] = {"request": entry["request"]}
                if "status" in entry:
                    item["response"] = recorded_response(
                        entry["status"],
                        entry["headers"],
                        list(entry["chunks"]),
                        complete=entry["complete"],
                        secrets=entry["secrets"],
                    )
                else:
                    item["error"] = entry.get("error", "no response")
                out.append(item)
            return out

    def reset(self) -> None:
        """Start a new scenario: forget exchanges, counts and hang-ups."""
        self.take()
        with self._lock:
            self.requests = 0
        self.disconnected.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One exchange: forward, stream back, record."""
        import httpx2

        if scope["type"] != "http":
            return
        body = await read_body(receive)
        url, headers = _target(scope), _headers(scope)
        entry: dict[str, Any] = {
            "request": recorded_request(scope["method"], url, headers, body),
            "secrets": secrets_of(headers, url),
            "chunks": [],
            "complete": False,
        }
        with self._lock:
            self.requests += 1
            self._entries.append(entry)
        forwarded = [(k, v) for k, v in headers if k.lower() not in _HOP_HEADERS]
        forwarded.append(("accept-encoding", "identity"))
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(600.0, connect=10.0)) as client:
            request = client.build_request(
                scope["method"], self.origin + url, headers=forwarded, content=body
            )
            try:
                response = await client.send(request, stream=True)
            except httpx2.HTTPError as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"
                message = f"agentkit recording proxy: {self.origin} unreachable: {exc}"
                await respond(send, 502, message.encode(), "text/plain")
                return
            try:
                await self._relay(response, entry, send, receive)
            finally:
                await response.aclose()

    async def _relay(
        self, response: Any, entry: dict[str, Any], send: Send, receive: Receive
    ) -> None:
        pairs = list(response.headers.multi_items())
        entry["headers"] = pairs
        entry["status"] = response.status_code
        raw = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in pairs
            if k.lower() not in _HOP_RESPONSE_HEADERS
        ]
        await send({"type": "http.response.start", "status": response.status_code, "headers": raw})
        gone = threading.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(_until_disconnect, receive, gone, group.cancel_scope)
            async for chunk in response.aiter_bytes():
                with self._lock:
                    entry["chunks"].append(bytes(chunk))
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            # Stop watching before the last message: after it, "disconnect" is normal.
            group.cancel_scope.cancel()
        if gone.is_set():
            self.disconnected.set()
            return
        entry["complete"] = True
        await send({"type": "http.response.body", "body": b""})


class CassetteServer:
    """Answers from a cassette's exchanges, in order; the adapter's requests must match.

    Each request is compared with the next recorded one (method, path and
    query, body); a difference is kept in ``problems`` and answered with a
    500 whose body says what differed, so the scenario fails naming it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.last_request: Any = None
        self.served = 0
        self.requests = 0

    def load(self, interactions: list[dict[str, Any]]) -> None:
        """Play these exchanges next (forgetting any left over)."""
        with self._lock:
            self._pending = list(interactions)
            self.problems = []
            self.last_request = None
            self.served = 0
            self.requests = 0

    def leftover(self) -> int:
        """How many recorded exchanges were never asked for."""
        with self._lock:
            return len(self._pending)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The recorded answer to one request."""
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        sent = recorded_request(scope["method"], _target(scope), _headers(scope), body)
        with self._lock:
            self.requests += 1
            number = self.served + 1
            recorded = self._pending.pop(0) if self._pending else None
            self.served = number if recorded is not None else self.served
            problem = describe_mismatch(
                number, sent, recorded["request"] if recorded else None, self.served
            )
            if problem is not None:
                self.problems.append(f"cassette: {problem}")
            else:
                self.last_request = sent["body"].get("json")
        if problem is not None or recorded is None:
            error = {"error": {"message": f"agentkit replay: {problem}", "type": "cassette"}}
            await respond(send, 500, json.dumps(error).encode(), "application/json")
            return
        answer = recorded.get("response")
        if answer is None:
            message = (
                f"agentkit replay: the recorded request got no response ({recorded.get('error')})"
            )
            await respond(send, 502, message.encode(), "text/plain")
            return
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer["headers"]]
        await send({"type": "http.response.start", "status": answer["status"], "headers": headers})
        try:
            for chunk in replay_chunks(answer["body"]):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except OSError:
            return  # the client hung up; nothing left to tell it


class Truncating:
    """ASGI middleware that can end a 200 stream early, as a dropped connection would.

    The body ends cleanly after ``cut_after`` chunks, with no finish chunk and
    no terminator, so every streaming protocol gets the same kind of
    truncation without the emulators knowing about it.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cut_after: int | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI entry point."""
        limit = self.cut_after
        if limit is None or scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        sent = 0

        async def cutting_send(message: Any) -> None:
            nonlocal sent
            if message["type"] != "http.response.body":
                await send(message)
                return
            if sent > limit:
                return  # already ended: swallow the rest
            sent += 1
            if sent > limit:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, cutting_send)


class Counting:
    """ASGI middleware counting the HTTP requests that reach the app, however they are answered.

    Read ``count`` from another thread between scenarios: it only grows.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """The ASGI entry point."""
        if scope.get("type") == "http":
            self.count += 1
        await self.app(scope, receive, send)
