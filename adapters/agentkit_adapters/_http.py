"""HTTP plumbing every adapter shares: pooled clients, SSE parsing, error mapping.

Three pieces, each small and provider-neutral:

- ``shared_client`` hands out one ``httpx2.AsyncClient`` per provider, base URL
  and running event loop, so connections are reused across calls and adapters
  but never across event loops (``run_sync`` starts a fresh loop each time),
  and closes them when their loop shuts down.
- ``SSEDecoder`` / ``iter_sse`` turn a streamed body into server-sent events.
- ``map_http_error`` and ``TransportErrors`` are the one seam where vendor
  statuses and transport failures become ``agentkit.exceptions``.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ipaddress
import json
import ssl
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any, NamedTuple

import httpx2

from agentkit.exceptions import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextLengthError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderHTTPError,
    RateLimitError,
    ServerError,
    UserError,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "SSEDecoder",
    "SSEEvent",
    "TransportErrors",
    "aclose_shared_clients",
    "iter_sse",
    "map_http_error",
    "parse_retry_after",
    "shared_client",
    "transport_override",
]

#: A bounded pool: enough for a run's parallel calls, small enough to be polite.
DEFAULT_LIMITS = httpx2.Limits(max_connections=25, max_keepalive_connections=25)
#: Model calls can think for minutes before the first byte; connecting cannot.
DEFAULT_TIMEOUT = httpx2.Timeout(600.0, connect=10.0)

_ClientKey = tuple[str, str]

#: A transport that every shared client made in this context sends through
#: instead of the network; None (the default) means the network. It exists for
#: the conformance kit's ``record`` and ``replay`` modes, which set it for the
#: duration of one kit run (``token = transport_override.set(t)`` ...
#: ``transport_override.reset(token)``) so that adapters built from a model
#: string get recorded or replayed without taking a ``client=``. A client made
#: under an override is keyed by the transport, so it is never handed out to
#: code running without that override.
transport_override: ContextVar[httpx2.AsyncBaseTransport | None] = ContextVar(
    "agentkit_transport_override", default=None
)


class _LoopClients(dict[_ClientKey, httpx2.AsyncClient]):
    """One event loop's clients, plus what closes them when that loop shuts down."""

    __slots__ = ("closer", "starter")
    closer: AsyncGenerator[None]
    starter: asyncio.Task[None]


# Keyed weakly by loop, so a finished loop's clients can go with it.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients]
_clients = weakref.WeakKeyDictionary()


async def _close_at_shutdown(clients: _LoopClients) -> AsyncGenerator[None]:
    # asyncio.run() and anyio.run() close every live async generator before they
    # close the loop (loop.shutdown_asyncgens): the one hook a library gets to
    # close its sockets on the loop that opened them.
    try:
        yield
    finally:
        for client in list(clients.values()):
            await client.aclose()
        clients.clear()


async def _start(generator: AsyncGenerator[None]) -> None:
    await anext(generator)


def shared_client(provider: str, base_url: str) -> httpx2.AsyncClient:
    """The pooled client for ``(provider, base_url)`` in the running event loop.

    A client's connections belong to the loop that opened them, so each loop
    gets its own client, and the clients are closed when the loop shuts down
    (through ``asyncio.run``/``anyio.run``). Should a loop end otherwise, its
    clients, which keep it alive through their sockets, are dropped when the
    next loop makes its first client.

    Args:
        provider: Provider name, part of the key so two providers never share.
        base_url: The provider's base URL.

    Returns:
        A client with ``DEFAULT_LIMITS`` and ``DEFAULT_TIMEOUT``.

    Raises:
        UserError: no asyncio event loop is running (under trio, give the
            adapter a ``client`` of your own).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError as exc:
        raise UserError(
            f"{provider}: the shared HTTP client needs a running asyncio event loop; "
            "under another event loop, pass client=httpx2.AsyncClient() to the adapter"
        ) from exc
    override = transport_override.get()
    # The override's id is unique while its client (which holds it) is cached.
    key = (provider, base_url if override is None else f"{base_url} via {id(override):x}")
    per_loop = _clients.get(loop)
    if per_loop is not None:
        client = per_loop.get(key)
        if client is not None:
            return client
    else:
        for old in [old for old in _clients if old.is_closed()]:
            del _clients[old]
        per_loop = _clients[loop] = _LoopClients()
        per_loop.closer = _close_at_shutdown(per_loop)
        per_loop.starter = loop.create_task(_start(per_loop.closer))
    if override is not None:
        client = httpx2.AsyncClient(timeout=DEFAULT_TIMEOUT, transport=override)
    else:
        client = httpx2.AsyncClient(
            limits=DEFAULT_LIMITS,
            timeout=DEFAULT_TIMEOUT,
            verify=_tls_context(_is_loopback(base_url)),
        )
    per_loop[key] = client
    return client


@functools.cache
def _tls_context(loopback: bool) -> ssl.SSLContext:
    # Building a verifying context loads the system's certificates (~0.2 s), and a
    # client left to itself builds one per instance, so once per event loop here:
    # one context per process instead. A plain-http loopback server (Ollama, llama.cpp,
    # the emulators) never uses TLS; its context trusts nothing, so it fails safe.
    if loopback:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return httpx2.create_ssl_context()


def _is_loopback(base_url: str) -> bool:
    url = httpx2.URL(base_url)
    if url.scheme != "http":
        return False
    try:
        return url.host == "localhost" or ipaddress.ip_address(url.host).is_loopback
    except ValueError:
        return False


async def aclose_shared_clients() -> None:
    """Close the running loop's shared clients now, rather than at loop shutdown."""
    per_loop = _clients.pop(asyncio.get_running_loop(), None)
    if per_loop:
        clients = list(per_loop.values())
        per_loop.clear()
        for client in clients:
            await client.aclose()


class SSEEvent(NamedTuple):
    """One server-sent event: its ``event`` name (``message`` by default) and ``data``."""

    event: str
    data: str


class SSEDecoder:
    """Incremental server-sent-events parser over raw bytes.

    Follows the WHATWG framing rules that matter for model APIs: lines end in
    ``\\n``, ``\\r\\n`` or ``\\r`` (also when a chunk boundary splits
    ``\\r\\n``), ``data`` lines of one event are joined with ``\\n``, lines
    starting with ``:`` are comments, and a blank line ends an event. ``id``
    and ``retry`` are ignored: model streams cannot be resumed.
    """

    __slots__ = ("_buffer", "_cr", "_data", "_event")

    def __init__(self) -> None:
        self._buffer = b""
        self._cr = False
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse ``chunk`` and return the events it completed."""
        if self._cr and chunk.startswith(b"\n"):
            # The previous chunk ended in "\r": this "\n" belongs to the same line break.
            chunk = chunk[1:]
        self._cr = chunk.endswith(b"\r")
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = (self._buffer + chunk).split(b"\n")
        self._buffer = lines.pop()
        events: list[SSEEvent] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[SSEEvent]:
        """Finish the body: an unterminated last event still counts (Gemini ends so)."""
        events = self.feed(b"\n\n") if self._buffer or self._data else []
        self._buffer = b""
        return events

    def _line(self, line: bytes) -> SSEEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent(self._event or "message", "\n".join(self._data))
            self._event = ""
            self._data = []
            return event
        if line[0] == 0x3A:  # ":" starts a comment (keep-alive pings)
            return None
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8"))
        elif name == b"event":
            self._event = value.decode("utf-8")
        return None


async def iter_sse(response: httpx2.Response) -> AsyncIterator[SSEEvent]:
    """The events of a streamed response, up to ``data: [DONE]`` or the end of the body.

    Args:
        response: A response opened with ``client.stream(...)``.

    Yields:
        Every event, the ``[DONE]`` sentinel included (so the caller can tell a
        finished stream from a cut one); anything after it is read and ignored.
    """
    decoder = SSEDecoder()
    done = False
    async for chunk in response.aiter_bytes():
        if done:
            continue  # read to the end, so the connection goes back to the pool
        for event in decoder.feed(chunk):
            yield event
            if event.data == "[DONE]":
                done = True
                break
    if not done:
        for event in decoder.flush():
            yield event


# -- errors ---------------------------------------------------------------------------------


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Args:
        headers: Response headers (case-insensitive lookups are the caller's job
            when a plain dict is given; ``httpx2.Headers`` does it already).
        now: The current time, for tests.

    Returns:
        Seconds, never negative, or None when no usable header is present.
    """
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _parse_body(body: Any) -> Any:
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def _error_fields(body: Any) -> tuple[str, str | None, str]:
    """``(message, code, searchable text)`` from the error shapes providers use."""
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, str):  # Ollama: {"error": "model 'x' not found"}
        return error, None, error.lower()
    if not isinstance(error, dict):
        text = str(error or "")[:500]
        return text, None, text.lower()
    message = str(error.get("message") or error.get("detail") or "")
    code = error.get("code")
    # OpenAI: code "invalid_api_key" / type; Gemini: numeric code plus status "NOT_FOUND".
    code_text = code if isinstance(code, str) else error.get("status") or error.get("type")
    detail = json.dumps(error.get("details")) if error.get("details") else ""
    searchable = f"{message} {code_text or ''} {error.get('type') or ''} {detail}".lower()
    return message, code_text if isinstance(code_text, str) else None, searchable


def _gemini_retry_delay(body: Any) -> float | None:
    # Gemini puts the wait in the body: details[RetryInfo].retryDelay = "30s".
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for item in details if isinstance(details, list) else []:
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


def map_http_error(
    provider: str,
    model_id: str,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    key_variable: str | None = None,
    base_url: str | None = None,
) -> ProviderHTTPError:
    """Translate an error status (or an error inside a 200 stream) into agentkit's tree.

    The provider's own code wins over the status where it is more precise (a
    ``model_not_found`` 400, a ``context_length_exceeded`` 400, a Gemini
    ``API_KEY_INVALID`` 400); otherwise the status decides. Pure: no I/O.

    Args:
        provider: Provider name for the error.
        model_id: The model that was asked.
        status: HTTP status; 200 for an error that arrived inside a stream.
        headers: Response headers (for ``Retry-After``).
        body: The error body: bytes, text or already-parsed JSON.
        key_variable: Environment variable holding the key, named in auth errors.
        base_url: Where the request went, named in not-found errors.

    Returns:
        The exception to raise (the caller raises it).
    """
    parsed = _parse_body(body)
    message, code, text = _error_fields(parsed)
    detail = message or f"HTTP {status}"
    retry_after = parse_retry_after(headers)
    if retry_after is None and status == 429:
        retry_after = _gemini_retry_delay(parsed)
    common: dict[str, Any] = {
        "provider": provider,
        "model_id": model_id,
        "status_code": status,
        "body": parsed,
        "retry_after": retry_after,
        "code": code,
    }
    where = f" at {base_url}" if base_url else ""
    if status in (401, 403) or "invalid_api_key" in text or "api_key_invalid" in text:
        check = f"check that {key_variable} holds a valid key" if key_variable else "check the key"
        return AuthenticationError(f"authentication failed: {detail} ({check})", **common)
    if status == 429 or "rate_limit" in text or "insufficient_quota" in text:
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimitError(f"rate limited or out of quota: {detail}{wait}", **common)
    if code == "model_not_found" or status == 404:
        return ModelNotFoundError(
            f"model {model_id!r} not found{where}: {detail} "
            "(check the model name, and the base URL if you set one)",
            **common,
        )
    if "context_length" in text or "maximum context length" in text or "context window" in text:
        return ContextLengthError(
            f"the conversation does not fit the model's context window: {detail} "
            "(shorten the history or choose a model with a larger window)",
            **common,
        )
    if "content_filter" in text or "content_policy" in text or "safety" in (code or "").lower():
        return ContentFilterError(f"blocked by the provider's content filter: {detail}", **common)
    if status >= 500 or status == 200:
        # 200: the request was accepted and failed mid-stream, on the provider's side.
        return ServerError(f"provider error (usually temporary): {detail}", **common)
    if 400 <= status < 500:
        return BadRequestError(f"request rejected: {detail}", **common)
    return ProviderHTTPError(f"unexpected status: {detail}", **common)


class TransportErrors:
    """Context manager turning ``httpx2`` transport failures into ``ProviderConnectionError``.

    A class rather than ``@contextmanager``: it sits on every request, so it
    should cost nothing when nothing fails.

    Args:
        provider: Provider name for the error.
        model_id: The model that was asked.
        base_url: Where the request went, named in the message.
    """

    __slots__ = ("base_url", "model_id", "provider")

    def __init__(self, provider: str, model_id: str, base_url: str) -> None:
        self.provider = provider
        self.model_id = model_id
        self.base_url = base_url

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or not isinstance(exc, httpx2.TransportError):
            return
        if isinstance(exc, httpx2.TimeoutException):
            reason = f"timed out ({type(exc).__name__}) talking to {self.base_url}"
        elif isinstance(exc, httpx2.ConnectError):
            reason = f"could not connect to {self.base_url} ({exc}); is the server running?"
        else:
            reason = f"the connection to {self.base_url} failed: {type(exc).__name__}: {exc}"
        raise ProviderConnectionError(
            reason, provider=self.provider, model_id=self.model_id
        ) from exc
