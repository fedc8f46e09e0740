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
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar

import anyio
import httpx2
from pydantic_core import from_json

from agentkit.adapter import (
    ModelResponse,
    NDJSONDecoder,
    SSEDecoder,
    StreamEvent,
    map_error_body,
    map_http_error,
    response_events,
    scrub_error,
)
from agentkit.exceptions import (
    AdapterError,
    ProviderConnectionError,
    ProviderTimeoutError,
    UnexpectedResponseError,
)

from ._http import TransportErrors, shared_client
from ._json import dumps
from ._send import RequestMaker, send

__all__ = [
    "ERROR_BODY_LIMIT",
    "CallHeaders",
    "ErrorMapper",
    "Frame",
    "Framing",
    "HTTPExchange",
    "StreamPlan",
    "loads",
    "secrets_in",
]

_T = TypeVar("_T")

#: How a streamed body is cut into frames.
Framing = Literal["sse", "ndjson"]

#: ``(status, headers, body) -> exception``: an adapter's translation of an error status.
ErrorMapper = Callable[[int, Mapping[str, str], Any], AdapterError]

#: ``() -> headers``, awaited before every request: credentials that expire (OAuth tokens).
CallHeaders = Callable[[], Awaitable[Mapping[str, str]]]

#: A stream that has shown no frame yet is kept up to this size, for the error.
_HEAD_LIMIT = 1 << 16
#: Parsed request URLs kept per exchange; an adapter posts to one or two.
_URLS_KEPT = 16
#: An error body is read up to this size (1 MiB): enough for any real error
#: object whole, and a bound on what a broken or hostile host makes us hold.
ERROR_BODY_LIMIT = 1 << 20


class Frame(NamedTuple):
    """One frame of a stream: the SSE ``event`` name (``""`` for NDJSON) and its JSON object."""

    # A tuple, not a frozen dataclass: one is made per streamed delta, and a
    # frozen dataclass's __init__ costs several times a tuple's.
    event: str
    data: dict[str, Any]


def loads(data: bytes | str) -> Any:
    """JSON text to Python values, as ``json.loads`` gives them.

    pydantic-core's parser does it about three times as fast on the small
    frames of a stream (a run's cost is mostly those). What it refuses (a
    lone surrogate escape, which the standard library accepts; text that is
    not JSON) goes to ``json.loads``, whose rules and errors then decide.
    """
    try:
        return from_json(data)
    except ValueError:
        return json.loads(data)


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
        secrets: Credentials to scrub from every error besides those found
            in ``headers`` (``authorization``, ``x-api-key``,
            ``x-goog-api-key``, ``api-key``), which are always scrubbed.
        call_headers: Awaited before every request; its headers are added to
            ``headers`` for that request (a bearer token refreshed before it
            expires, say), and their credentials are scrubbed like the others.
            None: ``headers`` alone.
    """

    __slots__ = (
        "_call_headers",
        "_client",
        "_make_request",
        "_map_error",
        "_recent",
        "_secrets",
        "_transport_errors",
        "_urls",
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
        secrets: Iterable[str] = (),
        call_headers: CallHeaders | None = None,
    ) -> None:
        self.provider = provider
        self.model_id = model_id
        self.base_url = base_url
        self.headers = {"content-type": "application/json", **headers}
        self.key_variable = key_variable
        self._client = client
        self._map_error = map_error
        self._transport_errors = TransportErrors(provider, model_id, base_url)
        self._secrets = (*secrets_in(self.headers), *secrets)
        self._call_headers = call_headers
        # Credentials of the last few per-call headers: a call still in flight may
        # have been sent with a token that a newer call has since replaced.
        self._recent: tuple[str, ...] = ()
        self._urls: dict[str, httpx2.URL] = {}
        self._make_request = RequestMaker()

    async def request_headers(self) -> Mapping[str, str]:
        """The headers of one request: ``headers``, plus ``call_headers()`` when given."""
        if self._call_headers is None:
            return self.headers
        extra = await self._call_headers()
        fresh = tuple(secret for secret in secrets_in(extra) if secret not in self._recent)
        if fresh:
            self._recent = (*fresh, *self._recent)[:8]
        return {**self.headers, **extra}

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential this exchange sends, for scrubbing."""
        return (*self._secrets, *self._recent) if self._recent else self._secrets

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._client or shared_client(self.provider, self.base_url)

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
            secrets=self.secrets,
        )

    def in_band_error(self, body: Mapping[str, object]) -> AdapterError:
        """The exception for an error object that came inside a 200 answer."""
        return map_error_body(
            self.provider,
            self.model_id,
            body,
            key_variable=self.key_variable,
            secrets=self.secrets,
        )

    def unexpected(self, message: str) -> UnexpectedResponseError:
        """An ``UnexpectedResponseError`` naming this provider and model."""
        return UnexpectedResponseError(message, provider=self.provider, model_id=self.model_id)

    def decode(self, data: bytes | str, what: str = "the answer") -> Any:
        """``data`` parsed as JSON.

        Raises:
            UnexpectedResponseError: it is not JSON (``what`` names it in the message).
        """
        try:
            return loads(data)
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

    def _line_object(self, line: bytes) -> dict[str, Any]:
        # decode_object's fast path, for one NDJSON line of a stream.
        try:
            value = loads(line)
        except ValueError:
            value = None
        if type(value) is dict:
            return value
        return self.decode_object(line, "a stream line")

    async def post(
        self, url: str, body: Mapping[str, object], *, http_timeout: float | None = None
    ) -> httpx2.Response:
        """POST ``body`` as JSON and return the (read) answer, which has a 2xx status.

        Args:
            url: Where to post.
            body: The request body.
            http_timeout: The call's deadline in seconds (``ModelSettings.timeout``):
                connecting, sending and reading the whole answer end within
                it. None: no deadline, only the client's per-operation limits
                (``DEFAULT_TIMEOUT``: 120 s without a byte).

        Raises:
            ProviderHTTPError: an error status (through the adapter's mapper).
            ProviderTimeoutError: the deadline or a per-operation limit was hit.
            ProviderConnectionError: the host could not be reached.
        """
        failure: AdapterError | None = None
        try:
            if http_timeout is None:
                # No deadline, no cancel scope: it would cost as much as the rest of this layer.
                return await self._post(url, body, None)
            with anyio.move_on_after(http_timeout):
                return await self._post(url, body, http_timeout)
            failure = self._past_deadline(http_timeout)
        except httpx2.TransportError as exc:
            failure = self._transport_error(exc)
        except AdapterError as exc:
            self._scrub(exc)
            raise
        # Raised here, outside the handler: the transport error holds the request,
        # headers and key included, and must not ride along as __context__.
        raise failure

    async def _post(
        self, url: str, body: Mapping[str, object], seconds: float | None
    ) -> httpx2.Response:
        # Fixed headers are not worth a coroutine of request_headers() each call.
        if self._call_headers is None:
            headers: Mapping[str, str] = self.headers
        else:
            headers = await self.request_headers()
        client = self.client
        request = self._request(url, body, seconds, headers, client)
        response = await send(client, request, checked=self._make_request.made_plain(request))
        try:
            if not 200 <= response.status_code < 300:
                raise self.error(response.status_code, response.headers, await _head(response))
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _request(
        self,
        url: str,
        body: Mapping[str, object],
        timeout: float | None,
        headers: Mapping[str, str],
        client: httpx2.AsyncClient | None = None,
    ) -> httpx2.Request:
        # What client.build_request makes, from a merge kept between calls (_send.py).
        content = dumps(body).encode()
        return self._make_request(client or self.client, self._url(url), content, headers, timeout)

    def _url(self, url: str) -> httpx2.URL:
        # An adapter posts to the same few URLs on every call, and parsing one
        # (httpx2 checks it character by character, then splits it with regular
        # expressions) cost more than the rest of building the request. The
        # parsed URL is immutable and equal to the one the client would parse
        # from the text; one that does not parse raises here, as it did there.
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = httpx2.URL(url)
            if len(self._urls) < _URLS_KEPT:
                self._urls[url] = parsed
        return parsed

    async def post_json(
        self, url: str, body: Mapping[str, object], *, http_timeout: float | None = None
    ) -> Any:
        """POST ``body`` as JSON and return the answer's JSON.

        Raises:
            ProviderHTTPError: an error status.
            ProviderTimeoutError: the deadline (``http_timeout``) or a limit was hit.
            ProviderConnectionError: the host could not be reached.
            UnexpectedResponseError: the answer is not JSON.
        """
        if http_timeout is not None:
            response = await self.post(url, body, http_timeout=http_timeout)
            return self.decode(response.content)
        # post() without a deadline, inline: one coroutine less on every call.
        try:
            response = await self._post(url, body, None)
        except httpx2.TransportError as exc:
            failure = self._transport_error(exc)
        except AdapterError as exc:
            self._scrub(exc)
            raise
        else:
            return self.decode(response.content)
        raise failure  # outside the handler, as in post()

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
            http_timeout: The call's deadline in seconds (``ModelSettings.timeout``),
                from connecting to the last byte: a stream that trickles
                keep-alives still ends. None: no deadline, only the client's
                per-operation limits.

        Yields:
            The stream's events, ending with the reader's ``finish``.

        Raises:
            ProviderHTTPError: an error status, or an error object in place of a stream.
            ProviderTimeoutError: the deadline or a per-operation limit was hit.
            ProviderConnectionError: the host could not be reached or the
                connection broke.
            UnexpectedResponseError: a frame is not a JSON object or not UTF-8,
                or the body is not the framing asked for.
        """
        planned = plan()
        body, feed, ended = planned.body, planned.feed, planned.ended
        deadline = None if not http_timeout else anyio.current_time() + http_timeout
        done = False
        failure: AdapterError | None = None
        try:
            if self._call_headers is None:
                headers: Mapping[str, str] = self.headers
            else:
                headers = await self._within(deadline, http_timeout, self.request_headers())
            client = self.client
            request = self._request(url, body, http_timeout, headers, client)
            sent = send(client, request, checked=self._make_request.made_plain(request))
            response = await self._within(deadline, http_timeout, sent)
            try:
                if not 200 <= response.status_code < 300:
                    text = await self._within(deadline, http_timeout, _head(response))
                    raise self.error(response.status_code, response.headers, text)
                if response.headers.get("content-type", "").startswith("application/json"):
                    await self._within(deadline, http_timeout, response.aread())
                    for item in response_events(planned.whole(self.decode(response.content))):
                        yield item
                    return
                chunks: AsyncIterator[bytes] = response.aiter_bytes()
                if deadline is not None:
                    chunks = self._until(deadline, http_timeout, chunks)
                # The decoders are driven inline rather than through a generator of
                # frames: one async generator less per chunk.
                if framing == "ndjson":
                    lines = NDJSONDecoder()
                    async for data in chunks:
                        for line in lines.feed(data):
                            for item in feed(Frame("", self._line_object(line))):
                                yield item
                    for line in lines.flush():
                        for item in feed(Frame("", self._line_object(line))):
                            yield item
                else:
                    decoder = SSEDecoder()
                    head = bytearray()  # the body, until it proves to be SSE
                    seen = False
                    async for data in chunks:
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
                            try:
                                # loads() inline (one call less per frame): pydantic-core,
                                # then the standard library for what it refuses.
                                value = from_json(event.data)
                            except ValueError:
                                try:
                                    value = json.loads(event.data)
                                except ValueError:
                                    value = None
                            if type(value) is not dict:  # not JSON, or not an object: say so
                                value = self.decode_object(event.data, _EVENT)
                            for item in feed(Frame(event.event, value)):
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
            finally:
                await response.aclose()
        except httpx2.TransportError as exc:
            failure = self._transport_error(exc)
        except UnicodeDecodeError as exc:
            failure = self.unexpected(
                f"a stream line is not valid UTF-8 ({exc.reason} at byte {exc.start}: "
                f"{exc.object[max(0, exc.start - 20) : exc.end + 20]!r})"
            )
        except AdapterError as exc:
            self._scrub(exc)
            raise
        if failure is not None:
            raise failure
        for item in planned.finish(done or (ended is not None and ended())):
            yield item

    async def _within(
        self, deadline: float | None, seconds: float | None, step: Awaitable[_T]
    ) -> _T:
        """``await step``, unless the call's deadline passes first."""
        if deadline is None:
            return await step
        with anyio.CancelScope(deadline=deadline):
            return await step
        raise self._past_deadline(seconds)

    async def _until(
        self, deadline: float, seconds: float | None, chunks: AsyncIterator[bytes]
    ) -> AsyncGenerator[bytes]:
        # Each wait for a chunk is bounded by the deadline, not the stream as a
        # whole: a cancel scope must not stay open across a yield to the consumer.
        while True:
            data: bytes | None = None
            with anyio.CancelScope(deadline=deadline) as scope:
                data = await anext(chunks, None)
            if scope.cancelled_caught:
                raise self._past_deadline(seconds)
            if data is None:
                return
            yield data

    def _past_deadline(self, timeout: float | None) -> ProviderTimeoutError:
        return ProviderTimeoutError(
            f"timed out: no complete answer from {self.base_url} within the call's "
            f"deadline of {timeout:g} s (ModelSettings.timeout, connect to last byte)",
            provider=self.provider,
            model_id=self.model_id,
            limit="deadline",
            seconds=timeout or 0.0,
        )

    def _transport_error(self, exc: httpx2.TransportError) -> ProviderConnectionError:
        error = self._transport_errors.translate(exc)
        self._scrub(error)
        return error

    def _scrub(self, error: AdapterError) -> None:
        # The last line of defence: whatever a mapper or a reader built from the
        # provider's answer, the key the request carried does not leave.
        secrets = self.secrets
        if secrets:
            scrub_error(error, secrets)

    def _unframed(self, head: bytes) -> None:
        # No "data:" line at all: a plain JSON body inside a 200, as Gemini's stream
        # endpoint sends its errors (and as it does on the error statuses too).
        body = self.decode(head, "the stream")
        if isinstance(body, dict) and "error" in body:
            raise self.in_band_error(body)
        raise self.unexpected(f"the stream is not server-sent events: {head[:200]!r}")


async def _head(response: httpx2.Response) -> bytes:
    """Up to ``ERROR_BODY_LIMIT`` bytes of an error body; the rest is never read.

    A 50 MB error page is not worth 50 MB of memory; the mapper counts what
    was left out from ``Content-Length``.
    """
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= ERROR_BODY_LIMIT:
            break
    return bytes(data[:ERROR_BODY_LIMIT])


def secrets_in(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The credentials among ``headers``: whole values, and the token after ``Bearer``."""
    found: list[str] = []
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS and value:
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token.strip() and scheme.lower() in ("bearer", "basic", "token"):
                found.append(token.strip())
    return tuple(found)


#: Headers whose values are credentials, scrubbed from every error.
_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key"}
)

_EVENT = "a stream event"
