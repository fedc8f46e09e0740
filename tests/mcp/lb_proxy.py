"""A round-robin HTTP reverse proxy on loopback: each request goes to the next backend.

What a load balancer without session affinity does. Written as an ASGI app
(served with ``agentkit.testing.serve_asgi``) forwarding with httpx: request
and response bodies are streamed through chunk by chunk, so an SSE answer
(progress notifications before the result) reaches the client as it is sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

#: Headers about one hop's connection, never forwarded (RFC 9110, 7.6.1).
_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"host",
}


@dataclass
class Forwarded:
    """One request the proxy forwarded."""

    backend: int
    http_method: str
    rpc_method: str | None
    status: int = 0


@dataclass
class RoundRobinProxy:
    """Sends request number i to ``backends[i % len(backends)]`` (root URLs, no path)."""

    backends: list[str]
    log: list[Forwarded] = field(default_factory=list)
    _next: int = 0

    def served_by(self, rpc_method: str) -> set[int]:
        """The backends that answered at least one request of ``rpc_method``."""
        return {f.backend for f in self.log if f.rpc_method == rpc_method and f.status == 200}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        index = self._next % len(self.backends)
        self._next += 1
        record = Forwarded(index, scope["method"], None)
        self.log.append(record)
        seen: list[bytes] = []

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                seen.append(chunk)
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return

        url = self.backends[index] + scope["path"]
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode()
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        async with httpx.AsyncClient(timeout=30) as client:
            request = client.build_request(scope["method"], url, headers=headers, content=body())
            response = await client.send(request, stream=True)
            try:
                record.rpc_method = _rpc_method(b"".join(seen))
                record.status = response.status_code
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status_code,
                        "headers": [
                            (k, v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP
                        ],
                    }
                )
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                await response.aclose()


def _rpc_method(body: bytes) -> str | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    return message.get("method") if isinstance(message, dict) else None
