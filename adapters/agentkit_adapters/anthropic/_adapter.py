"""``AnthropicAdapter``: one Messages API call, JSON or SSE.

Everything here is configuration: the body comes from ``to_anthropic_request``,
the answer goes through ``from_anthropic_response`` or
``AnthropicStreamReader``, errors through ``map_anthropic_error``, and the
HTTP exchange (framing, pooling, transport errors) through the shared
``HTTPExchange``. The adapter never retries, loops, runs tools or prices tokens.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from functools import partial
from typing import Any, Literal

import httpx2

from agentkit.adapter import (
    Capabilities,
    ModelRequest,
    ModelResponse,
    RunWarning,
    StreamEvent,
)
from agentkit.exceptions import UserError

from .._exchange import HTTPExchange, StreamPlan
from .._plans import reader_plan
from ._convert import ANTHROPIC_VERSION, to_anthropic_request
from ._parse import AnthropicStreamReader, from_anthropic_response, map_anthropic_error
from ._profile import claude_profile
from ._wire import MessagesRequest

__all__ = [
    "DEFAULT_BASE_URL",
    "AnthropicAdapter",
    "anthropic_capabilities",
    "create_anthropic_adapter",
]

DEFAULT_BASE_URL = "https://api.anthropic.com"

_SETTINGS = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "parallel_tool_calls",
        "reasoning_effort",
        "timeout",
        "prompt_cache",
        "extra",
    }
)


def anthropic_capabilities(model_id: str) -> Capabilities:
    """What the Messages API offers for ``model_id`` (from ``claude_profile``).

    Structured output is native (``output_config.format``) from Claude 4.5 on;
    older models declare only ``tool`` and ``prompted``, so the runner forces a
    tool instead. ``seed`` is the one neutral setting with no Anthropic form.
    """
    profile = claude_profile(model_id)
    modes = {"native", "tool", "prompted"} if profile.native_output else {"tool", "prompted"}
    return Capabilities(
        structured_output=frozenset(modes),
        image_input=True,
        reasoning=profile.thinking or profile.version is None,
        settings=_SETTINGS,
    )


class AnthropicAdapter:
    """The Anthropic Messages API (``POST {base_url}/v1/messages``).

    Args:
        model_id: The model to ask, e.g. ``claude-sonnet-4-5``.
        api_key: Sent as ``x-api-key``; None sends no key (a proxy that adds it).
        base_url: The API root; ``/v1`` is added unless the URL ends with it.
        provider: Provider name in events, errors and reasoning stamps.
        key_variable: The environment variable the key came from, named in
            authentication errors.
        headers: Extra request headers (``anthropic-beta``, say); they win.
        prompt_cache: Mark the stable prefix (tools, system, the conversation
            so far) with ``cache_control`` breakpoints on every call, as the
            ``prompt_cache`` setting does for the calls that ask for it.
        capabilities: Override the declared capabilities.
        client: An ``httpx2.AsyncClient`` to use instead of the shared pool.
    """

    spec_version: Literal["1"] = "1"

    def __init__(
        self,
        model_id: str,
        *,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        provider: str = "anthropic",
        key_variable: str | None = "ANTHROPIC_API_KEY",
        headers: Mapping[str, str] | None = None,
        prompt_cache: bool = False,
        capabilities: Capabilities | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model_id = model_id
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.key_variable = key_variable
        self.prompt_cache = prompt_cache
        self.capabilities = capabilities or anthropic_capabilities(model_id)
        root = self.base_url if self.base_url.endswith("/v1") else f"{self.base_url}/v1"
        self._url = f"{root}/messages"
        auth = {"x-api-key": api_key} if api_key else {}
        self._http = HTTPExchange(
            provider,
            model_id,
            self.base_url,
            headers={"anthropic-version": ANTHROPIC_VERSION, **auth, **(headers or {})},
            client=client,
            key_variable=key_variable,
            map_error=partial(
                map_anthropic_error,
                provider,
                model_id,
                key_variable=key_variable,
                base_url=self.base_url,
            ),
        )

    def __repr__(self) -> str:
        return f"AnthropicAdapter({self.provider}:{self.model_id} at {self.base_url})"

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._http.client

    def _body(
        self, request: ModelRequest, stream: bool
    ) -> tuple[MessagesRequest, list[RunWarning]]:
        return to_anthropic_request(
            request,
            model_id=self.model_id,
            stream=stream,
            provider=self.provider,
            cache=self.prompt_cache,
        )

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body this adapter would send for ``request``, without sending it.

        For tools that measure a request (``agentkit tokens``); pure, no I/O.
        """
        return dict(self._body(request, stream=False)[0])

    def _parse(self, data: Any, warnings: list[RunWarning]) -> ModelResponse:
        return from_anthropic_response(
            data,
            provider=self.provider,
            model_id=self.model_id,
            warnings=warnings,
            key_variable=self.key_variable,
        )

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """Make one call and return the whole answer.

        Raises:
            ProviderHTTPError: an error status (``ServerError`` for 529 overloaded).
            ProviderConnectionError: the provider could not be reached.
            UnexpectedResponseError: the body is not a message.
            UnsupportedFeatureError: the request holds content Claude cannot take.
        """
        body, warnings = self._body(request, stream=False)
        data = await self._http.post_json(self._url, body, http_timeout=request.settings.timeout)
        return self._parse(data, warnings)

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Make one streaming call, yielding events as they arrive.

        The stream ends at ``message_stop``; whatever follows is read and
        ignored, so the connection can be reused. Stopping early (``aclose()``
        or cancelling the consumer) closes the HTTP response, and with it the
        connection, at once.

        Raises:
            ProviderHTTPError: an error status, or an ``error`` event in the stream.
            ProviderConnectionError: the provider could not be reached or the
                connection broke.
            UnexpectedResponseError: an event is not JSON, or the stream was cut short.
            UnsupportedFeatureError: the request holds content Claude cannot take.
        """
        return self._http.stream(
            self._url,
            lambda: self._stream_plan(request),
            framing="sse",
            http_timeout=request.settings.timeout,
        )

    def _stream_plan(self, request: ModelRequest) -> StreamPlan:
        body, warnings = self._body(request, stream=True)
        reader = AnthropicStreamReader(
            self.provider, self.model_id, warnings=warnings, key_variable=self.key_variable
        )
        return reader_plan(
            body, reader, lambda data: self._parse(data, warnings), lambda: reader.stopped
        )


def create_anthropic_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
    prompt_cache: bool = False,
) -> AnthropicAdapter:
    """The ``anthropic`` entry point: ``anthropic:<model>`` with ``ANTHROPIC_API_KEY``.

    Options win over the environment, which only supplies defaults:
    ``ANTHROPIC_BASE_URL`` points it at another host (a proxy, a gateway)
    when no ``base_url`` is given.

    Args:
        model_id: The model named after ``anthropic:``.
        base_url: The API root, without ``/v1`` (as ``ANTHROPIC_BASE_URL``).
        api_key: The key, instead of ``ANTHROPIC_API_KEY``.
        headers: Extra request headers.
        http_client: A client of your own instead of the shared pool.
        prompt_cache: Mark the stable prefix on every call (the same as
            ``ModelSettings(prompt_cache=True)`` on every request).

    Returns:
        The adapter.

    Raises:
        UserError: no key is given or set, or no model is named.
    """
    if not model_id:
        raise UserError(
            "no Anthropic model named: write it as anthropic:<model>, "
            "e.g. anthropic:claude-sonnet-4-5"
        )
    api_key = api_key or os.environ.get("ANTHROPIC_API_KEY")
    if not api_key:
        raise UserError(
            f"ANTHROPIC_API_KEY is not set: export it to use anthropic:{model_id} "
            "(keys are at https://console.anthropic.com/settings/keys), or choose another provider"
        )
    return AnthropicAdapter(
        model_id,
        api_key=api_key,
        base_url=base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL,
        headers=headers,
        prompt_cache=prompt_cache,
        client=http_client,
    )


create_anthropic_adapter.wire_protocol = "anthropic"  # type: ignore[attr-defined]
