"""Record a run's HTTP exchanges into cassettes and replay them offline.

A cassette is one JSON file per adapter and scenario
(``DIR/<provider>/<scenario id>.json``) holding, in order, every request the
adapter made (method, path and query, body) and the answer it got (status,
headers, the body as the chunks it arrived in, so streams replay as streams).
Keys never reach the file: ``Authorization``, ``x-goog-api-key`` and
``api-key`` headers are dropped, any ``key=`` query parameter is redacted, and
the literal value of any key seen in those places is replaced wherever else it
appears (bodies, URLs, headers).

Both sides are ``httpx2`` transports, installed for the duration of a kit run
through ``agentkit_adapters._http.transport_override`` (so adapters built from
a model string pick them up) or given to an adapter as ``client=``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2

from ..exceptions import UserError

__all__ = [
    "CASSETTE_FORMAT",
    "CassetteMismatch",
    "RecordingTransport",
    "ReplayTransport",
    "cassette_path",
    "load_cassette",
    "scrub",
]

#: Bumped when the file layout changes.
CASSETTE_FORMAT = 1

REDACTED = "<redacted>"
#: Headers that carry credentials: never recorded.
_SECRET_HEADERS = frozenset({"authorization", "x-goog-api-key", "api-key", "x-api-key", "cookie"})
#: Response headers not worth keeping (noise or per-connection).
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"set-cookie", "date", "server", "content-length", "transfer-encoding", "connection"}
)
_KEY_PARAM = re.compile(r"([?&]key=)[^&#]*")
#: Literal key values shorter than this are not scrubbed from bodies (the
#: emulators' placeholder key is ``k``; scrubbing every ``k`` would ruin the text).
_MIN_SECRET = 8


class CassetteMismatch(AssertionError):
    """The adapter's request is not the one the cassette recorded next."""


def cassette_path(directory: str | Path, target: str, scenario_id: str) -> Path:
    """Where the cassette of ``scenario_id`` run against ``target`` lives."""
    provider = target.partition(":")[0] or "adapter"
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", provider)
    return Path(directory) / safe / f"{scenario_id}.json"


def _secrets(request: httpx2.Request) -> set[str]:
    found: set[str] = set()
    for name in _SECRET_HEADERS:
        value = request.headers.get(name)
        if value:
            found.add(value)
            if value.lower().startswith("bearer "):
                found.add(value[7:].strip())
    key = request.url.params.get("key")
    if key:
        found.add(key)
    return {s for s in found if len(s) >= _MIN_SECRET}


def scrub(text: str, secrets: set[str]) -> str:
    """``text`` with every secret and every ``key=`` query value replaced."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _KEY_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def _target(url: httpx2.URL) -> str:
    query = url.query.decode("ascii", "replace")
    return url.path + (f"?{query}" if query else "")


def _body(raw: bytes, secrets: set[str]) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}
    text = scrub(text, secrets)
    try:
        return {"json": json.loads(text)} if text else {"text": ""}
    except ValueError:
        return {"text": text}


def _chunks(chunks: list[bytes], secrets: set[str]) -> dict[str, Any]:
    try:
        return {"text": [scrub(c.decode("utf-8"), secrets) for c in chunks]}
    except UnicodeDecodeError:
        return {"base64": [base64.b64encode(c).decode("ascii") for c in chunks]}


def _unchunk(body: dict[str, Any]) -> list[bytes]:
    if "base64" in body:
        return [base64.b64decode(c) for c in body["base64"]]
    return [c.encode("utf-8") for c in body["text"]]


class _RecordingStream(httpx2.AsyncByteStream):
    """Passes a response body through, keeping each chunk as it goes by."""

    def __init__(self, inner: Any, entry: dict[str, Any]) -> None:
        self._inner = inner
        self._entry = entry

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._entry["raw"].append(bytes(chunk))
            yield chunk
        self._entry["complete"] = True

    async def aclose(self) -> None:
        await self._inner.aclose()


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Sends through ``inner`` (the network by default) and keeps every exchange.

    ``take()`` returns the exchanges since the last ``take()``, scrubbed and
    ready to write.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self._inner = inner or httpx2.AsyncHTTPTransport()
        self._entries: list[dict[str, Any]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Forward ``request`` and record the exchange."""
        await request.aread()
        # Uncompressed bodies, so the cassette is readable and scrubbable.
        request.headers["accept-encoding"] = "identity"
        entry: dict[str, Any] = {"request": request, "raw": [], "complete": False}
        self._entries.append(entry)
        response = await self._inner.handle_async_request(request)
        entry["response"] = response
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_RecordingStream(response.stream, entry),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()

    def take(self) -> list[dict[str, Any]]:
        """The scrubbed exchanges recorded since the last call."""
        entries, self._entries = self._entries, []
        out = []
        for entry in entries:
            request: httpx2.Request = entry["request"]
            secrets = _secrets(request)
            item: dict[str, Any] = {
                "request": {
                    "method": request.method,
                    "url": scrub(_target(request.url), secrets),
                    "body": _body(request.content, secrets),
                }
            }
            response: httpx2.Response | None = entry.get("response")
            if response is not None:
                headers = [
                    [name, scrub(value, secrets)]
                    for name, value in response.headers.multi_items()
                    if name.lower() not in _DROPPED_RESPONSE_HEADERS | _SECRET_HEADERS
                ]
                item["response"] = {
                    "status": response.status_code,
                    "headers": headers,
                    "body": _chunks(entry["raw"], secrets),
                    "complete": entry["complete"],
                }
            out.append(item)
        return out


class _ReplayStream(httpx2.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk

    async def aclose(self) -> None:
        return None


class ReplayTransport(httpx2.AsyncBaseTransport):
    """Answers from a cassette's exchanges, in order; never touches the network.

    Each request must match the next recorded one (method, path and query,
    body: as JSON when both are JSON); anything else raises
    ``CassetteMismatch`` and is kept in ``problems``.
    """

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.last_request: Any = None
        self._served = 0

    def load(self, interactions: list[dict[str, Any]]) -> None:
        """Play these exchanges next (forgetting any left over)."""
        self._pending = list(interactions)
        self.problems = []
        self.last_request = None
        self._served = 0

    def leftover(self) -> int:
        """How many recorded exchanges were never asked for."""
        return len(self._pending)

    def _fail(self, message: str) -> CassetteMismatch:
        self.problems.append(f"cassette: {message}")
        return CassetteMismatch(message)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """The recorded answer to ``request``."""
        await request.aread()
        secrets = _secrets(request)
        method, url = request.method, scrub(_target(request.url), secrets)
        body = _body(request.content, secrets)
        number = self._served + 1
        if not self._pending:
            raise self._fail(
                f"request #{number} ({method} {url}) was not recorded "
                f"(the cassette has {self._served})"
            )
        recorded = self._pending.pop(0)
        self._served = number
        want = recorded["request"]
        if (method, url) != (want["method"], want["url"]):
            raise self._fail(
                f"request #{number} is {method} {url}, the cassette recorded "
                f"{want['method']} {want['url']}"
            )
        if body != want["body"]:
            raise self._fail(
                f"request #{number} ({method} {url}) has a different body than recorded:\n"
                f"  sent:     {json.dumps(body, sort_keys=True)[:600]}\n"
                f"  recorded: {json.dumps(want['body'], sort_keys=True)[:600]}"
            )
        self.last_request = body.get("json")
        answer = recorded.get("response")
        if answer is None:
            raise httpx2.ConnectError("the recorded request got no response", request=request)
        return httpx2.Response(
            answer["status"],
            headers=[(k, v) for k, v in answer["headers"]],
            stream=_ReplayStream(_unchunk(answer["body"])),
            request=request,
        )


def write_cassette(path: Path, meta: dict[str, Any], interactions: list[dict[str, Any]]) -> None:
    """Write one cassette file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"agentkit_cassette": CASSETTE_FORMAT, **meta, "interactions": interactions}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")


def load_cassette(path: Path) -> dict[str, Any]:
    """Read one cassette file.

    Raises:
        UserError: it is not a cassette this version understands.
    """
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise UserError(f"{path}: not a JSON cassette ({exc})") from exc
    if not isinstance(data, dict) or data.get("agentkit_cassette") != CASSETTE_FORMAT:
        raise UserError(f"{path}: not an agentkit cassette (format {CASSETTE_FORMAT})")
    return data
