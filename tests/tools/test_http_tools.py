"""The ``http`` tool set against a loopback server: allow-list, redirects, limits."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from agentkit_tools.http import HttpToolset

pytestmark = pytest.mark.anyio


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/hello":
            self._send(200, b"hello world", "text/plain; charset=utf-8")
        elif self.path == "/big":
            self._send(200, b"x" * 5000, "text/plain")
        elif self.path == "/slow":
            time.sleep(2)
            self._send(200, b"late", "text/plain")
        elif self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "http://localhost:1/elsewhere")
            self.end_headers()
        elif self.path == "/host":
            self._send(200, self.headers["Host"].encode(), "text/plain")
        elif self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "/hello")
            self.end_headers()
        else:
            self._send(404, b"missing", "text/plain")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # /slow: the client gives up first, which is what the test wants.
        with contextlib.suppress(BrokenPipeError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_get_an_allowed_host(base: str) -> None:
    http = HttpToolset(["127.0.0.1"])
    result = await http.call_tool("http_get", {"url": f"{base}/hello"})
    assert result.structured_content is not None
    assert result.structured_content["status"] == 200
    assert result.structured_content["text"] == "hello world"
    hopped = await http.call_tool("http_get", {"url": f"{base}/hop"})
    assert hopped.structured_content is not None
    assert hopped.structured_content["text"] == "hello world"


async def test_refuses_hosts_off_the_list(base: str) -> None:
    result = await HttpToolset(["example.com"]).call_tool("http_get", {"url": f"{base}/hello"})
    assert result.is_error
    assert "not on the allow-list" in result.text
    redirected = await HttpToolset(["127.0.0.1"]).call_tool("http_get", {"url": f"{base}/away"})
    assert redirected.is_error
    assert "'localhost' is not on the allow-list" in redirected.text
    nothing = await HttpToolset([]).call_tool("http_get", {"url": f"{base}/hello"})
    assert nothing.is_error
    assert "AGENTKIT_HTTP_ALLOW_HOSTS" in nothing.text
    scheme = await HttpToolset(["127.0.0.1"]).call_tool("http_get", {"url": "file:///etc/passwd"})
    assert scheme.is_error
    assert "only http and https" in scheme.text


async def test_port_pinning_and_wildcards() -> None:
    http = HttpToolset(["127.0.0.1:8080", "*.example.org"])
    assert http.allowed("127.0.0.1", 8080)
    assert not http.allowed("127.0.0.1", 9090)
    assert http.allowed("api.example.org", 443)
    assert not http.allowed("example.org.evil.com", 443)


async def test_size_and_time_limits(base: str) -> None:
    small = HttpToolset(["127.0.0.1"], max_bytes=100)
    big = await small.call_tool("http_get", {"url": f"{base}/big"})
    assert big.structured_content is not None
    assert big.structured_content["truncated"] is True
    assert len(big.structured_content["text"]) == 100
    slow = await HttpToolset(["127.0.0.1"], timeout=0.5).call_tool(
        "http_get", {"url": f"{base}/slow"}
    )
    assert slow.is_error
    assert "longer than 0.5 s" in slow.text


async def test_allow_list_from_environment(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_HTTP_ALLOW_HOSTS", "localhost, 127.0.0.1")
    result = await HttpToolset().call_tool("http_get", {"url": f"{base}/hello"})
    assert not result.is_error


def resolver(table: dict[str, list[str]]) -> Any:
    """A resolver answering from ``table``: the tests never ask real DNS."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


async def test_a_name_resolving_to_loopback_is_refused(base: str) -> None:
    # The name is on the list, but what it resolves to is this machine.
    port = base.rsplit(":", 1)[1]
    result = await HttpToolset(["localhost"]).call_tool(
        "http_get", {"url": f"http://localhost:{port}/hello"}
    )
    assert result.is_error
    assert "not a public address" in result.text


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "192.168.1.1", "169.254.169.254", "fd00::1", "::ffff:127.0.0.1"]
)
async def test_names_resolving_to_internal_ranges_are_refused(address: str) -> None:
    http = HttpToolset(["intranet.example"], resolver=resolver({"intranet.example": [address]}))
    result = await http.call_tool("http_get", {"url": "https://intranet.example/"})
    assert result.is_error
    assert f"resolves to {address.removeprefix('::ffff:')}," in result.text
    assert "not a public address" in result.text


async def test_the_connection_goes_to_the_checked_address(base: str) -> None:
    # pinned.example exists only in this resolver: reaching the loopback
    # server proves the request went to the address that was checked, with
    # the name in Host (no second lookup that DNS rebinding could answer).
    port = base.rsplit(":", 1)[1]
    http = HttpToolset(
        ["pinned.example", "127.0.0.1"], resolver=resolver({"pinned.example": ["127.0.0.1"]})
    )
    result = await http.call_tool("http_get", {"url": f"http://pinned.example:{port}/host"})
    assert not result.is_error, result.text
    assert result.structured_content is not None
    assert result.structured_content["text"] == f"pinned.example:{port}"
    assert result.structured_content["url"] == f"http://pinned.example:{port}/host"


async def test_ipv6_entries_and_default_ports() -> None:
    http = HttpToolset(["[::1]:8080", "2001:db8::1", "example.com:443", "10.1.0.0/16"])
    assert http.allowed("::1", 8080)
    assert not http.allowed("::1", 8081)
    assert http.allowed("2001:db8::1", None)
    assert http.allowed("example.com", None, "https")
    assert http.allowed("example.com", 443, "https")
    assert not http.allowed("example.com", None, "http")
    assert http.allowed("10.1.2.3", 80)
    assert not http.allowed("10.2.0.1", 80)
    target = await http._check("http://[::1]:8080/x")
    assert target.url == "http://[::1]:8080/x"
    public = HttpToolset(["example.com:443"], resolver=resolver({"example.com": ["93.184.216.34"]}))
    pinned = await public._check("https://example.com/page")
    assert pinned.url == "https://93.184.216.34/page"
    assert (pinned.host_header, pinned.sni) == ("example.com", "example.com")
