"""``OpenAIChatAdapter``: one Chat Completions call, JSON or SSE.

Everything here is configuration: the body comes from ``to_openai_request``,
the answer goes through ``from_openai_response`` or ``OpenAIChunkReader``,
and the HTTP exchange (errors, framing, ``[DONE]``) through the shared
``HTTPExchange``. The adapter never retries, loops, runs tools or prices tokens.
"""

from __future__ import annotations

import copy
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Literal

import httpx2

from agentkit import Capabilities, ModelRequest, ModelResponse, RunWarning, StreamEvent
from agentkit.adapter import CompiledSchema
from agentkit.exceptions import UserError

from .._exchange import Frame, HTTPExchange, StreamPlan
from ._convert import OpenAIQuirks, to_openai_request
from ._parse import OpenAIChunkReader, from_openai_response
from ._profile import openai_settings
from ._strict import tools_with_added_nulls
from ._wire import ChatRequest

__all__ = ["DEFAULT_BASE_URL", "OpenAIChatAdapter", "create_chat_adapter"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"

_SETTINGS = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "parallel_tool_calls",
        "reasoning_effort",
        "timeout",
        "prompt_cache",
        "extra",
    }
)


class OpenAIChatAdapter:
    """OpenAI Chat Completions (``POST {base_url}/chat/completions``), and compatible hosts.

    Args:
        model_id: The model to ask, e.g. ``gpt-4.1-mini``.
        api_key: Sent as ``Authorization: Bearer``; None sends no key (local servers).
        base_url: The API root, up to and including ``/v1``.
        provider: Provider name in events, errors and usage keys.
        key_variable: The environment variable the key came from, named in
            authentication errors so the user knows what to fix.
        headers: Extra request headers (organisation, project, host-specific).
        quirks: How the host departs from OpenAI.
        capabilities: Override the declared capabilities (presets narrow them);
            by default the settings are those ``model_id`` accepts (``openai_settings``).
        client: An ``httpx2.AsyncClient`` to use instead of the shared pool
            (tests pass one with a ``MockTransport``).
    """

    spec_version: Literal["1"] = "1"

    def __init__(
        self,
        model_id: str,
        *,
        api_key: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        provider: str = "openai",
        key_variable: str | None = "OPENAI_API_KEY",
        headers: Mapping[str, str] | None = None,
        quirks: OpenAIQuirks | None = None,
        capabilities: Capabilities | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model_id = model_id
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.key_variable = key_variable
        self.quirks = quirks or OpenAIQuirks()
        self.capabilities = capabilities or Capabilities(
            usage_in_stream=self.quirks.supports_stream_usage,
            image_input=True,
            reasoning=False,
            settings=openai_settings(model_id, _SETTINGS - self.quirks.unsupported_settings),
        )
        self._url = f"{self.base_url}/chat/completions"
        auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = HTTPExchange(
            provider,
            model_id,
            self.base_url,
            headers={**(headers or {}), **auth},
            client=client,
            key_variable=key_variable,
        )

    def __repr__(self) -> str:
        return f"OpenAIChatAdapter({self.provider}:{self.model_id} at {self.base_url})"

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._http.client

    def _body(self, request: ModelRequest, stream: bool) -> tuple[ChatRequest, list[RunWarning]]:
        return to_openai_request(
            request,
            model_id=self.model_id,
            stream=stream,
            quirks=self.quirks,
            provider=self.provider,
        )

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body this adapter would send for ``request``, without sending it.

        For tools that measure a request (``agentkit tokens``); pure, no I/O.
        A deep copy: the body's messages may be forms later calls send again.
        """
        return copy.deepcopy(dict(self._body(request, stream=False)[0]))

    def _nulls(self, request: ModelRequest) -> dict[str, CompiledSchema]:
        return tools_with_added_nulls(
            request.tools,
            allow_lossy=request.allow_lossy_schemas,
            strict=self.quirks.supports_strict,
        )

    def _parse(
        self, data: Any, warnings: list[RunWarning], schemas: Mapping[str, CompiledSchema]
    ) -> ModelResponse:
        return from_openai_response(
            data,
            provider=self.provider,
            model_id=self.model_id,
            warnings=warnings,
            schemas=schemas,
        )

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """Make one call and return the whole answer.

        Raises:
            ProviderHTTPError: the provider answered with an error status.
            ProviderConnectionError: the provider could not be reached.
            UnexpectedResponseError: the body is not a chat completion.
            UnsupportedFeatureError: the request holds content this API cannot carry.
        """
        body, warnings = self._body(request, stream=False)
        data = await self._http.post_json(self._url, body, http_timeout=request.settings.timeout)
        return self._parse(data, warnings, self._nulls(request))

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Make one streaming call, yielding events as chunks arrive.

        Stopping early (``aclose()`` or cancelling the consumer) closes the
        HTTP response, and with it the connection, at once.

        Raises:
            ProviderHTTPError: an error status, or an error inside the stream.
            ProviderConnectionError: the provider could not be reached or the
                connection broke.
            UnexpectedResponseError: a chunk is not JSON, or the stream was cut short.
            UnsupportedFeatureError: the request holds content this API cannot carry.
        """
        return self._http.stream(
            self._url,
            lambda: self._stream_plan(request),
            framing="sse",
            http_timeout=request.settings.timeout,
        )

    def _stream_plan(self, request: ModelRequest) -> StreamPlan:
        body, warnings = self._body(request, stream=True)
        schemas = self._nulls(request)
        reader = OpenAIChunkReader(self.provider, self.model_id, warnings=warnings, schemas=schemas)

        def feed(frame: Frame) -> Iterable[StreamEvent]:
            if frame.event == "error":
                # Groq reports some failures as "event: error" inside a 200 stream.
                raise self._http.in_band_error(frame.data)
            return reader.feed(frame.data)

        return StreamPlan(
            body,
            feed=feed,
            finish=lambda done: reader.finish(done=done),
            whole=lambda data: self._parse(data, warnings, schemas),
        )


def create_chat_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
) -> OpenAIChatAdapter:
    """The ``openai`` entry point: ``openai:<model>`` with ``OPENAI_API_KEY``.

    Options win over the environment, which only supplies defaults:
    ``OPENAI_BASE_URL`` points it at another host (a proxy, Azure's
    ``/openai/v1``, a local server) when no ``base_url`` is given;
    ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID`` become the organisation and
    project headers.

    Args:
        model_id: The model named after ``openai:``.
        base_url: The API root, up to and including ``/v1``.
        api_key: The key, instead of ``OPENAI_API_KEY``.
        headers: Extra request headers (they win over the organisation ones).
        http_client: A client of your own instead of the shared pool.

    Returns:
        The adapter.

    Raises:
        UserError: no key is given or set, or no model is named.
    """
    if not model_id:
        raise UserError(
            "no OpenAI model named: write it as openai:<model>, e.g. openai:gpt-4.1-mini"
        )
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise UserError(
            f"OPENAI_API_KEY is not set: export it to use openai:{model_id} "
            "(keys are at https://platform.openai.com/api-keys), or choose another provider"
        )
    return OpenAIChatAdapter(
        model_id,
        api_key=api_key,
        base_url=base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL,
        headers={**openai_env_headers(), **(headers or {})},
        client=http_client,
    )


def openai_env_headers() -> dict[str, str]:
    """The organisation and project headers, from the variables the official SDKs read."""
    headers = {}
    if organization := os.environ.get("OPENAI_ORG_ID"):
        headers["OpenAI-Organization"] = organization
    if project := os.environ.get("OPENAI_PROJECT_ID"):
        headers["OpenAI-Project"] = project
    return headers


create_chat_adapter.wire_protocol = "openai-chat"  # type: ignore[attr-defined]
