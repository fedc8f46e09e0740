"""HTTP plumbing under the exchange: pooled clients and the transport-error seam.

- ``shared_client`` hands out one ``httpx2.AsyncClient`` per provider, base URL
  and running event loop, so connections are reused across calls and adapters
  but never across event loops (``run_sync`` keeps one per thread), and
  closes them when their loop shuts down.
- ``TransportErrors`` is the one seam where transport failures become
  ``ProviderConnectionError`` or ``ProviderTimeoutError`` (error statuses go
  through ``map_http_error``, framing through ``agentkit.adapter``'s decoders,
  both in ``_exchange.py``).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, cast

import httpx2

if TYPE_CHECKING:
    import ssl

from agentkit.exceptions import (
    ProviderConnectionError,
    ProviderTimeoutError,
    UserError,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "TransportErrors",
    "aclose_shared_clients",
    "shared_client",
]

#: A bounded pool: enough for a run's parallel calls, small enough to be polite.
DEFAULT_LIMITS = httpx2.Limits(max_connections=25, max_keepalive_connections=25)
#: Per operation, when a call has no deadline (``ModelSettings.timeout``): 120 s
#: without a byte ends the call. A streamed answer sends its first token (or a
#: keep-alive) within seconds even from a reasoning model, and the slowest whole
#: (non-streamed) answers we have seen came in well under two minutes; ten
#: minutes of silence, httpx's and the vendors' SDKs' default, looks like a hang
#: to a person at a terminal. Longer calls set a deadline, which replaces this.
DEFAULT_TIMEOUT = httpx2.Timeout(120.0, connect=10.0)

_ClientKey = tuple[str, str]


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
    key = (provider, base_url)
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
    client = httpx2.AsyncClient(
        limits=DEFAULT_LIMITS,
        timeout=DEFAULT_TIMEOUT,
        verify=cast("ssl.SSLContext", _TLS),
    )
    per_loop[key] = client
    return client


class DeferredTLS:
    """httpx2's default verifying ``ssl.SSLContext``, built at the first TLS handshake.

    A client left to itself builds its context when it is made: the system's
    certificates are loaded (about 25 ms) and even an empty context costs 1.5 ms,
    paid by every first run, also against a plain-http server (Ollama, vLLM,
    llama.cpp, a loopback emulator) that never speaks TLS. This stands in for
    it: what httpcore2 does with a client's context is set its ALPN protocols
    and hand it to the network backend, which calls ``wrap_bio`` (or
    ``wrap_socket``); both are passed on to ``httpx2.create_ssl_context()``,
    made once, so an https connection verifies exactly as with
    ``verify=True`` (``SSL_CERT_FILE``/``SSL_CERT_DIR``, the system store,
    truststore on macOS and Windows), read when the first one is made.
    anyio runs ``wrap_bio`` of a context that is not exactly ``ssl.SSLContext``
    in a worker thread (as it does truststore's): once per new connection, and
    the certificates then load off the event loop.
    """

    __slots__ = ("_alpn", "_context", "_lock")

    def __init__(self) -> None:
        self._context: ssl.SSLContext | None = None
        self._alpn: list[str] | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        """Whether the real context has been made (a TLS connection was opened)."""
        return self._context is not None

    def _ready(self) -> ssl.SSLContext:
        # The real context, with the ALPN asked for last. Connections of one
        # client ask for the same protocols; setting them on a shared context
        # just before wrapping is what httpcore2 does with any context.
        with self._lock:
            if self._context is None:
                self._context = httpx2.create_ssl_context()
            if self._alpn is not None:
                self._context.set_alpn_protocols(self._alpn)
            return self._context

    def set_alpn_protocols(self, protocols: list[str]) -> None:
        """Kept for the handshake (httpcore2 sets them before each connection's)."""
        self._alpn = list(protocols)

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        """``SSLContext.wrap_bio`` of the real context."""
        return self._ready().wrap_bio(incoming, outgoing, server_side, server_hostname, session)

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        """``SSLContext.wrap_socket`` of the real context (a sync backend's path)."""
        return self._ready().wrap_socket(sock, *args, **kwargs)


#: One per process, shared by every shared client (the certificates load once).
_TLS = DeferredTLS()


async def aclose_shared_clients() -> None:
    """Close the running loop's shared clients now, rather than at loop shutdown."""
    per_loop = _clients.pop(asyncio.get_running_loop(), None)
    if per_loop:
        clients = list(per_loop.values())
        per_loop.clear()
        for client in clients:
            await client.aclose()


class TransportErrors:
    """Turns ``httpx2`` transport failures into ``ProviderConnectionError`` (``translate``).

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

    def translate(self, exc: httpx2.TransportError) -> ProviderConnectionError:
        """The ``ProviderConnectionError`` (``ProviderTimeoutError`` for a timeout) for ``exc``.

        The caller raises it outside its ``except`` block, so that neither
        ``__cause__`` nor ``__context__`` holds ``exc``: an httpx2 error keeps
        the request, and the request keeps the key in its headers.
        """
        if isinstance(exc, httpx2.TimeoutException):
            limit = _TIMEOUT_KINDS.get(type(exc), "read")
            seconds = _configured(exc, limit)
            value = f"{seconds:g} s" if seconds is not None else "its limit"
            what = {
                "connect": f"could not connect to {self.base_url} within {value}",
                "read": f"no data came from {self.base_url} for {value}",
                "write": f"could not send the request to {self.base_url} within {value}",
                "pool": f"no free connection to {self.base_url} within {value}",
            }[limit]
            return ProviderTimeoutError(
                f"timed out: {what} (the {limit} timeout; ModelSettings.timeout sets a "
                "deadline for the whole call instead)",
                provider=self.provider,
                model_id=self.model_id,
                limit=limit,
                seconds=seconds or 0.0,
            )
        if isinstance(exc, httpx2.ConnectError):
            reason = f"could not connect to {self.base_url} ({exc}); is the server running?"
        else:
            reason = f"the connection to {self.base_url} failed: {type(exc).__name__}: {exc}"
        return ProviderConnectionError(reason, provider=self.provider, model_id=self.model_id)


_TIMEOUT_KINDS: dict[type[httpx2.TimeoutException], str] = {
    httpx2.ConnectTimeout: "connect",
    httpx2.ReadTimeout: "read",
    httpx2.WriteTimeout: "write",
    httpx2.PoolTimeout: "pool",
}


def _configured(exc: httpx2.TimeoutException, limit: str) -> float | None:
    """The limit that ran out, from the request's timeout extension."""
    try:
        timeouts = exc.request.extensions.get("timeout") or {}
    except RuntimeError:  # an error raised without its request
        return None
    value = timeouts.get(limit) if isinstance(timeouts, dict) else None
    return float(value) if isinstance(value, int | float) else None
