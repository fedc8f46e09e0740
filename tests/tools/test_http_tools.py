"""The ``http`` tool set against a loopback server: allow-list, redirects, limits."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
