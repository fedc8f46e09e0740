"""A loopback Vertex AI server: Vertex's URLs and auth before the Gemini and Anthropic emulators.

``VertexEmulator`` serves the shapes the recordings in
``tests/fixtures/real_traffic/vertex`` show, and checks credentials the way
Vertex does before the model sees anything:

- ``POST /{v1,v1beta1}/projects/{project}/locations/{location}``
  ``/publishers/google/models/{model}:generateContent`` (and
  ``:streamGenerateContent?alt=sse``), answered by a ``GeminiEmulator``;
- ``POST /{v1,v1beta1}/publishers/google/models/{model}:...``: express mode,
  which takes an API key (``x-goog-api-key`` or ``?key=``) and no project;
- ``POST /v1/projects/{project}/locations/{location}``
  ``/publishers/anthropic/models/{model}:rawPredict`` (and ``:streamRawPredict``),
  answered by an ``AnthropicEmulator``; the body must carry
  ``anthropic_version: "vertex-2023-10-16"`` and no ``model``.

A project path needs ``authorization: Bearer <token>`` (a 401
``UNAUTHENTICATED`` otherwise) and the emulator's project (a 403
``PERMISSION_DENIED`` otherwise); errors are Google's
``{"error": {code, message, status}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping
from typing import Any

from ._anthropic_emulator import AnthropicEmulator, anthropic_error
from ._asgi import Receive, Scope, Send, read_body, send_json
from ._function import ModelFunction
from ._gemini_emulator import GeminiEmulator, gemini_error

__all__ = ["VERTEX_ANTHROPIC_VERSION", "VertexEmulator"]

#: The ``anthropic_version`` Claude on Vertex requires in the body.
VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"

_ROUTE = re.compile(
    r"/(?P<version>v1|v1beta1)"
    r"(?:/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+))?"
    r"/publishers/(?P<publisher>google|anthropic)/models/(?P<model>[^/:]+)"
    r":(?P<method>generateContent|streamGenerateContent|rawPredict|streamRawPredict)"
)
_METHODS = {
    "google": ("generateContent", "streamGenerateContent"),
    "anthropic": ("rawPredict", "streamRawPredict"),
}
_CONTENT_TYPE = "application/json; charset=UTF-8"


def _query_key(query: str) -> str:
    for item in query.split("&"):
        name, _, value = item.partition("=")
        if name == "key":
            return value
    return ""


class VertexEmulator:
    """An ASGI app speaking Vertex AI's Gemini and Claude endpoints for a scripted model.

    Args:
        function: The scripted model (both publishers share it).
        token: When set, project paths need ``authorization: Bearer <token>``.
        api_key: When set, express-mode paths need this key; None refuses
            express mode altogether.
        project: The one project the emulator serves.
        chunk_size: Characters per streamed fragment.
        call_ids: Give Gemini function calls ids, as Gemini 3 does.
        thought_signatures: Sign Gemini's first function call, as Gemini does.
        gemini: A ``GeminiEmulator`` of your own behind the Google paths
            (the conformance kit's, which it scripts and watches), instead of
            one made here from ``function`` (``chunk_size``, ``call_ids`` and
            ``thought_signatures`` are then its own).
        anthropic: Likewise, an ``AnthropicEmulator`` behind the Anthropic paths.

    Attributes:
        gemini: The ``GeminiEmulator`` behind the Google paths (``requests``, ``calls``...).
        anthropic: The ``AnthropicEmulator`` behind the Anthropic paths.
        paths: The path and query of every request.
        headers: The headers of every request, lower-cased names.
        requests: Every request body, as sent (before the emulator rewrites it).
    """

    def __init__(
        self,
        function: ModelFunction,
        *,
        token: str | None = None,
        api_key: str | None = None,
        project: str = "test-project",
        chunk_size: int = 8,
        call_ids: bool = False,
        thought_signatures: bool = False,
        gemini: GeminiEmulator | None = None,
        anthropic: AnthropicEmulator | None = None,
    ) -> None:
        if gemini is None:
            gemini = GeminiEmulator(
                function,
                chunk_size=chunk_size,
                call_ids=call_ids,
                thought_signatures=thought_signatures,
            )
        self.gemini = gemini
        if anthropic is None:
            anthropic = AnthropicEmulator(function, chunk_size=chunk_size)
        self.anthropic = anthropic
        self.token = token
        self.api_key = api_key
        self.project = project
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        path, query = scope["path"], scope.get("query_string", b"").decode()
        self.paths.append(f"{path}?{query}" if query else path)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.headers.append(headers)
        route = _ROUTE.fullmatch(path)
        if (
            scope["method"] != "POST"
            or route is None
            or route["method"] not in _METHODS[route["publisher"]]
            or (route["publisher"] == "anthropic" and route["project"] is None)
        ):
            await self._error(send, 404, f"The requested URL {path} was not found on this server.")
            return
        refusal = self._refusal(route, headers, query)
        if refusal is not None:
            await self._error(send, *refusal)
            return
        body = await read_body(receive)
        try:
            self.requests.append(json.loads(body))
        except ValueError:
            await self._error(send, 400, "Invalid JSON payload received.")
            return
        if route["publisher"] == "google":
            await self._gemini(scope, receive, send, route, body)
        else:
            await self._claude(scope, receive, send, route)

    def _refusal(
        self, route: re.Match[str], headers: dict[str, str], query: str
    ) -> tuple[int, str, str] | None:
        if route["project"] is None:
            key = headers.get("x-goog-api-key") or _query_key(query)
            if self.api_key is None or key != self.api_key:
                return (
                    401,
                    "API key not valid. Please pass a valid API key.",
                    "UNAUTHENTICATED",
                )
            return None
        bearer = headers.get("authorization", "")
        if self.token is not None and bearer != f"Bearer {self.token}":
            return (
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.",
                "UNAUTHENTICATED",
            )
        if route["project"] != self.project:
            return (
                403,
                f"Permission denied on resource project {route['project']}.",
                "PERMISSION_DENIED",
            )
        return None

    async def _error(self, send: Send, status: int, message: str, name: str | None = None) -> None:
        error = gemini_error(status, message, status_name=name)
        await send_json(send, status, error.body, content_type=_CONTENT_TYPE, indent=2)

    async def _gemini(
        self, scope: Scope, receive: Receive, send: Send, route: re.Match[str], body: bytes
    ) -> None:
        inner = f"/v1beta/models/{route['model']}:{route['method']}"
        await self.gemini(_rewritten(scope, inner, {}), _replay(body, receive), send)

    async def _claude(
        self, scope: Scope, receive: Receive, send: Send, route: re.Match[str]
    ) -> None:
        body = self.requests[-1]
        if not isinstance(body, dict) or body.get("anthropic_version") != VERTEX_ANTHROPIC_VERSION:
            error = anthropic_error(400, f"anthropic_version: must be {VERTEX_ANTHROPIC_VERSION!r}")
            await send_json(send, 400, error.body)
            return
        if "model" in body:
            error = anthropic_error(400, "model: Extra inputs are not permitted")
            await send_json(send, 400, error.body)
            return
        streaming = route["method"] == "streamRawPredict"
        if bool(body.get("stream")) is not streaming:
            error = anthropic_error(400, f"stream must be {streaming} on :{route['method']}")
            await send_json(send, 400, error.body)
            return
        # The Messages API names the model in the body and the version in a header.
        messages = {k: v for k, v in body.items() if k != "anthropic_version"}
        messages["model"] = route["model"]
        extra = {b"anthropic-version": b"2023-06-01"}
        await self.anthropic(
            _rewritten(scope, "/v1/messages", extra),
            _replay(json.dumps(messages).encode(), receive),
            send,
        )


def _rewritten(scope: Scope, path: str, extra: dict[bytes, bytes]) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in extra]
    return {
        **scope,
        "path": path,
        "raw_path": path.encode(),
        "headers": headers + list(extra.items()),
    }


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``body`` once, then what the client sends (a disconnect)."""
    sent = False

    async def replay() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
