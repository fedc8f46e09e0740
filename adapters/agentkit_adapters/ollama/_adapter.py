"""``OllamaAdapter``: one ``POST /api/chat`` call over httpx2, JSON or NDJSON.

Everything here is transport: the body comes from ``to_ollama_request``, the
answer goes through ``from_ollama_response`` or ``OllamaChunkReader``, and
errors through ``map_ollama_error`` on top of the shared seam in
``agentkit_adapters._http``. The adapter never retries, loops, runs tools or
prices tokens.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx2

from agentkit import (
    Capabilities,
    ModelRequest,
    ModelResponse,
    ResponseEndEvent,
    RunWarning,
    StreamEvent,
)
from agentkit.adapter import response_events
from agentkit.exceptions import AdapterError, UnexpectedResponseError, UserError

from .._http import TransportErrors, shared_client
from ._convert import to_ollama_request
from ._parse import OllamaChunkReader, from_ollama_response, map_ollama_error

__all__ = [
    "DEFAULT_HOST",
    "OLLAMA_CAPABILITIES",
    "OllamaAdapter",
    "create_ollama_adapter",
    "resolve_ollama_host",
]

DEFAULT_HOST = "http://127.0.0.1:11434"

#: What the native API offers: no tool_choice at all (``none`` is honoured by
#: sending no tools), tool calls that arrive whole, and usage on every stream.
OLLAMA_CAPABILITIES = Capabilities(
    tools=True,
    parallel_tool_calls=True,
    tool_choice=frozenset({"auto", "none"}),
    structured_output=frozenset({"native", "prompted"}),
    streaming=True,
    tool_call_streaming=False,
    usage_in_stream=True,
    image_input=True,
    reasoning=True,
    settings=frozenset(
        {
            "max_tokens",
            "temperature",
            "top_p",
            "stop",
            "seed",
            "reasoning_effort",
            "timeout",
            "extra",
        }
    ),
)


def resolve_ollama_host(value: str | None) -> str:
    """An ``OLLAMA_HOST`` value read the way Ollama's own clients read it.

    ``host``, ``host:port``, ``:port`` and ``scheme://host[:port][/path]`` are
    all accepted; the scheme defaults to ``http`` and the port to 11434 (80 or
    443 when a scheme is given without one). A wildcard bind address
    (``0.0.0.0``, ``::``), which people set so the *server* listens
    everywhere, is reached through loopback.

    Args:
        value: The variable's value; None or empty means the default.

    Returns:
        A base URL without a trailing slash, like ``http://127.0.0.1:11434``.
    """
    text = (value or "").strip()
    scheme, sep, rest = text.partition("://")
    port = 11434
    if not sep:
        scheme, rest = "http", text
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        host = parts.hostname or "127.0.0.1"
        port = parts.port or port
    except ValueError:  # a port that is not a number: keep the default, as Ollama does
        parts = urlsplit(f"{scheme}://{rest.rpartition(':')[0]}")
        host = parts.hostname or "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and address.is_unspecified:
        host = "127.0.0.1" if address.version == 4 else "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{parts.path.rstrip('/')}"


def _lines(body: bytes) -> Iterator[bytes]:
    for line in body.split(b"\n"):
        line = line.strip()
        if line:
            yield line


class OllamaAdapter:
    """Ollama's native chat API (``POST {host}/api/chat``), streaming NDJSON.

    Args:
        model_id: The model to ask, e.g. ``llama3.2`` or ``qwen3:8b``.
        host: The server's root URL (see ``resolve_ollama_host``).
        api_key: Sent as ``Authorization: Bearer`` (ollama.com's hosted API);
            a local server needs none.
        headers: Extra request headers (a reverse proxy's, say).
        provider: Provider name in events, errors and usage keys.
        capabilities: Override the declared capabilities.
        client: An ``httpx2.AsyncClient`` to use instead of the shared pool.
    """

    spec_version: Literal["1"] = "1"

    def __init__(
        self,
        model_id: str,
        *,
        host: str = DEFAULT_HOST,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        provider: str = "ollama",
        capabilities: Capabilities | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model_id = model_id
        self.provider = provider
        self.host = host.rstrip("/")
        self.capabilities = capabilities or OLLAMA_CAPABILITIES
        self._url = f"{self.host}/api/chat"
        self._headers = {"content-type": "application/json", **(headers or {})}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._client = client
        self._transport_errors = TransportErrors(provider, model_id, self.host)

    def __repr__(self) -> str:
        return f"OllamaAdapter({self.provider}:{self.model_id} at {self.host})"

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._client or shared_client(self.provider, self.host)

    def _body(self, request: ModelRequest, stream: bool) -> tuple[bytes, list[RunWarning]]:
        body, warnings = to_ollama_request(
            request, model_id=self.model_id, stream=stream, provider=self.provider
        )
        return json.dumps(body).encode(), warnings

    def _error(self, response: httpx2.Response) -> AdapterError:
        return map_ollama_error(
            self.provider,
            self.model_id,
            response.status_code,
            response.headers,
            response.content,
            base_url=self.host,
        )

    def _unexpected(self, message: str) -> UnexpectedResponseError:
        return UnexpectedResponseError(message, provider=self.provider, model_id=self.model_id)

    def _object(self, line: bytes) -> dict[str, Any]:
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise self._unexpected(f"a line is not JSON: {line[:200]!r}") from exc
        if not isinstance(value, dict):
            raise self._unexpected(f"a line is not a JSON object: {line[:200]!r}")
        return value

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """Make one call (``stream: false``) and return the whole answer.

        Raises:
            ProviderHTTPError: the server answered with an error status.
            ModelNotFoundError: the model is not pulled (the message says how to).
            UnsupportedFeatureError: the model cannot do what the request needs
                (tools, thinking), or the request holds content Ollama cannot carry.
            ProviderConnectionError: the server could not be reached.
            UnexpectedResponseError: the body is not an Ollama answer.
        """
        content, warnings = self._body(request, stream=False)
        timeout = request.settings.timeout or httpx2.USE_CLIENT_DEFAULT
        with self._transport_errors:
            response = await self.client.post(
                self._url, content=content, headers=self._headers, timeout=timeout
            )
        if not 200 <= response.status_code < 300:
            raise self._error(response)
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            if b"\n" not in response.content.strip():
                raise self._unexpected(f"the answer is not JSON: {response.text[:200]!r}") from exc
            # A server that streamed anyway: fold its lines into one answer.
            reader = OllamaChunkReader(self.provider, self.model_id, warnings=warnings)
            for line in _lines(response.content):
                reader.feed(self._object(line))
            end = reader.finish()[-1]
            assert isinstance(end, ResponseEndEvent)
            return end.response
        return from_ollama_response(
            data, provider=self.provider, model_id=self.model_id, warnings=warnings
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Make one streaming call, yielding events as NDJSON lines arrive.

        Stopping early (``aclose()`` or cancelling the consumer) closes the
        HTTP response, and with it the connection, at once.

        Raises:
            ProviderHTTPError: an error status, or an error line inside the stream.
            ModelNotFoundError: the model is not pulled.
            UnsupportedFeatureError: the model cannot do what the request needs.
            ProviderConnectionError: the server could not be reached or the
                connection broke.
            UnexpectedResponseError: a line is not JSON, or the stream was cut short.
        """
        content, warnings = self._body(request, stream=True)
        timeout = request.settings.timeout or httpx2.USE_CLIENT_DEFAULT
        reader = OllamaChunkReader(self.provider, self.model_id, warnings=warnings)
        with self._transport_errors:
            async with self.client.stream(
                "POST", self._url, content=content, headers=self._headers, timeout=timeout
            ) as response:
                if not 200 <= response.status_code < 300:
                    await response.aread()
                    raise self._error(response)
                if response.headers.get("content-type", "").startswith("application/json"):
                    # One whole answer (a proxy that ignores "stream"), replayed as events.
                    await response.aread()
                    whole = from_ollama_response(
                        self._object(response.content),
                        provider=self.provider,
                        model_id=self.model_id,
                        warnings=warnings,
                    )
                    for item in response_events(whole):
                        yield item
                    return
                buffer = b""
                async for data in response.aiter_bytes():
                    buffer += data
                    if b"\n" not in buffer:
                        continue
                    *complete, buffer = buffer.split(b"\n")
                    for line in complete:
                        if line.strip():
                            for item in reader.feed(self._object(line)):
                                yield item
                if buffer.strip():
                    for item in reader.feed(self._object(buffer)):
                        yield item
        for item in reader.finish():
            yield item


def create_ollama_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
) -> OllamaAdapter:
    """The ``ollama`` entry point: ``ollama:<model>`` on the server at ``OLLAMA_HOST``.

    No key is needed for a local server; ``OLLAMA_API_KEY``, when set, is sent
    as a bearer token (for ollama.com's hosted API, ``OLLAMA_HOST=https://ollama.com``).
    Options win over the variables, which only supply defaults.

    Args:
        model_id: The model named after ``ollama:``, e.g. ``llama3.2``.
        base_url: The server, in any ``OLLAMA_HOST`` syntax (``host:port``, a URL).
        api_key: A bearer token, instead of ``OLLAMA_API_KEY``.
        headers: Extra request headers.
        http_client: A client of your own instead of the shared pool.

    Returns:
        The adapter.

    Raises:
        UserError: no model is named.
    """
    if not model_id:
        raise UserError(
            "no Ollama model named: write it as ollama:<model>, e.g. ollama:llama3.2 "
            "(`ollama list` shows the models you have)"
        )
    return OllamaAdapter(
        model_id,
        host=resolve_ollama_host(base_url or os.environ.get("OLLAMA_HOST")),
        api_key=api_key or os.environ.get("OLLAMA_API_KEY") or None,
        headers=headers,
        client=http_client,
    )


create_ollama_adapter.wire_protocol = "ollama"  # type: ignore[attr-defined]
