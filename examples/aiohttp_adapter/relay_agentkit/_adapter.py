"""``RelayAdapter``: one Chat Completions call to the Relay gateway over aiohttp.

The wire is OpenAI's, so the body comes from agentkit's pure converter
(``to_openai_request``) and the answer goes back through ``from_openai_response``
or ``OpenAIChunkReader``; everything here is transport, on aiohttp rather than
the httpx2 agentkit's own adapters use. The adapter never retries: a failed
call raises, and the runner decides whether to call again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

import aiohttp
from agentkit_adapters.openai import OpenAIChunkReader, from_openai_response, to_openai_request

from agentkit.adapter import (
    Capabilities,
    ModelRequest,
    ModelResponse,
    RunWarning,
    SSEDecoder,
    SSEEvent,
    StreamEvent,
    map_http_error,
    response_events,
)
from agentkit.exceptions import ProviderHTTPError, UnexpectedResponseError

from ._session import ConnectionErrors, loop_session, request_timeout

__all__ = ["DEFAULT_BASE_URL", "RELAY_CAPABILITIES", "RelayAdapter"]

DEFAULT_BASE_URL = "https://api.relay.example/v1"

#: What the adapter and the gateway honour together. Relay forwards the whole
#: Chat Completions request (tools, every tool choice, JSON-schema output,
#: image parts) and reports usage in streams; it strips reasoning, so none is
#: claimed. ``timeout`` is the adapter's own (aiohttp's socket timeouts).
RELAY_CAPABILITIES = Capabilities(
    image_input=True,
    reasoning=False,
    usage_in_stream=True,
    settings=frozenset(
        {
            "max_tokens",
            "temperature",
            "top_p",
            "stop",
            "seed",
            "parallel_tool_calls",
            "timeout",
            "extra",
        }
    ),
)


class RelayAdapter:
    """Relay's ``POST {base_url}/chat/completions``, JSON or SSE, on aiohttp.

    Args:
        model_id: The model Relay routes to, e.g. ``relay-1``.
        api_key: Sent as ``Authorization: Bearer``.
        base_url: The API root, up to and including ``/v1``.
        headers: Extra request headers (they win over ours).
        session: An ``aiohttp.ClientSession`` of the caller's, used instead of
            the loop's own (and never closed by the adapter).
    """

    spec_version: Literal["1"] = "1"
    provider = "relay"
    key_variable = "RELAY_API_KEY"

    def __init__(
        self,
        model_id: str,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.model_id = model_id
        self.base_url = base_url.rstrip("/")
        self.capabilities = RELAY_CAPABILITIES
        self._url = f"{self.base_url}/chat/completions"
        self._headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {api_key}",
            **(headers or {}),
        }
        self._session = session
        self._errors = ConnectionErrors(self.provider, model_id, self.base_url)

    def __repr__(self) -> str:
        return f"RelayAdapter(relay:{self.model_id} at {self.base_url})"

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session for this call: the one given, else the running loop's own."""
        return self._session or loop_session(self.provider)

    def _body(self, request: ModelRequest, *, stream: bool) -> tuple[bytes, list[RunWarning]]:
        body, warnings = to_openai_request(
            request, model_id=self.model_id, stream=stream, provider=self.provider
        )
        return json.dumps(body).encode(), warnings

    def _post(
        self, request: ModelRequest, content: bytes, accept: str
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        return self.session.post(
            self._url,
            data=content,
            headers={**self._headers, "accept": accept},
            timeout=request_timeout(request.settings.timeout),
        )

    async def _error(self, response: aiohttp.ClientResponse) -> ProviderHTTPError:
        # The headers are case-insensitive (a CIMultiDictProxy), as
        # map_http_error needs for Retry-After.
        return map_http_error(
            self.provider,
            self.model_id,
            response.status,
            response.headers,
            await response.read(),
            key_variable=self.key_variable,
            base_url=self.base_url,
        )

    def _unexpected(self, message: str) -> UnexpectedResponseError:
        return UnexpectedResponseError(message, provider=self.provider, model_id=self.model_id)

    def _parse_json(self, raw: bytes, warnings: list[RunWarning]) -> ModelResponse:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise self._unexpected(f"the response is not JSON: {raw[:200]!r}") from exc
        return from_openai_response(
            data, provider=self.provider, model_id=self.model_id, warnings=warnings
        )

    def _chunk(self, event: SSEEvent) -> dict[str, Any]:
        try:
            chunk = json.loads(event.data)
        except ValueError as exc:
            raise self._unexpected(f"a stream event is not JSON: {event.data[:200]!r}") from exc
        if not isinstance(chunk, dict):
            raise self._unexpected(f"a stream event is not an object: {event.data[:200]!r}")
        if event.event == "error":
            # A failure after the 200 went out: reported as an event, mapped as an error.
            raise map_http_error(self.provider, self.model_id, 200, {}, chunk)
        return chunk

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """Make one call and return the whole answer.

        Raises:
            ProviderHTTPError: Relay answered with an error status.
            ProviderConnectionError: Relay could not be reached, or timed out.
            UnexpectedResponseError: the body is not a chat completion.
            UnsupportedFeatureError: the request holds content Chat Completions cannot carry.
        """
        content, warnings = self._body(request, stream=False)
        with self._errors:
            async with self._post(request, content, "application/json") as response:
                if not 200 <= response.status < 300:
                    raise await self._error(response)
                raw = await response.read()
        return self._parse_json(raw, warnings)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Make one streaming call, yielding events as the SSE chunks arrive.

        Stopping early (``aclose()``, or cancelling the consumer) closes the
        response, and with it the connection, at once: the gateway sees the
        client leave and stops generating.

        Raises:
            ProviderHTTPError: an error status, or an error event inside the stream.
            ProviderConnectionError: Relay could not be reached, timed out, or the
                connection broke mid-stream.
            UnexpectedResponseError: a chunk is not JSON, or the stream was cut short.
            UnsupportedFeatureError: the request holds content Chat Completions cannot carry.
        """
        content, warnings = self._body(request, stream=True)
        reader = OpenAIChunkReader(self.provider, self.model_id, warnings=warnings)
        done = False
        with self._errors:
            async with self._post(request, content, "text/event-stream") as response:
                if not 200 <= response.status < 300:
                    raise await self._error(response)
                if response.content_type == "application/json":
                    # A gateway that ignored "stream": one whole answer, replayed as events.
                    whole = self._parse_json(await response.read(), warnings)
                    for item in response_events(whole):
                        yield item
                    return
                finished = False
                try:
                    decoder = SSEDecoder()
                    async for data in response.content.iter_any():
                        if done:
                            continue  # read to the end, so the connection can be reused
                        for event in decoder.feed(data):
                            if event.data == "[DONE]":
                                done = True
                                break
                            for item in reader.feed(self._chunk(event)):
                                yield item
                    if not done:
                        for event in decoder.flush():
                            for item in reader.feed(self._chunk(event)):
                                yield item
                    finished = True
                finally:
                    if not finished:
                        # The consumer left (aclose, cancel) or a chunk was bad: drop
                        # the connection now. aiohttp's release would also refuse to
                        # pool a half-read one, but that is its heuristic, not our rule.
                        response.close()
        for item in reader.finish(done=done):
            yield item
