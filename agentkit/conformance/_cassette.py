"""Cassettes: a scenario's HTTP exchanges as a JSON file, keys scrubbed.

A cassette is one JSON file per adapter and scenario
(``DIR/<provider>/<scenario id>.json``) holding, in order, every request the
adapter made (method, path and query, headers, body) and the answer it got
(status, headers, the body as the chunks it arrived in, so streams replay as
streams). Its metadata says how it was recorded (``recorded_mode``, the wire
``protocol``) and ``base_path``: what follows the server's root in the
``base_url`` the adapter was given (``/v1`` for OpenAI's wire), so a replay
can point the adapter at the same place.

Keys never reach the file: ``Authorization``, ``x-goog-api-key``, ``api-key``,
``x-api-key`` and ``cookie`` headers are dropped, any ``key=`` query parameter
is redacted, and the literal value of any key seen in those places is replaced
wherever else it appears (bodies, URLs, headers).

Everything here is pure: the loopback servers that record and replay
(``_loopback.py``) call these functions.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..exceptions import UserError

__all__ = [
    "CASSETTE_FORMAT",
    "cassette_path",
    "describe_mismatch",
    "load_cassette",
    "recorded_request",
    "recorded_response",
    "replay_chunks",
    "scrub",
    "secrets_of",
    "write_cassette",
]

#: Bumped when the file layout changes (``headers`` and ``base_path`` were added
#: as optional fields, so format 1 files stay readable).
CASSETTE_FORMAT = 1

REDACTED = "<redacted>"
#: Headers that carry credentials: never recorded.
SECRET_HEADERS = frozenset({"authorization", "x-goog-api-key", "api-key", "x-api-key", "cookie"})
#: Request headers not worth keeping: per-connection, or set by the HTTP stack.
_DROPPED_REQUEST_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}
)
#: Response headers not worth keeping (noise or per-connection).
DROPPED_RESPONSE_HEADERS = frozenset(
    {
        "set-cookie", "date", "server", "content-length", "transfer-encoding", "connection",
        "content-encoding", "keep-alive",
    }
)  # fmt: skip
_KEY_PARAM = re.compile(r"([?&]key=)[^&#]*")
#: Literal key values shorter than this are not scrubbed from bodies (scrubbing
#: a one-letter placeholder key from every text would ruin it).
_MIN_SECRET = 8

Headers = Iterable[tuple[str, str]]


def cassette_path(
    directory: str | Path, target: str, scenario_id: str, folder: str | None = None
) -> Path:
    """Where the cassette of ``scenario_id`` run against ``target`` lives.

    In ``folder`` when given (a host's wire: ``vertex.vertex-claude``), else
    in the folder named after ``target``'s provider.
    """
    provider = folder or target.partition(":")[0] or "adapter"
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", provider)
    return Path(directory) / safe / f"{scenario_id}.json"


def secrets_of(headers: Headers, url: str) -> set[str]:
    """The credentials a request carries (in its key headers or its ``key=`` query)."""
    found: set[str] = set()
    for name, value in headers:
        if name.lower() in SECRET_HEADERS and value:
            found.add(value)
            if value.lower().startswith("bearer "):
                found.add(value[7:].strip())
    for match in re.finditer(r"[?&]key=([^&#]*)", url):
        found.add(match.group(1))
    return {s for s in found if len(s) >= _MIN_SECRET}


def scrub(text: str, secrets: set[str]) -> str:
    """``text`` with every secret and every ``key=`` query value replaced."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _KEY_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


def _body(raw: bytes, secrets: set[str]) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}
    text = scrub(text, secrets)
    try:
        return {"json": json.loads(text)} if text else {"text": ""}
    except ValueError:
        return {"text": text}


def recorded_request(method: str, url: str, headers: Headers, body: bytes) -> dict[str, Any]:
    """A request as a cassette keeps it: scrubbed, the body parsed when it is JSON.

    Args:
        method: The HTTP method.
        url: The path and query, as sent (``/v1/chat/completions``).
        headers: The request's headers.
        body: The raw body.
    """
    headers = list(headers)
    secrets = secrets_of(headers, url)
    kept = [
        [name.lower(), scrub(value, secrets)]
        for name, value in headers
        if name.lower() not in SECRET_HEADERS | _DROPPED_REQUEST_HEADERS
    ]
    return {
        "method": method.upper(),
        "url": scrub(url, secrets),
        "headers": kept,
        "body": _body(body, secrets),
    }


def recorded_response(
    status: int, headers: Headers, chunks: list[bytes], *, complete: bool, secrets: set[str]
) -> dict[str, Any]:
    """A response as a cassette keeps it: the body as the chunks it came in."""
    kept = [
        [name.lower(), scrub(value, secrets)]
        for name, value in headers
        if name.lower() not in DROPPED_RESPONSE_HEADERS | SECRET_HEADERS
    ]
    try:
        body: dict[str, Any] = {"text": [scrub(c.decode("utf-8"), secrets) for c in chunks]}
    except UnicodeDecodeError:
        body = {"base64": [base64.b64encode(c).decode("ascii") for c in chunks]}
    return {"status": status, "headers": kept, "body": body, "complete": complete}


def replay_chunks(body: Mapping[str, Any]) -> list[bytes]:
    """A recorded response body, back as the chunks to send."""
    if "base64" in body:
        return [base64.b64decode(c) for c in body["base64"]]
    return [c.encode("utf-8") for c in body["text"]]


def describe_mismatch(
    number: int, sent: Mapping[str, Any], want: Mapping[str, Any] | None, served: int
) -> str | None:
    """How request ``number`` differs from the one recorded next, or None when it matches.

    Method, path and query, and body are compared (the body as JSON when both
    are JSON); headers are not, since every HTTP stack sets its own.
    """
    method, url = sent["method"], sent["url"]
    if want is None:
        return f"request #{number} ({method} {url}) was not recorded (the cassette has {served})"
    if (method, url) != (want["method"], want["url"]):
        return (
            f"request #{number} is {method} {url}, the cassette recorded "
            f"{want['method']} {want['url']}"
        )
    if sent["body"] != want["body"]:
        return (
            f"request #{number} ({method} {url}) has a different body than recorded:\n"
            f"  sent:     {json.dumps(sent['body'], sort_keys=True, ensure_ascii=False)[:600]}\n"
            f"  recorded: {json.dumps(want['body'], sort_keys=True, ensure_ascii=False)[:600]}"
        )
    return None


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
