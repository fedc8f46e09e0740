"""``GeminiAdapter``: one ``generateContent`` call, JSON or SSE.

Everything here is configuration: the body comes from ``to_gemini_request``,
the answer goes through ``GeminiChunkReader``, and the HTTP exchange (errors,
framing, a plain JSON error inside a 200 stream) through the shared
``HTTPExchange``. The adapter never retries, loops, runs tools or prices tokens.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import httpx2

from agentkit import Capabilities, ModelRequest, ModelResponse, RunWarning, StreamEvent
from agentkit.adapter import map_http_error, prompt_cache_of
from agentkit.exceptions import (
    BadRequestError,
    ContextLengthError,
    ProviderHTTPError,
    UserError,
)

from .._exchange import HTTPExchange, StreamPlan
from .._plans import reader_plan
from ._caching import (
    DEFAULT_TTL,
    cached_content_body,
    fixed_prefix,
    prefix_digest,
    prefix_tokens,
    with_cached_content,
)
from ._convert import to_gemini_request
from ._parse import GeminiChunkReader, from_gemini_response
from ._profile import gemini_capabilities
from ._wire import GenerateContentRequest

__all__ = ["DEFAULT_BASE_URL", "GeminiAdapter", "create_gemini_adapter"]

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"

_VERSIONED = re.compile(r"/v1(alpha|beta)?\d*$")
#: Gemini's words for a prompt over the context window (a plain 400 INVALID_ARGUMENT).
_TOO_LONG = re.compile(r"input token count .* exceeds the maximum", re.IGNORECASE)


def map_gemini_error(
    provider: str,
    model_id: str,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    key_variable: str | None = None,
    base_url: str | None = None,
) -> ProviderHTTPError:
    """``map_http_error``, plus Gemini's plain 400 for a prompt over the context window."""
    error = map_http_error(
        provider, model_id, status, headers, body, key_variable=key_variable, base_url=base_url
    )
    if type(error) is BadRequestError and _TOO_LONG.search(str(error)):
        return ContextLengthError(
            f"the conversation does not fit the model's context window: {error} "
            "(shorten the history or choose a model with a larger window)",
            provider=provider,
            model_id=model_id,
            status_code=status,
            body=error.body,
            code=error.code,
        )
    return error


class GeminiAdapter:
    """The Gemini API (``POST {base}/v1beta/models/{model}:generateContent``).

    Args:
        model_id: The model to ask, e.g. ``gemini-2.5-flash`` (a ``models/``
            prefix is accepted).
        api_key: Sent as ``x-goog-api-key``; None sends no key (a proxy that adds it).
        base_url: The API root; the version (``/v1beta``) is added unless the
            URL already ends with one.
        provider: Provider name in events, errors and reasoning stamps.
        key_variable: The environment variable the key came from, named in
            authentication errors.
        headers: Extra request headers.
        capabilities: Override the declared capabilities (by default those of
            ``model_id``: ``gemini_capabilities``).
        client: An ``httpx2.AsyncClient`` to use instead of the shared pool.
    """

    spec_version: Literal["1"] = "1"

    def __init__(
        self,
        model_id: str,
        *,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        provider: str = "gemini",
        key_variable: str | None = "GEMINI_API_KEY",
        headers: Mapping[str, str] | None = None,
        capabilities: Capabilities | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model_id = model_id.removeprefix("models/")
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.key_variable = key_variable
        self.capabilities = capabilities or gemini_capabilities(self.model_id)
        root = self.base_url if _VERSIONED.search(self.base_url) else f"{self.base_url}/v1beta"
        model_url = f"{root}/models/{self.model_id}"
        self._generate_url = f"{model_url}:generateContent"
        self._stream_url = f"{model_url}:streamGenerateContent?alt=sse"
        self._caches_url = f"{root}/cachedContents"
        #: Explicit cached contents made by this adapter: prefix digest -> (name, expiry).
        self.cached_contents: dict[str, tuple[str, float]] = {}

        def map_error(status: int, headers: Mapping[str, str], body: Any) -> ProviderHTTPError:
            return map_gemini_error(
                provider,
                self.model_id,
                status,
                headers,
                body,
                key_variable=key_variable,
                base_url=self.base_url,
            )

        self._http = HTTPExchange(
            provider,
            self.model_id,
            self.base_url,
            headers={**(headers or {}), **({"x-goog-api-key": api_key} if api_key else {})},
            client=client,
            key_variable=key_variable,
            map_error=map_error,
        )

    def __repr__(self) -> str:
        return f"GeminiAdapter({self.provider}:{self.model_id} at {self.base_url})"

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._http.client

    def _body(self, request: ModelRequest) -> tuple[GenerateContentRequest, list[RunWarning]]:
        return to_gemini_request(request, model_id=self.model_id, provider=self.provider)

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body this adapter would send for ``request``, without sending it.

        For tools that measure a request (``agentkit tokens``); pure, no I/O.
        """
        return dict(self._body(request)[0])

    def _parse(self, data: Any, warnings: list[RunWarning]) -> ModelResponse:
        return from_gemini_response(
            data,
            provider=self.provider,
            model_id=self.model_id,
            warnings=warnings,
            key_variable=self.key_variable,
        )

    async def _cached(
        self, request: ModelRequest, body: GenerateContentRequest, warnings: list[RunWarning]
    ) -> GenerateContentRequest:
        """``body``, naming an explicit cached content when the prefix is long enough for one.

        The cached content is created on the first call with a given prefix
        (said in a warning of kind ``other``, feature ``prompt_cache``) and
        reused until shortly before its TTL runs out. Shorter prefixes are
        left to Gemini's implicit cache: nothing is sent for them.
        """
        cache = prompt_cache_of(request.settings)
        if cache is None:
            return body
        prefix = fixed_prefix(body)
        tokens = prefix_tokens(prefix)
        if not prefix or tokens < cache.explicit_min_tokens:
            return body
        digest = prefix_digest(self.model_id, prefix)
        ttl = cache.ttl or DEFAULT_TTL
        now = time.monotonic()
        known = self.cached_contents.get(digest)
        if known is None or known[1] <= now:
            created = await self._http.post_json(
                self._caches_url,
                cached_content_body(self.model_id, prefix, ttl),
                http_timeout=request.settings.timeout,
            )
            name = created.get("name") if isinstance(created, dict) else None
            if not isinstance(name, str):
                warnings.append(
                    RunWarning(
                        kind="other",
                        feature="prompt_cache",
                        provider=self.provider,
                        message="Gemini created no named cached content; the prefix was sent "
                        "whole (implicit caching still applies)",
                    )
                )
                return body
            # A margin, so a call never names a cache that expires on the way.
            known = (name, now + ttl - min(60, ttl / 10))
            self.cached_contents[digest] = known
            warnings.append(
                RunWarning(
                    kind="other",
                    feature="prompt_cache",
                    provider=self.provider,
                    message=f"the fixed prefix (about {tokens} tokens of instructions and "
                    f"tools) is stored as Gemini cached content {name} for {ttl} s; "
                    "calls with the same prefix name it instead of sending it",
                )
            )
        return with_cached_content(body, known[0])  # type: ignore[return-value]

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """Make one call and return the whole answer.

        Raises:
            ProviderHTTPError: an error status; ``ContentFilterError`` (status
                200) when the prompt or the answer was blocked.
            ProviderConnectionError: the provider could not be reached.
            UnexpectedResponseError: the body is not an answer.
            UnsupportedFeatureError: the request holds content Gemini cannot carry.
            SchemaCompileError: a schema would change and lossy changes are not allowed.
        """
        body, warnings = self._body(request)
        body = await self._cached(request, body, warnings)
        data = await self._http.post_json(
            self._generate_url, body, http_timeout=request.settings.timeout
        )
        return self._parse(data, warnings)

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Make one streaming call (``alt=sse``), yielding events as chunks arrive.

        Stopping early (``aclose()`` or cancelling the consumer) closes the
        HTTP response, and with it the connection, at once.

        Raises:
            ProviderHTTPError: an error status (whatever the content type says:
                case ``error_400_api_key_invalid_stream`` is plain JSON labelled
                ``text/event-stream``), or an error inside the stream.
            ProviderConnectionError: the provider could not be reached or the
                connection broke.
            UnexpectedResponseError: a chunk is not JSON, or the stream was cut short.
            UnsupportedFeatureError: the request holds content Gemini cannot carry.
            SchemaCompileError: a schema would change and lossy changes are not allowed.
        """
        if prompt_cache_of(request.settings) is None:
            return self._http.stream(
                self._stream_url,
                lambda: self._stream_plan(request),
                framing="sse",
                http_timeout=request.settings.timeout,
            )
        return self._stream_cached(request)

    async def _stream_cached(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        body, warnings = self._body(request)
        body = await self._cached(request, body, warnings)
        async for event in self._http.stream(
            self._stream_url,
            lambda: self._stream_plan(request, (body, warnings)),
            framing="sse",
            http_timeout=request.settings.timeout,
        ):
            yield event

    def _stream_plan(
        self,
        request: ModelRequest,
        built: tuple[GenerateContentRequest, list[RunWarning]] | None = None,
    ) -> StreamPlan:
        body, warnings = built or self._body(request)
        reader = GeminiChunkReader(
            self.provider, self.model_id, warnings=warnings, key_variable=self.key_variable
        )
        return reader_plan(body, reader, lambda data: self._parse(data, warnings))


def create_gemini_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
) -> GeminiAdapter:
    """The ``gemini`` entry point: ``gemini:<model>`` with ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``.

    Options win over the environment, which only supplies defaults:
    ``GEMINI_API_KEY`` is read first, then ``GOOGLE_API_KEY``;
    ``GEMINI_BASE_URL`` points it at another host (a proxy, a gateway) when
    no ``base_url`` is given.

    Args:
        model_id: The model named after ``gemini:``.
        base_url: The API root; ``/v1beta`` is added unless it ends with a version.
        api_key: The key, instead of the variables.
        headers: Extra request headers.
        http_client: A client of your own instead of the shared pool.

    Returns:
        The adapter.

    Raises:
        UserError: no key is given or set, or no model is named.
    """
    if not model_id:
        raise UserError(
            "no Gemini model named: write it as gemini:<model>, e.g. gemini:gemini-2.5-flash"
        )
    variable: str | None = None
    if not api_key:
        for variable in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
            api_key = os.environ.get(variable)
            if api_key:
                break
        else:
            raise UserError(
                f"neither GEMINI_API_KEY nor GOOGLE_API_KEY is set: export one to use "
                f"gemini:{model_id} (keys are at https://aistudio.google.com/apikey), "
                "or choose another provider"
            )
    return GeminiAdapter(
        model_id,
        api_key=api_key,
        base_url=base_url or os.environ.get("GEMINI_BASE_URL") or DEFAULT_BASE_URL,
        key_variable=variable,
        headers=headers,
        client=http_client,
    )


create_gemini_adapter.wire_protocol = "gemini"  # type: ignore[attr-defined]
