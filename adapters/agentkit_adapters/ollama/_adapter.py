"""``OllamaAdapter``: one ``POST /api/chat`` call over httpx2, JSON or NDJSON.

Everything here is configuration: the body comes from ``to_ollama_request``,
the answer goes through ``from_ollama_response`` or ``OllamaChunkReader``, and
the HTTP exchange through the shared ``HTTPExchange`` (errors through
``map_ollama_error``). The adapter never retries, loops, runs tools or
prices tokens.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import AsyncIterator, Mapping
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
from agentkit.adapter import NDJSONDecoder
from agentkit.exceptions import AdapterError, UserError

from .._exchange import HTTPExchange, StreamPlan
from .._plans import reader_plan
from ._convert import to_ollama_request
from ._parse import OllamaChunkReader, from_ollama_response, map_ollama_error
from ._wire import OllamaChatRequest

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

        def map_error(status: int, headers: Mapping[str, str], body: Any) -> AdapterError:
            return map_ollama_error(provider, model_id, status, headers, body, base_url=self.host)

        auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = HTTPExchange(
            provider,
            model_id,
            self.host,
            headers={**(headers or {}), **auth},
            client=client,
            map_error=map_error,
        )

    def __repr__(self) -> str:
        return f"OllamaAdapter({self.provider}:{self.model_id} at {self.host})"

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._http.client

    def _body(
        self, request: ModelRequest, stream: bool
    ) -> tuple[OllamaChatRequest, list[RunWarning]]:
        return to_ollama_request(
            request, model_id=self.model_id, stream=stream, provider=self.provider
        )

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body this adapter would send for ``request``, without sending it.

        For tools that measure a request (``agentkit tokens``); pure, no I/O.
        """
        return dict(self._body(request, stream=False)[0])

    def _parse(self, data: Any, warnings: list[RunWarning]) -> ModelResponse:
        return from_ollama_response(
            data, provider=self.provider, model_id=self.model_id, warnings=warnings
        )

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
        body, warnings = self._body(request, stream=False)
        response = await self._http.post(self._url, body, http_timeout=request.settings.timeout)
        try:
            data = json.loads(response.content)
        except ValueError:
            return self._fold(response.content, warnings)
        return self._parse(data, warnings)

    def _fold(self, content: bytes, warnings: list[RunWarning]) -> ModelResponse:
        # A server that streamed anyway: fold its lines into one answer.
        lines = NDJSONDecoder().feed(content + b"\n")
        if len(lines) < 2:
            return self._parse(self._http.decode(content), warnings)  # raises: not JSON
        reader = OllamaChunkReader(self.provider, self.model_id, warnings=warnings)
        for line in lines:
            reader.feed(self._http.decode_object(line, "a stream line"))
        end = reader.finish()[-1]
        assert isinstance(end, ResponseEndEvent)
        return end.response

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
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
        return self._http.stream(
            self._url,
            lambda: self._stream_plan(request),
            framing="ndjson",
            http_timeout=request.settings.timeout,
        )

    def _stream_plan(self, request: ModelRequest) -> StreamPlan:
        body, warnings = self._body(request, stream=True)
        reader = OllamaChunkReader(self.provider, self.model_id, warnings=warnings)
        return reader_plan(body, reader, lambda data: self._parse(data, warnings))


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
