"""A third party's adapter with an HTTP stack of its own: urllib, in a worker thread.

It speaks OpenAI Chat through agentkit's converter, but every byte goes over
``urllib.request`` (``http.client``) run in a thread, through a client it
makes itself: nothing of agentkit's HTTP plumbing (``shared_client``, its
transports) is on the path, as with a gateway built on aiohttp or an SDK.
The kit can only reach it through the factory's ``base_url`` and ``api_key``.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
from agentkit_adapters.openai import OpenAIChatAdapter

from agentkit import ModelAdapter

__all__ = ["UrllibTransport", "create_foreign_adapter", "create_unwired_adapter"]

#: Where the factory points when no base_url is given: a port nothing listens on.
DEFAULT_BASE_URL = "http://127.0.0.1:9/v1"


class _ThreadedBody(httpx2.AsyncByteStream):
    """A urllib response read chunk by chunk in a worker thread."""

    def __init__(self, response: Any) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await anyio.to_thread.run_sync(self._response.read1, 65536)
            if not chunk:
                return
            yield chunk

    async def aclose(self) -> None:
        # Closing the urllib response closes its socket: the server sees the hang-up.
        await anyio.to_thread.run_sync(self._response.close)


class UrllibTransport(httpx2.AsyncBaseTransport):
    """Sends each request with ``urllib.request.urlopen`` in a worker thread."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """One urllib exchange."""
        body = await request.aread()
        self.requests += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() != "accept-encoding"}
        outgoing = urllib.request.Request(
            str(request.url), data=body or None, method=request.method, headers=headers
        )

        def send() -> Any:
            try:
                return urllib.request.urlopen(outgoing, timeout=30)
            except urllib.error.HTTPError as error:
                return error  # an error status is still an answer, with a body

        try:
            response = await anyio.to_thread.run_sync(send)
        except OSError as exc:
            raise httpx2.ConnectError(str(exc), request=request) from exc
        return httpx2.Response(
            response.status,
            headers=list(response.headers.items()),
            stream=_ThreadedBody(response),
            request=request,
        )


def create_foreign_adapter(
    model_id: str, *, base_url: str | None = None, api_key: str | None = None
) -> ModelAdapter:
    """The ``foreign`` provider: OpenAI Chat over urllib, configured only by options."""
    client = httpx2.AsyncClient(transport=UrllibTransport())
    return OpenAIChatAdapter(
        model_id,
        api_key=api_key,
        base_url=base_url or DEFAULT_BASE_URL,
        provider="foreign",
        key_variable=None,
        client=client,
    )


create_foreign_adapter.wire_protocol = "openai-chat"  # type: ignore[attr-defined]


def create_unwired_adapter(
    model_id: str, *, base_url: str | None = None, api_key: str | None = None
) -> ModelAdapter:
    """The same adapter under a factory that declares no wire protocol."""
    return create_foreign_adapter(model_id, base_url=base_url, api_key=api_key)
