"""Vertex AI adapters: Gemini (``generateContent``) and Claude (``rawPredict``) on Google Cloud.

Only the transport is Vertex's own; the wire format is not:

- ``VertexGeminiAdapter`` sends the body of ``to_gemini_request`` and reads the
  answer with ``GeminiChunkReader`` / ``from_gemini_response`` (Vertex adds
  ``trafficType``, ``createTime``, ``avgLogprobs`` and the ``partialArgs``
  function-call streaming, which that reader already takes);
- ``VertexClaudeAdapter`` sends ``to_anthropic_request`` with
  ``include_model=False`` and ``anthropic_version="vertex-2023-10-16"`` and
  reads the Messages API answer with ``AnthropicStreamReader``.

Auth is either Google credentials (``GoogleAuth``: a bearer token per call,
refreshed before it expires) or an express-mode API key (``x-goog-api-key``,
no project in the URL). Both go through the shared ``HTTPExchange``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Literal

import httpx2

from agentkit.adapter import Capabilities, ModelRequest, ModelResponse, RunWarning, StreamEvent
from agentkit.exceptions import ProviderHTTPError, UserError

from .._exchange import CallHeaders, Framing, HTTPExchange, StreamPlan
from .._plans import ChunkReader, reader_plan
from ..anthropic import (
    VERTEX_ANTHROPIC_VERSION,
    AnthropicStreamReader,
    anthropic_capabilities,
    from_anthropic_response,
    map_anthropic_error,
    to_anthropic_request,
)
from ..gemini import GeminiChunkReader, from_gemini_response, gemini_capabilities, to_gemini_request
from ..gemini._adapter import map_gemini_error
from ._auth import GoogleAuth
from ._endpoint import (
    CLAUDE_API_VERSION,
    GEMINI_API_VERSION,
    Publisher,
    vertex_host,
    vertex_model_url,
)

__all__ = ["VertexAdapter", "VertexClaudeAdapter", "VertexGeminiAdapter"]

_ErrorMap = Callable[..., ProviderHTTPError]


class _VertexBase:
    """What both Vertex adapters share: where the model is, how to authenticate, the exchange."""

    spec_version: Literal["1"] = "1"
    publisher: Publisher
    _version: str
    _methods: tuple[str, str]  # (whole answer, stream)
    _reader: Callable[..., ChunkReader]  # the stream reader's class
    _read_whole: Callable[..., ModelResponse]  # the parser of a whole answer
    _framing: Framing = "sse"

    def __init__(
        self,
        model_id: str,
        *,
        project: str | None = None,
        location: str | None = None,
        base_url: str | None = None,
        auth: GoogleAuth | None = None,
        api_key: str | None = None,
        provider: str = "vertex",
        key_variable: str | None = None,
        headers: Mapping[str, str] | None = None,
        capabilities: Capabilities | None = None,
        client: httpx2.AsyncClient | None = None,
        map_error: _ErrorMap,
    ) -> None:
        if auth is None and not api_key:
            raise UserError(f"{provider}:{model_id}: give Google credentials (auth=) or an api_key")
        self.model_id = model_id
        self.provider = provider
        self.project = project
        self.location = None if project is None and api_key else (location or "global")
        self.base_url = (base_url or vertex_host(self.location)).rstrip("/")
        self.key_variable = key_variable
        self.capabilities = capabilities or self._capabilities(model_id)
        self.auth = auth
        self._urls: tuple[str, str] | None = None
        if project is not None or api_key:
            self._urls = self._build_urls(project)

        def errors(status: int, headers: Mapping[str, str], body: Any) -> ProviderHTTPError:
            return map_error(
                provider,
                model_id,
                status,
                headers,
                body,
                key_variable=key_variable,
                base_url=self.base_url,
            )

        call_headers: CallHeaders | None = (
            auth.headers if auth is not None and not api_key else None
        )
        self._http = HTTPExchange(
            provider,
            model_id,
            self.base_url,
            headers={**(headers or {}), **({"x-goog-api-key": api_key} if api_key else {})},
            client=client,
            key_variable=key_variable,
            map_error=errors,
            call_headers=call_headers,
        )

    def __repr__(self) -> str:
        where = f"{self.project}/{self.location}" if self.project else "express mode"
        return f"{type(self).__name__}({self.provider}:{self.model_id} at {self.base_url}, {where})"

    @staticmethod
    def _capabilities(model_id: str) -> Capabilities:
        raise NotImplementedError

    def _build_urls(self, project: str | None) -> tuple[str, str]:
        model_url = vertex_model_url(
            self.base_url,
            publisher=self.publisher,
            model=self.model_id,
            project=project,
            location=self.location,
            version=self._version,
        )
        whole, stream = self._methods
        return f"{model_url}:{whole}", f"{model_url}:{stream}"

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._http.client

    async def urls(self) -> tuple[str, str]:
        """The model's ``(whole answer, stream)`` URLs; the project comes from the
        credentials when none was given (found on the first call).

        Raises:
            UserError: no project is given, set or named by the credentials.
        """
        if self._urls is None:
            assert self.auth is not None
            project = await self.auth.project()
            if not project:
                raise UserError(
                    f"{self.provider}:{self.model_id}: no Google Cloud project: pass project=, "
                    "set GOOGLE_CLOUD_PROJECT, or use credentials that name one"
                )
            self.project = project
            self._urls = self._build_urls(project)
        return self._urls

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body this adapter would send for ``request``, without sending it.

        For tools that measure a request (``agentkit tokens``); pure, no I/O.
        """
        return dict(self._body(request, stream=False)[0])

    def _parse(self, data: Any, warnings: list[RunWarning]) -> ModelResponse:
        return self._read_whole(
            data,
            provider=self.provider,
            model_id=self.model_id,
            warnings=warnings,
            key_variable=self.key_variable,
        )

    def _plan(self, request: ModelRequest) -> StreamPlan:
        body, warnings = self._body(request, True)
        reader = self._reader(
            self.provider, self.model_id, warnings=warnings, key_variable=self.key_variable
        )
        # Claude's stream ends at message_stop; what follows is read and ignored.
        ended = (lambda: reader.stopped) if isinstance(reader, AnthropicStreamReader) else None
        return reader_plan(body, reader, lambda data: self._parse(data, warnings), ended)

    def _body(
        self, request: ModelRequest, stream: bool
    ) -> tuple[Mapping[str, Any], list[RunWarning]]:
        raise NotImplementedError

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """Make one call and return the whole answer.

        Raises:
            ProviderHTTPError: an error status; ``ContentFilterError`` when the
                prompt or the answer was blocked (Gemini: status 200).
            AuthenticationError: the key or the credentials were refused.
            ProviderConnectionError: Vertex (or the token endpoint) could not be reached.
            UnexpectedResponseError: the body is not an answer.
            UnsupportedFeatureError: the request holds content the model cannot take.
            UserError: no credentials or no project could be found.
        """
        body, warnings = self._body(request, False)
        url, _ = await self.urls()
        data = await self._http.post_json(url, body, http_timeout=request.settings.timeout)
        return self._parse(data, warnings)

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Make one streaming call, yielding events as they arrive.

        Stopping early (``aclose()`` or cancelling the consumer) closes the
        HTTP response, and with it the connection, at once.

        Raises:
            The errors of ``generate``, also as an error inside the stream.
        """
        if self._urls is not None:
            return self._http.stream(
                self._urls[1],
                lambda: self._plan(request),
                framing=self._framing,
                http_timeout=request.settings.timeout,
            )
        return self._stream_late(request)

    async def _stream_late(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        _, url = await self.urls()
        events = self._http.stream(
            url,
            lambda: self._plan(request),
            framing=self._framing,
            http_timeout=request.settings.timeout,
        )
        async with contextlib.aclosing(events):
            async for event in events:
                yield event


class VertexGeminiAdapter(_VertexBase):
    """Gemini on Vertex AI (``.../publishers/google/models/{model}:generateContent``).

    Args:
        model_id: The model, e.g. ``gemini-2.5-flash``.
        project: The Google Cloud project; None: the credentials' project
            (found on the first call) or, with ``api_key``, express mode.
        location: ``us-central1``, ``global`` (the default)...
        base_url: The host to use instead of the location's (a proxy, an emulator);
            the version path (``/v1beta1``) is added unless it ends with one.
        auth: Google credentials (``GoogleAuth``); ignored with ``api_key``.
        api_key: An express-mode key, sent as ``x-goog-api-key``.
        provider: Provider name in events, errors and reasoning stamps.
        key_variable: The variable the key came from, named in auth errors.
        headers: Extra request headers (``X-Vertex-AI-LLM-Shared-Request-Type``...).
        capabilities: Override the declared capabilities (``gemini_capabilities``).
        client: An ``httpx2.AsyncClient`` to use instead of the shared pool.
    """

    publisher: Publisher = "google"
    _version = GEMINI_API_VERSION
    _methods = ("generateContent", "streamGenerateContent?alt=sse")
    _reader = GeminiChunkReader
    _read_whole = staticmethod(from_gemini_response)

    def __init__(self, model_id: str, **options: Any) -> None:
        super().__init__(model_id, map_error=map_gemini_error, **options)

    @staticmethod
    def _capabilities(model_id: str) -> Capabilities:
        return gemini_capabilities(model_id)

    def _body(
        self, request: ModelRequest, stream: bool
    ) -> tuple[Mapping[str, Any], list[RunWarning]]:
        return to_gemini_request(request, model_id=self.model_id, provider=self.provider)


class VertexClaudeAdapter(_VertexBase):
    """Claude on Vertex AI (``.../publishers/anthropic/models/{model}:rawPredict``).

    Takes the options of ``VertexGeminiAdapter`` except ``api_key`` (express
    mode serves Gemini only); the model id is Vertex's, e.g.
    ``claude-sonnet-4-5@20250929``.
    """

    publisher: Publisher = "anthropic"
    _version = CLAUDE_API_VERSION
    _methods = ("rawPredict", "streamRawPredict")
    _reader = AnthropicStreamReader
    _read_whole = staticmethod(from_anthropic_response)

    def __init__(self, model_id: str, **options: Any) -> None:
        super().__init__(model_id, map_error=map_anthropic_error, **options)

    @staticmethod
    def _capabilities(model_id: str) -> Capabilities:
        return anthropic_capabilities(model_id)

    def _body(
        self, request: ModelRequest, stream: bool
    ) -> tuple[Mapping[str, Any], list[RunWarning]]:
        return to_anthropic_request(
            request,
            model_id=self.model_id,
            stream=stream,
            provider=self.provider,
            include_model=False,
            anthropic_version=VERTEX_ANTHROPIC_VERSION,
        )


#: Either Vertex adapter.
VertexAdapter = VertexGeminiAdapter | VertexClaudeAdapter
