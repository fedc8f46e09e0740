"""ASGI guards for the A2A server: ``Host``/``Origin`` checks and a bearer token.

The same defaults as agentkit's MCP HTTP server: only loopback names (and
the bound host) are accepted in ``Host`` and ``Origin``, so a web page cannot
reach a local agent through DNS rebinding; an optional bearer token guards
every endpoint except the public Agent Card, which is how a client learns
that a token is needed. The scheme name is matched case-insensitively
(RFC 7235), the token in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BearerGuard", "HostGuard", "allowed_names"]

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_UNAUTHORIZED = b'{"error": "unauthorized", "error_description": "missing or wrong bearer token"}'


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_names(host: str, extra: Sequence[str] = ()) -> frozenset[str]:
    """Host names (no port, IPv6 without brackets) a server bound to ``host`` answers to."""
    names = {*_LOOPBACK_NAMES, *(n.lower().strip("[]") for n in extra)}
    if not _is_loopback(host):
        if host in ("0.0.0.0", "::"):
            # Bound to every interface: the machine's own name is the likely one.
            names.add(socket.gethostname().lower())
        else:
            names.add(host.lower().strip("[]"))
    return frozenset(names)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _host_name(value: str) -> str:
    # "name:port", "[::1]:port", "name" -> the name alone.
    return (urlsplit(f"//{value}").hostname or "").lower()


async def _reject(send: Send, status: int, text: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(text)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})


class HostGuard:
    """Answers 421 to a ``Host`` and 403 to an ``Origin`` this server does not own."""

    def __init__(self, app: ASGIApp, names: frozenset[str], origins: Sequence[str] = ()) -> None:
        self.app = app
        self.names = names
        self.origins = frozenset(o.rstrip("/").lower() for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = _header(scope, b"host")
            if host is None or _host_name(host.decode("latin-1")) not in self.names:
                await _reject(send, 421, b'{"error": "invalid Host header"}', [])
                return
            origin = _header(scope, b"origin")
            if origin is not None and not self._origin_ok(origin.decode("latin-1")):
                await _reject(send, 403, b'{"error": "invalid Origin header"}', [])
                return
        await self.app(scope, receive, send)

    def _origin_ok(self, origin: str) -> bool:
        if origin.rstrip("/").lower() in self.origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and (parts.hostname or "") in self.names


class BearerGuard:
    """Every request but the public paths needs ``Authorization: Bearer <token>``.

    Answers 401 with ``WWW-Authenticate: Bearer`` (RFC 6750) otherwise.
    """

    def __init__(self, app: ASGIApp, token: str, public_paths: Sequence[str] = ()) -> None:
        if not token:
            raise ValueError("the bearer token is empty")
        self.app = app
        self._expected = token.encode()
        self.public_paths = frozenset(public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not (
            scope.get("method") in ("GET", "HEAD") and scope.get("path") in self.public_paths
        ):
            given = _header(scope, b"authorization") or b""
            scheme, _, credentials = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(
                credentials.strip(), self._expected
            ):
                error = b"invalid_token" if given else b"invalid_request"
                await _reject(
                    send,
                    401,
                    _UNAUTHORIZED,
                    [(b"www-authenticate", b'Bearer error="' + error + b'"')],
                )
                return
        await self.app(scope, receive, send)
