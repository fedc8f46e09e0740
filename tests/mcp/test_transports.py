"""The HTTP transport's socket and Host handling, without a subprocess."""

from __future__ import annotations

import asyncio
import socket

import pytest

from agentkit.mcp._transports import _host_entry, _security, bind_socket

pytestmark = pytest.mark.anyio


async def test_accepted_connections_get_tcp_nodelay() -> None:
    # uvicorn serves the socket with loop.create_server(sock=...), as here;
    # asyncio sets TCP_NODELAY on an accepted connection only when the
    # listening socket says IPPROTO_TCP. Without it each small write waited
    # for a delayed ACK (about 22 tool calls/s).
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    listener = bind_socket("127.0.0.1", 0)
    assert listener.proto == socket.IPPROTO_TCP
    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    try:
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(accepted, 5) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("example.com", ("example.com", None)),
        ("Example.COM:8443", ("example.com", "8443")),
        ("192.0.2.7", ("192.0.2.7", None)),
        ("2001:db8::1", ("[2001:db8::1]", None)),
        ("[2001:db8::1]", ("[2001:db8::1]", None)),
        ("[2001:db8::1]:8000", ("[2001:db8::1]", "8000")),
    ],
)
def test_allow_host_entries(entry: str, parsed: tuple[str, str | None]) -> None:
    assert _host_entry(entry) == parsed


def test_allowed_hosts_accept_any_port_unless_one_is_given() -> None:
    settings = _security("0.0.0.0", ["192.0.2.7", "box.lan:9000"], [])
    assert "192.0.2.7" in settings.allowed_hosts
    assert "192.0.2.7:*" in settings.allowed_hosts
    assert "box.lan:9000" in settings.allowed_hosts
    assert "box.lan:*" not in settings.allowed_hosts
    assert "http://192.0.2.7:*" in settings.allowed_origins


def test_uvicorn_parses_http_with_httptools() -> None:
    # A dependency of ours for `serve --transport http`: uvicorn's "auto" picks the
    # C parser over the pure-Python h11, which cost about 17% more per tools/call.
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    assert AutoHTTPProtocol.__name__ == "HttpToolsProtocol"
