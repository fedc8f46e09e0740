"""Run a built MCP server over stdio or streamable HTTP.

Streamable HTTP binds 127.0.0.1 unless told otherwise and always validates
the ``Host`` and ``Origin`` headers (the specification's defence against DNS
rebinding: a web page must not reach a local server through a name that
resolves to 127.0.0.1). An optional bearer token guards every request; binding beyond loopback
without one prints a warning, since anyone who reaches the port can then call
every tool.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["http_app", "serve_http", "serve_stdio"]

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


async def serve_stdio(server: Server[Any]) -> None:
    """Serve ``server`` over this process's stdin and stdout until stdin closes."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


class BearerAuth:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <token>``.

    Answers 401 with ``WWW-Authenticate: Bearer`` (RFC 6750) when the header
    is missing or wrong. The scheme is matched case-insensitively (RFC 7235
    section 2.1: ``bearer`` and ``BEARER`` are the same scheme); the token
    itself is compared in constant time.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("the bearer token is empty")
        self.app = app
        self._expected = token.encode()

    def _accepts(self, header: bytes) -> bool:
        scheme, _, credentials = header.strip().partition(b" ")
        given = credentials.strip()
        # Compared even when the scheme is wrong, so timing tells nothing.
        same = hmac.compare_digest(given, self._expected)
        return same and scheme.lower() == b"bearer"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = b""
            for key, value in scope.get("headers", ()):
                if key == b"authorization":
                    given = value
                    break
            if not self._accepts(given):
                error = b"invalid_token" if given else b"invalid_request"
                body = (
                    b'{"error": "unauthorized", '
                    b'"error_description": "missing or wrong bearer token"}'
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer error="' + error + b'"'),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_entry(value: str) -> tuple[str, str | None]:
    """``name``, ``name:port``, ``name:*``, an IPv4 or an IPv6 address (bracketed
    or not) as (host as it appears in a ``Host`` header, port or None)."""
    value = value.strip().lower()  # Host headers are case-insensitive; clients send lower case
    if value.startswith("["):
        host, _, rest = value.partition("]")
        return f"{host}]", rest.removeprefix(":") or None
    if value.count(":") > 1:  # a bare IPv6 address
        return f"[{value}]", None
    host, _, port = value.partition(":")
    return host, port or None


def _security(
    host: str, allowed_hosts: Sequence[str], allowed_origins: Sequence[str]
) -> TransportSecuritySettings:
    names = [*_LOOPBACK_NAMES]
    if not _is_loopback(host):
        if host in ("0.0.0.0", "::"):
            # Bound to every interface: the machine's own name is the likely one.
            names.append(socket.gethostname())
        else:
            names.append(f"[{host}]" if ":" in host else host)
    hosts = [*(f"{n}:*" for n in names), *names]
    origins = [f"{scheme}://{n}:*" for n in names for scheme in ("http", "https")]
    for entry in allowed_hosts:
        name, port = _host_entry(entry)
        if port is None:
            # A bare name means any port, as for the built-in names.
            hosts += [name, f"{name}:*"]
            origins += [
                f"{scheme}://{name}{suffix}"
                for scheme in ("http", "https")
                for suffix in ("", ":*")
            ]
        else:
            hosts.append(f"{name}:{port}")
            origins += [f"{scheme}://{name}:{port}" for scheme in ("http", "https")]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[*origins, *allowed_origins],
    )


def http_app(
    server: Server[Any],
    *,
    host: str = "127.0.0.1",
    path: str = "/mcp",
    token: str | None = None,
    stateless: bool = False,
    json_response: bool = False,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    retry_interval: int | None = None,
    event_store: Any = None,
) -> ASGIApp:
    """The ASGI app serving ``server`` over streamable HTTP at ``path``.

    Args:
        server: From ``build_server``.
        host: The address the app will be bound to; decides which ``Host``
            and ``Origin`` values are accepted (loopback names always are).
        path: The MCP endpoint.
        token: When set, requests need ``Authorization: Bearer <token>``.
        stateless: No sessions: every request stands alone, so any replica
            behind a load balancer can answer it. Features that need the
            server to call the client back mid-request (sampling,
            elicitation) are unavailable in this mode.
        json_response: Answer with plain JSON instead of an SSE stream.
        allowed_hosts: More ``Host`` values to accept: ``name`` or an address
            (any port), ``name:port``; IPv6 with or without brackets. Pages
            served from those hosts may connect too (their ``Origin``).
        allowed_origins: More ``Origin`` values to accept.
        retry_interval: Milliseconds clients wait before reconnecting an SSE stream.
        event_store: An ``mcp.server.streamable_http.EventStore`` making SSE
            streams resumable.

    Returns:
        The app; run it with any ASGI server (or ``serve_http``).
    """
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=path,
        stateless_http=stateless,
        json_response=json_response,
        transport_security=_security(host, allowed_hosts, allowed_origins),
        host=host,
        retry_interval=retry_interval,
        event_store=event_store,
    )
    if token is not None:
        app = BearerAuth(app, token)
    return app


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one).

    Made with ``IPPROTO_TCP`` spelled out: asyncio turns on ``TCP_NODELAY``
    for an accepted connection only when the socket's ``proto`` says TCP, and
    accepted sockets copy it from this one. With ``proto`` 0 every small write
    (one SSE event, one JSON answer) waited for the peer's delayed ACK: about
    22 tool calls a second instead of hundreds.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by accepted connections on Linux and the BSDs, whatever the loop does.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def serve_http(
    server: Server[Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    token: str | None = None,
    stateless: bool = False,
    json_response: bool = False,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``server`` over streamable HTTP with uvicorn until cancelled.

    Args:
        server: From ``build_server``.
        host: Address to bind; 127.0.0.1 by default, so only this machine can connect.
        port: Port to bind; 0 picks a free one.
        path: The MCP endpoint.
        token: When set, requests need ``Authorization: Bearer <token>``.
        stateless: See ``http_app``.
        json_response: See ``http_app``.
        allowed_hosts: See ``http_app``.
        allowed_origins: See ``http_app``.
        on_ready: Called with the endpoint URL once the socket listens.
    """
    import uvicorn

    app = http_app(
        server,
        host=host,
        path=path,
        token=token,
        stateless=stateless,
        json_response=json_response,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
    )
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound_port}{path}"
    if not _is_loopback(host):
        if token is None:
            print(
                f"warning: serving on {shown}:{bound_port} without a bearer token: anyone who "
                "can reach this port can call every tool; set one (agentkit serve --token-env "
                "VAR) unless something in front of this server authenticates",
                file=sys.stderr,
            )
        # A client addressing us by a name or IP not listed gets 421: say which are.
        accepted = sorted(
            {n for n in _security(host, allowed_hosts, ()).allowed_hosts if ":*" not in n}
        )
        print(
            f"accepting requests addressed to: {', '.join(accepted)} (add more with --allow-host)",
            file=sys.stderr,
        )
    # No access log: a line per request is work on every call, and warnings still show.
    # uvicorn's "auto" HTTP implementation is httptools (a dependency), else h11.
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3
    )
    runner = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(url)
    else:
        print(f"MCP server listening on {url}", file=sys.stderr)
    with sock:
        await runner.serve(sockets=[sock])
