"""The shared clients build TLS only for https, and https still verifies as ``verify=True`` does.

Against loopback servers this test starts: plain http, and https with a
certificate from a certificate authority made here (``cryptography``).
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import anyio
import httpx2
import pytest
from agentkit_adapters import _http
from agentkit_adapters._http import DeferredTLS, shared_client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agentkit import Agent, RetryPolicy, run
from agentkit.exceptions import ModelCallError

#: A refused handshake is a broken connection: tried once, not retried.
ONCE = RetryPolicy(max_attempts=1)

ANSWER = {
    "id": "c1",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._send(b"ok", "text/plain")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self._send(json.dumps(ANSWER).encode(), "application/json")

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the refused handshakes of the failing cases


@dataclass
class Certs:
    ca: Path
    chain: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _make_certs(folder: Path, names: list[x509.GeneralName]) -> Certs:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("agentkit test CA"))
        .issuer_name(_name("agentkit test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("agentkit test server"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    certs = Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    certs.ca.write_bytes(ca_cert.public_bytes(pem))
    certs.chain.write_bytes(cert.public_bytes(pem))
    certs.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return certs


@pytest.fixture
def fresh_tls(monkeypatch: pytest.MonkeyPatch) -> DeferredTLS:
    """A context not yet built, so each test reads its own environment."""
    tls = DeferredTLS()
    monkeypatch.setattr(_http, "_TLS", tls)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    return tls


def _serve(context: ssl.SSLContext | None) -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    scheme = "https" if context is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _https(certs: Certs) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.chain, certs.key)
    return context


@pytest.fixture
def http_url() -> Iterator[str]:
    yield from _serve(None)


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    return _make_certs(tmp_path, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])


@pytest.fixture
def https_url(certs: Certs) -> Iterator[str]:
    yield from _serve(_https(certs))


def _get(url: str) -> str:
    async def main() -> str:
        response = await shared_client("test", url).get(url + "/")
        return response.text

    return anyio.run(main)


def test_plain_http_builds_no_tls_context(fresh_tls: DeferredTLS, http_url: str) -> None:
    assert _get(http_url) == "ok"
    assert not fresh_tls.built


def test_https_verifies_against_the_trust_store_verify_true_reads(
    fresh_tls: DeferredTLS, https_url: str, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SSL_CERT_FILE is what httpx2's verify=True honours: the CA made here.
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))
    assert _get(https_url) == "ok"
    assert fresh_tls.built


def test_https_to_a_server_nobody_trusts_fails_verification(
    fresh_tls: DeferredTLS, https_url: str
) -> None:
    with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        _get(https_url)


def test_https_checks_the_host_name(
    fresh_tls: DeferredTLS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trusted issuer, but the certificate names another host.
    other = _make_certs(tmp_path, [x509.DNSName("example.invalid")])
    monkeypatch.setenv("SSL_CERT_FILE", str(other.ca))
    for url in _serve(_https(other)):
        with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            _get(url)


def test_a_run_over_https_through_a_model_string_verifies(
    fresh_tls: DeferredTLS, https_url: str, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = Agent(name="a", instructions="Be brief.")
    options = {"base_url": https_url + "/v1", "api_key": "k"}

    async def main() -> str:
        result = await run(agent, "hello", model="openai:m", model_options=options, retry=ONCE)
        return str(result.output)

    with pytest.raises(ModelCallError, match="CERTIFICATE_VERIFY_FAILED"):
        anyio.run(main)
    # A new context, now that the environment trusts the CA.
    monkeypatch.setattr(_http, "_TLS", DeferredTLS())
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))
    assert anyio.run(main) == "hi"


def test_a_client_of_ones_own_keeps_its_verify(https_url: str, certs: Certs) -> None:
    from agentkit_adapters.openai import create_chat_adapter

    agent = Agent(name="a", instructions="Be brief.")

    async def main(verify: ssl.SSLContext) -> str:
        async with httpx2.AsyncClient(verify=verify) as client:
            adapter = create_chat_adapter(
                "m", base_url=https_url + "/v1", api_key="k", http_client=client
            )
            result = await run(agent, "hello", model=adapter, retry=ONCE)
            return str(result.output)

    assert anyio.run(main, ssl.create_default_context(cafile=str(certs.ca))) == "hi"
    with pytest.raises(ModelCallError, match="CERTIFICATE_VERIFY_FAILED"):
        anyio.run(main, ssl.create_default_context())


def test_a_sync_client_wraps_sockets_through_it(
    https_url: str, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))
    tls = DeferredTLS()
    with httpx2.Client(verify=cast("ssl.SSLContext", tls)) as client:
        assert client.get(https_url + "/").text == "ok"
    assert tls.built


class _ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP proxy that only tunnels (CONNECT), and notes where to."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.targets: list[str] = []


class _Tunnel(socketserver.StreamRequestHandler):
    server: _ConnectProxy

    def handle(self) -> None:
        method, target, _ = self.rfile.readline().decode().split(" ", 2)
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        assert method == "CONNECT"
        self.server.targets.append(target)
        host, _, port = target.rpartition(":")
        with socket.create_connection((host, int(port))) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            back = threading.Thread(target=_pipe, args=(upstream, self.connection), daemon=True)
            back.start()
            _pipe(self.connection, upstream)
            back.join(5)

    def finish(self) -> None:
        pass


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def test_https_through_an_environment_proxy_tunnels_and_verifies(
    fresh_tls: DeferredTLS, https_url: str, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shared client reads HTTPS_PROXY as httpx2 does (trust_env); the TLS
    # inside the tunnel goes through the deferred context and still verifies.
    proxy = _ConnectProxy()
    threading.Thread(target=proxy.serve_forever, args=(0.02,), daemon=True).start()
    try:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "https_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            _get(https_url)
        monkeypatch.setattr(_http, "_TLS", DeferredTLS())
        monkeypatch.setenv("SSL_CERT_FILE", str(certs.ca))
        assert _get(https_url) == "ok"
        assert proxy.targets == [https_url.removeprefix("https://")] * 2
    finally:
        proxy.shutdown()
        proxy.server_close()
