"""The one HTTP exchange every HTTP adapter of ours makes: post JSON, map errors, frame streams.

An adapter supplies what is its own (URLs, headers, the pure converters and
chunk readers); ``HTTPExchange`` does the rest, the same way for all of them:

- the request body is JSON; an error status goes through the adapter's error
  mapper (``map_http_error`` by default), a transport failure through
  ``TransportErrors``;
- a stream is framed as server-sent events or newline-delimited JSON, each
  frame decoded to a JSON object, and read to its end even after the answer
  is complete (``data: [DONE]``, or the reader saying it is done), so the
  connection goes back to the pool;
- a host that ignores ``stream`` and answers ``application/json`` gets its
  whole answer replayed as events (``response_events``);
- an SSE stream that holds no event at all but a plain JSON body (Gemini's
  stream endpoint does this for errors, case ``error_400_api_key_invalid_stream``)
  is read as that body: an error object raises, anything else is unexpected.

Like Vercel's ``postJsonToApi`` with its response handlers: one place, so a
quirk fixed here is fixed for every provider.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx2

from agentkit.adapter import (
    ModelResponse,
    NDJSONDecoder,
    SSEDecoder,
    StreamEvent,
    map_error_body,
    map_http_error,
    response_events,
)
from agentkit.exceptions import AdapterError, UnexpectedResponseError

from ._http import TransportErrors, shared_client

__all__ = ["CallHeaders", "ErrorMapper", "Frame", "Framing", "HTTPExchange", "StreamPlan"]

#: How a streamed body is cut into frames.
Framing = Literal["sse", "ndjson"]

#: ``(status, headers, body) -> exception``: an adapter's translation of an error status.
ErrorMapper = Callable[[int, Mapping[str, str], Any], AdapterError]

#: ``() -> headers``, awaited before every request: auth that changes per call
#: (a bearer token from a credential that refreshes it), added to the fixed headers.
CallHeaders = Callable[[], Awaitable[Mapping[str, str]]]

#: A stream that has shown no frame yet is kept up to this size, for the error.
_HEAD_LIMIT = 1 << 16


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of a stream: the SSE ``event`` name (``""`` for NDJSON) and its JSON object."""

    event: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """One streaming call's body and the adapter's reader, as ``HTTPExchange.stream`` drives it.

    Attributes:
        body: The request body.
        feed: One frame in, events out (the adapter's pure chunk reader).
        finish: Called once the body has ended, with whether the stream said
            it was complete (``[DONE]``, or ``ended()``); returns the last
            events, or raises for a stream cut short.
        whole: Parses a whole JSON answer (a host that ignored ``stream``).
        ended: Whether the reader has seen the end of the answer; what
            follows is read and ignored. None: the body's end is the end.
    """

    body: Mapping[str, object]
    feed: Callable[[Frame], Iterable[StreamEvent]]
    finish: Callable[[bool], Iterable[StreamEvent]]
    whole: Callable[[Any], ModelResponse]
    ended: Callable[[], bool] | None = None


class HTTPExchange:
    """Where and how one adapter talks HTTP: base URL, headers, client, error mapping.

    Args:
        provider: Provider name, in errors and as the shared pool's key.
        model_id: The model asked, in errors.
        base_url: The API root (named in connection and not-found errors, and
            the shared pool's key).
        headers: Request headers (content type, auth, extras), sent as given.
        client: An ``httpx2.AsyncClient`` of the caller's; None uses the
            running loop's shared pool (``shared_client``).
        key_variable: The key's environment variable, named in auth errors.
        map_error: The adapter's error translation; None is ``map_http_error``.
        call_headers: Headers computed for each request (a fresh bearer
            token, say), added to ``headers``; None adds nothing.
    """

    __slots__ = (
        "_call_headers",
        "_client",
        "_map_error",
        "_transport_errors",
        "base_url",
        "headers",
        "key_variable",
        "model_id",
        "provider",
    )

    def __init__(
        self,
        provider: str,
        model_id: str,
        base_url: str,
        *,
        headers: Mapping[str, str],
        client: httpx2.AsyncClient | None = None,
        key_variable: str | None = None,
        map_error: ErrorMapper | None = None,
        call_headers: CallHeaders | None = None,
    ) -> None:
        self.provider = provider
        self.model_id = model_id
        self.base_url = base_url
        self.headers = {"content-type": "application/json", **headers}
        self.key_variable = key_variable
        self._client = client
        self._map_error = map_error
        self._call_headers = call_headers
        self._transport_errors = TransportErrors(provider, model_id, base_url)

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._client or shared_client(self.provider, self.base_url)

    async def request_headers(self) -> Mapping[str, str]:
        """The headers of the next request: the fixed ones plus ``call_headers()``."""
        if self._call_headers is None:
            return self.headers
        return {**self.headers, **await self._call_headers()}

    def error(self, status: int, headers: Mapping[str, str], body: Any) -> AdapterError:
        """The exception for an error status (the caller raises it)."""
        if self._map_error is not None:
            return self._map_error(status, headers, body)
        return map_http_error(
            self.provider,
            self.model_id,
            status,
            headers,
            body,
            key_variable=self.key_variable,
            base_url=self.base_url,
        )

    def in_band_error(self, body: Mapping[str, object]) -> AdapterError:
        """The exception for an error object that came inside a 200 answer."""
        return map_error_body(self.provider, self.model_id, body, key_variable=self.key_variable)

    def unexpected(self, message: str) -> UnexpectedResponseError:
        """An ``UnexpectedResponseError`` naming this provider and model."""
        return UnexpectedResponseError(message, provider=self.provider, model_id=self.model_id)

    def decode(self, data: bytes | str, what: str = "the answer") -> Any:
        """``data`` parsed as JSON.

        Raises:
            UnexpectedResponseError: it is not JSON (``what`` names it in the message).
        """
        try:
            return json.loads(data)
        except ValueError as exc:
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            raise self.unexpected(f"{what} is not JSON: {text[:200]!r}") from exc

    def decode_object(self, data: bytes | str, what: str) -> dict[str, Any]:
        """``data`` parsed as a JSON object.

        Raises:
            UnexpectedResponseError: it is not JSON, or not an object.
        """
        value = self.decode(data, what)
        if not isinstance(value, dict):
            text = data if isinstance(data, str) else data.decode("utf-8", "replace")
            raise self.unexpected(f"{what} is not an object: {text[:200]!r}")
        return value

    async def post(
        self, url: str, body: Mapping[str, object], *, http_timeout: float | None = None
    ) -> httpx2.Response:
        """POST ``body`` as JSON and return the (read) answer, which has a 2xx status.

        Raises:
            ProviderHTTPError: an error status (through the adapter's mapper).
            ProviderConnectionError: the host could not be reached.
        """
        headers = await self.request_headers()
        with self._transport_errors:
            response = await self.client.post(
                url,
                content=json.dumps(body).encode(),
                headers=headers,
                timeout=http_timeout or httpx2.USE_CLIENT_DEFAULT,
            )
        if not 200 <= response.status_code < 300:
            raise self.error(response.status_code, response.headers, response.content)
        return response

    async def post_json(
        self, url: str, body: Mapping[str, object], *, http_timeout: float | None = None
    ) -> Any:
        """POST ``body`` as JSON and return the answer's JSON.

        Raises:
            ProviderHTTPError: an error status.
            ProviderConnectionError: the host could not be reached.
            UnexpectedResponseError: the answer is not JSON.
        """
        response = await self.post(url, body, http_timeout=http_timeout)
        return self.decode(response.content)

    async def stream(
        self,
        url: str,
        plan: Callable[[], StreamPlan],
        *,
        framing: Framing,
        http_timeout: float | None = None,
    ) -> AsyncGenerator[StreamEvent]:
        """POST the planned body and yield the events of the streamed answer.

        ``plan`` is called when iteration starts, so an adapter's ``stream``
        can return this generator as it is, and a request that cannot be
        built still fails on the first ``anext``, as from any async
        generator. Stopping early (``aclose()`` or cancelling the consumer)
        closes the response, and with it the connection, at once.

        Args:
            url: Where to post.
            plan: Builds the body (asking for a stream in the vendor's way)
                and the reader that turns the answer into events.
            framing: ``"sse"`` or ``"ndjson"``.
            http_timeout: The httpx2 timeout for this call (seconds per network
                operation); None is the client's default.

        Yields:
            The stream's events, ending with the reader's ``finish``.

        Raises:
            ProviderHTTPError: an error status, or an error object in place of a stream.
            ProviderConnectionError: the host could not be reached or the
                connection broke.
            UnexpectedResponseError: a frame is not a JSON object, or the body
                is not the framing asked for.
        """
        planned = plan()
        body, feed, ended = planned.body, planned.feed, planned.ended
        done = False
        headers = await self.request_headers()
        with self._transport_errors:
            async with self.client.stream(
                "POST",
                url,
                content=json.dumps(body).encode(),
                headers=headers,
                timeout=http_timeout or httpx2.USE_CLIENT_DEFAULT,
            ) as response:
                if not 200 <= response.status_code < 300:
                    await response.aread()
                    raise self.error(response.status_code, response.headers, response.content)
                if response.headers.get("content-type", "").startswith("application/json"):
                    await response.aread()
                    for item in response_events(planned.whole(self.decode(response.content))):
                        yield item
                    return
                # The decoders are driven inline rather than through a generator of
                # frames: one async generator less per chunk.
                if framing == "ndjson":
                    lines = NDJSONDecoder()
                    async for data in response.aiter_bytes():
                        for line in lines.feed(data):
                            for item in feed(Frame("", self.decode_object(line, "a stream line"))):
                                yield item
                    for line in lines.flush():
                        for item in feed(Frame("", self.decode_object(line, "a stream line"))):
                            yield item
                else:
                    decoder = SSEDecoder()
                    head = bytearray()  # the body, until it proves to be SSE
                    seen = False
                    async for data in response.aiter_bytes():
                        if done:
                            continue  # read to the end, so the connection can be reused
                        events = decoder.feed(data)
                        if not seen and not events and len(head) < _HEAD_LIMIT:
                            head += data
                        for event in events:
                            seen = True
                            if event.data == "[DONE]":
                                done = True
                                break
                            frame = Frame(event.event, self.decode_object(event.data, _EVENT))
                            for item in feed(frame):
                                yield item
                            if ended is not None and ended():
                                done = True
                                break
                    if not done:
                        for event in decoder.flush():
                            seen = True
                            frame = Frame(event.event, self.decode_object(event.data, _EVENT))
                            for item in feed(frame):
                                yield item
                    if not seen and head.strip():
                        self._unframed(bytes(head))
        for item in planned.finish(done or (ended is not None and ended())):
            yield item

    def _unframed(self, head: bytes) -> None:
        # No "data:" line at all: a plain JSON body inside a 200, as Gemini's stream
        # endpoint sends its errors (and as it does on the error statuses too).
        body = self.decode(head, "the stream")
        if isinstance(body, dict) and "error" in body:
            raise self.in_band_error(body)
        raise self.unexpected(f"the stream is not server-sent events: {head[:200]!r}")


_EVENT = "a stream event"
