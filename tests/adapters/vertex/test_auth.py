"""Application Default Credentials through the real google-auth, against loopback endpoints.

- a service-account key file (``GOOGLE_APPLICATION_CREDENTIALS``) made in the
  test with a fresh RSA key: google-auth signs a JWT assertion and posts it to
  the key's ``token_uri``, a loopback token endpoint that verifies the
  signature and claims with google-auth's own ``jwt.decode``;
- user credentials (what gcloud's ``application-default login`` makes): a
  refresh-token grant to the same endpoint;
- the metadata server, emulated on loopback through ``GCE_METADATA_HOST`` /
  ``GCE_METADATA_IP``. google-auth reads ``GCE_METADATA_HOST`` once, when
  ``google.auth.compute_engine._metadata`` is imported, so that case runs in a
  fresh interpreter.

Each token reaches a ``VertexEmulator`` as ``authorization: Bearer ...``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import pytest
from agentkit_adapters.vertex import create_vertex_adapter
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt
from google.oauth2.credentials import Credentials

from agentkit import Message, ModelRequest
from agentkit.exceptions import AuthenticationError, UserError
from agentkit.testing import VertexEmulator, serve_asgi
from agentkit.testing._asgi import Receive, Scope, Send, read_body, send_json

pytestmark = pytest.mark.anyio

REQUEST = ModelRequest(messages=[Message.user("hi")])
EMAIL = "agent@key-project.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: google-auth addresses a service account's assertion to Google's token endpoint
#: whatever the key file's token_uri (google/oauth2/service_account.py, "aud").
AUDIENCE = "https://oauth2.googleapis.com/token"


class TokenEndpoint:
    """A loopback OAuth token endpoint: checks each grant, hands out ``tok-1``, ``tok-2``..."""

    def __init__(self, public_pem: bytes, *, expires_in: int = 3600) -> None:
        self.public_pem = public_pem
        self.expires_in = expires_in
        self.url = ""
        self.grants: list[dict[str, str]] = []
        self.claims: list[dict[str, Any]] = []
        self.refuse = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        form = {k: v[0] for k, v in parse_qs((await read_body(receive)).decode()).items()}
        self.grants.append(form)
        if self.refuse:
            await send_json(send, 400, {"error": "invalid_grant", "error_description": "revoked"})
            return
        if form.get("grant_type") == JWT_GRANT:
            # google-auth's own verifier: signature with the test's key, audience, expiry.
            self.claims.append(
                jwt.decode(form["assertion"], certs=self.public_pem, audience=AUDIENCE)
            )
        elif form.get("grant_type") != "refresh_token" or form.get("refresh_token") != "rt-planted":
            await send_json(send, 400, {"error": "unsupported_grant_type"})
            return
        token = f"tok-{len(self.grants)}"
        body = {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        await send_json(send, 200, body)


@pytest.fixture(scope="module")
def rsa_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@pytest.fixture
def servers(rsa_key: tuple[bytes, bytes]) -> Iterator[tuple[TokenEndpoint, VertexEmulator, str]]:
    endpoint = TokenEndpoint(rsa_key[1])
    emulator = VertexEmulator(lambda request: "hello", project="key-project")
    with serve_asgi(endpoint) as token_url, serve_asgi(emulator) as vertex_url:
        endpoint.url = f"{token_url}/token"
        yield endpoint, emulator, vertex_url


@pytest.fixture
def key_file(
    clean_env: Path,
    tmp_path: Path,
    rsa_key: tuple[bytes, bytes],
    servers: tuple[TokenEndpoint, VertexEmulator, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A service-account key file for the loopback token endpoint, named by
    ``GOOGLE_APPLICATION_CREDENTIALS``."""
    path = tmp_path / "key.json"
    info = {
        "type": "service_account",
        "project_id": "key-project",
        "private_key_id": "kid-planted",
        "private_key": rsa_key[0].decode(),
        "client_email": EMAIL,
        "client_id": "1234567890",
        "token_uri": servers[0].url,
    }
    path.write_text(json.dumps(info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path


async def test_a_service_account_key_file_signs_a_jwt_and_sends_its_token(
    key_file: Path, servers: tuple[TokenEndpoint, VertexEmulator, str]
) -> None:
    endpoint, emulator, url = servers
    adapter = create_vertex_adapter("gemini-2.5-flash", base_url=url, location="us-east5")
    before = time.time()
    first = await adapter.generate(REQUEST)
    second = await adapter.generate(REQUEST)
    assert first.message.text == second.message.text == "hello"
    # One token for both calls: it is valid for an hour.
    (claims,) = endpoint.claims
    assert claims["iss"] == EMAIL
    assert claims["scope"] == SCOPE
    assert claims["aud"] == AUDIENCE
    assert before - 5 <= claims["iat"] <= time.time() + 5
    assert claims["exp"] - claims["iat"] == 3600
    assert [h["authorization"] for h in emulator.headers] == ["Bearer tok-1"] * 2
    # No project was given or set: the key file's project is in the URL.
    prefix = "/v1beta1/projects/key-project/locations/us-east5/publishers/google/models"
    assert emulator.paths == [f"{prefix}/gemini-2.5-flash:generateContent"] * 2


async def test_a_token_about_to_expire_is_refreshed_before_the_call(
    key_file: Path, servers: tuple[TokenEndpoint, VertexEmulator, str]
) -> None:
    endpoint, emulator, url = servers
    endpoint.expires_in = 60  # inside google-auth's refresh margin (minutes before expiry)
    adapter = create_vertex_adapter("gemini-2.5-flash", base_url=url)
    events = [e async for e in adapter.stream(REQUEST)]
    await adapter.generate(REQUEST)
    assert events[-1].type == "response_end"
    assert [h["authorization"] for h in emulator.headers] == ["Bearer tok-1", "Bearer tok-2"]
    assert len(endpoint.claims) == 2


async def test_user_credentials_passed_in_use_their_refresh_token(
    clean_env: Path, servers: tuple[TokenEndpoint, VertexEmulator, str]
) -> None:
    # gcloud's application_default_credentials.json would make these same
    # credentials, but google-auth always sends their refresh to Google's own
    # endpoint ("always overrides" in google/oauth2/credentials.py), so the test
    # builds them with a loopback token_uri and passes them in.
    endpoint, emulator, url = servers
    user = Credentials(
        token=None,
        refresh_token="rt-planted",
        token_uri=endpoint.url,
        client_id="client-planted.apps.googleusercontent.com",
        client_secret="secret-planted",
        quota_project_id="billing-project",
    )
    adapter = create_vertex_adapter(
        "claude-sonnet-4-5@20250929", base_url=url, project="key-project", credentials=user
    )
    response = await adapter.generate(REQUEST)
    assert response.message.text == "hello"
    (grant,) = endpoint.grants
    assert grant["grant_type"] == "refresh_token"
    assert grant["client_id"] == "client-planted.apps.googleusercontent.com"
    (headers,) = emulator.headers
    assert headers["authorization"] == "Bearer tok-1"
    assert headers["x-goog-user-project"] == "billing-project"  # the quota project
    assert emulator.paths == [
        "/v1/projects/key-project/locations/global/publishers/anthropic/models/"
        "claude-sonnet-4-5@20250929:rawPredict"
    ]


async def test_a_refused_refresh_is_an_authentication_error(
    key_file: Path, servers: tuple[TokenEndpoint, VertexEmulator, str]
) -> None:
    endpoint, emulator, url = servers
    endpoint.refuse = True
    adapter = create_vertex_adapter("gemini-2.5-flash", base_url=url)
    with pytest.raises(AuthenticationError, match="invalid_grant"):
        await adapter.generate(REQUEST)
    assert emulator.paths == []  # nothing was sent to Vertex


async def test_a_missing_key_file_is_a_user_error(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))
    adapter = create_vertex_adapter("gemini-2.5-flash", project="p")
    with pytest.raises(UserError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        await adapter.generate(REQUEST)


class MetadataServer:
    """The few metadata-server paths google-auth's Compute Engine credentials read."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append((scope["path"], headers.get("metadata-flavor", "")))
        if headers.get("metadata-flavor") != "Google":
            await send_json(send, 403, {"error": "Missing Metadata-Flavor:Google header"})
            return
        path = scope["path"].removeprefix("/computeMetadata/v1/")
        flavor = {"metadata-flavor": "Google"}
        if path == "project/project-id":
            await _text(send, "meta-project", flavor)
        elif path == "instance/service-accounts/default/":
            info = {
                "email": "vm@meta-project.iam.gserviceaccount.com",
                "scopes": [SCOPE],
                "aliases": ["default"],
            }
            await send_json(send, 200, info, flavor)
        elif path.startswith("instance/service-accounts/") and path.endswith("/token"):
            await send_json(
                send,
                200,
                {"access_token": "meta-token", "expires_in": 3599, "token_type": "Bearer"},
                flavor,
            )
        elif path in ("", "/"):
            await _text(send, "", flavor)
        else:
            await send_json(send, 404, {"error": "not found"}, flavor)


async def _text(send: Send, text: str, headers: dict[str, str]) -> None:
    raw = [(b"content-type", b"application/text")] + [
        (k.encode(), v.encode()) for k, v in headers.items()
    ]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    await send({"type": "http.response.body", "body": text.encode()})


_METADATA_SCRIPT = """
import anyio, json, sys
from agentkit import Message, ModelRequest
from agentkit_adapters.vertex import create_vertex_adapter

async def main():
    adapter = create_vertex_adapter("gemini-2.5-flash", base_url=sys.argv[1])
    response = await adapter.generate(ModelRequest(messages=[Message.user("hi")]))
    print(json.dumps({"text": response.message.text, "project": adapter.project}))

anyio.run(main)
"""


def test_the_metadata_server_gives_the_token_and_the_project(clean_env: Path) -> None:
    metadata = MetadataServer()
    emulator = VertexEmulator(lambda request: "hello", token="meta-token", project="meta-project")
    with serve_asgi(metadata) as metadata_url, serve_asgi(emulator) as vertex_url:
        host = metadata_url.removeprefix("http://")
        env = {**os.environ, "GCE_METADATA_HOST": host, "GCE_METADATA_IP": host}
        done = subprocess.run(
            [sys.executable, "-c", _METADATA_SCRIPT, vertex_url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"text": "hello", "project": "meta-project"}
    paths = [path for path, _ in metadata.requests]
    assert "/computeMetadata/v1/project/project-id" in paths
    assert any(p.endswith("/token") for p in paths)
    assert {flavor for _, flavor in metadata.requests} == {"Google"}
    assert [h["authorization"] for h in emulator.headers] == ["Bearer meta-token"]
    assert emulator.paths == [
        "/v1beta1/projects/meta-project/locations/global/publishers/google/models/gemini-2.5-flash:generateContent"
    ]


async def test_concurrent_first_calls_refresh_once(
    key_file: Path, servers: tuple[TokenEndpoint, VertexEmulator, str]
) -> None:
    endpoint, emulator, url = servers
    adapter = create_vertex_adapter("gemini-2.5-flash", base_url=url)
    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(adapter.generate, REQUEST)
    assert len(endpoint.grants) == 1
    assert [h["authorization"] for h in emulator.headers] == ["Bearer tok-1"] * 5


def test_without_google_auth_credentials_are_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the [vertex] extra were not installed: importing google.auth fails.
    monkeypatch.setitem(sys.modules, "google.auth", None)
    with pytest.raises(UserError, match=r"agentkit-interop-adapters\[vertex\]"):
        create_vertex_adapter("gemini-2.5-flash", project="p")
    # An express-mode key needs no google-auth.
    assert create_vertex_adapter("gemini-2.5-flash", api_key="AQ.k").auth is None
