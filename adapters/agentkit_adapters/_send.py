"""Building and sending a request without the layers a plain client does not use.

``AsyncClient.build_request`` merges the client's headers, cookies, query
parameters and base URL into every request (four ``Headers`` copies, a
cookie jar copy), and ``AsyncClient.send`` wraps the transport in an auth
flow (an async generator per request), a redirect loop and event hooks. A
client that has none of these, agentkit's shared client and most callers'
own, gets the same request and the same response from all that work every
time; it was about a quarter of what httpx2 spent on a request above its
connection pool (in-process, mock transport: 31.7 against 20.5 us to build,
13 us of ``send`` above ``_send_single_request``), two requests a run.

- ``RequestMaker`` keeps the merged headers and extensions of one client,
  header mapping and timeout, and builds each request with the public
  ``httpx2.Request``; before every use it checks that the client still has
  nothing else to merge and that its headers are those it merged.
- ``send`` goes straight to the client's single-request step (the one that
  calls the transport, binds the stream's ``elapsed``, stores cookies and
  logs the request) for a ``plain`` client, after the checks ``send`` itself
  makes (a closed client raises as it would); any other client, or an httpx2
  whose internals have moved, gets the full ``AsyncClient.send``.

``tests/adapters/test_send.py`` compares both paths with httpx2's own on the
installed version, so an upgrade that changes what they skip fails there.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from typing import Any

import httpx2

__all__ = ["RequestMaker", "plain", "send"]

_Single = Callable[[httpx2.AsyncClient, httpx2.Request], Awaitable[httpx2.Response]]
_SINGLE: _Single | None

try:  # the pieces of httpx2 the direct path stands on; gone, it is not taken
    from httpx2._client import ClientState

    _SINGLE = httpx2.AsyncClient._send_single_request
    _CLOSED, _OPENED = ClientState.CLOSED, ClientState.OPENED
except (ImportError, AttributeError):  # pragma: no cover - another httpx2
    _SINGLE = None


def _none() -> None:
    return None


def plain(client: httpx2.AsyncClient) -> bool:
    """Whether ``client`` adds nothing to a request or its answer but the transport.

    No auth, no event hooks, no redirects followed, no cookies, query
    parameters or base URL to merge: httpx2's own class, not a subclass
    that may change what it sends.
    """
    return (
        _SINGLE is not None
        and type(client) is httpx2.AsyncClient
        and client.auth is None
        and not client.follow_redirects
        and not client.event_hooks["request"]
        and not client.event_hooks["response"]
        and not client.cookies
        and not client.params
        and not client.base_url.raw_path.strip(b"/")
        and not client.base_url.host
    )


class RequestMaker:
    """``client.build_request("POST", url, content=..., headers=..., timeout=...)``, cheaper.

    One per exchange: it remembers the last client, header mapping and
    timeout it merged (an adapter sends the same ones on every call) and
    builds again only when one of them changes, or the client's own headers
    do. A client that is not ``plain``, or a URL with credentials in it
    (``send`` would turn them into basic auth), goes through ``build_request``.
    """

    __slots__ = (
        "_client",
        "_client_raw",
        "_extensions",
        "_headers",
        "_merged",
        "_plain",
        "_timeout",
    )

    def __init__(self) -> None:
        self._client: httpx2.AsyncClient | None = None
        self._headers: Mapping[str, str] | None = None
        self._timeout: float | None = None
        self._client_raw: list[tuple[bytes, bytes]] = []
        self._merged = httpx2.Headers()
        self._extensions: dict[str, Any] = {}
        # The last request made for a plain client, weakly: its body is not
        # kept alive past the call that sends it.
        self._plain: Callable[[], httpx2.Request | None] = _none

    def __call__(
        self,
        client: httpx2.AsyncClient,
        url: httpx2.URL,
        content: bytes,
        headers: Mapping[str, str],
        timeout: float | None,
    ) -> httpx2.Request:
        """The request ``build_request`` would make, built from the remembered merge."""
        if url.userinfo or not plain(client):
            return _built(client, url, content, headers, timeout)
        if (
            client is not self._client
            or headers is not self._headers
            or timeout != self._timeout
            or client.headers.raw != self._client_raw
        ):
            request = _built(client, url, content, headers, timeout)
            self._remember(request, client, headers, timeout)
        else:
            # Request() adds Host and Content-Length as build_request's does.
            request = httpx2.Request(
                "POST",
                url,
                headers=self._merged,
                content=content,
                extensions=dict(self._extensions),
            )
        self._plain = weakref.ref(request)
        return request

    def made_plain(self, request: httpx2.Request) -> bool:
        """Whether ``request`` is the last one made, for a ``plain`` client.

        Then ``send(..., checked=True)`` need not check the client again,
        as long as nothing ran in between.
        """
        return self._plain() is request

    def _remember(
        self,
        request: httpx2.Request,
        client: httpx2.AsyncClient,
        headers: Mapping[str, str],
        timeout: float | None,
    ) -> None:
        # Host and Content-Length are the request's own: Request() makes them
        # again for each (another host of the same client gets its own Host).
        made_per_request = (b"content-length", b"host")
        kept = [(k, v) for k, v in request.headers.raw if k.lower() not in made_per_request]
        self._merged = httpx2.Headers(kept)
        self._extensions = dict(request.extensions)
        self._client, self._headers, self._timeout = client, headers, timeout
        self._client_raw = client.headers.raw


def _built(
    client: httpx2.AsyncClient,
    url: httpx2.URL,
    content: bytes,
    headers: Mapping[str, str],
    timeout: float | None,
) -> httpx2.Request:
    # With a deadline, no single operation may wait longer than the deadline
    # itself (a slow first token included); without one, the client's limits.
    return client.build_request(
        "POST",
        url,
        content=content,
        headers=headers,
        timeout=httpx2.Timeout(timeout) if timeout else httpx2.USE_CLIENT_DEFAULT,
    )


async def send(
    client: httpx2.AsyncClient, request: httpx2.Request, *, checked: bool = False
) -> httpx2.Response:
    """``client.send(request, stream=True)``: the body is left to read.

    Args:
        client: The client to send with.
        request: Built by ``client.build_request`` or a ``RequestMaker``.
        checked: The caller knows ``client`` is ``plain`` and ``request`` has no
            credentials in its URL: ``RequestMaker.made_plain(request)``, with
            nothing run since it was made.
    """
    if _SINGLE is None or not (checked or (not request.url.userinfo and plain(client))):
        return await client.send(request, stream=True)
    # What send() does for a plain client before the transport: refuse a
    # closed client, mark it opened (so that "async with" after use fails as
    # it does after send); the request has its timeout from build_request or
    # RequestMaker, so _set_timeout has nothing to do.
    if client._state is _CLOSED:
        raise RuntimeError("Cannot send a request, as the client has been closed.")
    client._state = _OPENED
    response = await _SINGLE(client, request)
    if response.has_redirect_location:  # not followed: offered, as send() does
        with suppress(httpx2.RemoteProtocolError):
            response.next_request = client._build_redirect_request(request, response)
    return response
