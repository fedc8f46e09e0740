"""``OpenAIResponsesAdapter``: one Responses API call, JSON or typed SSE.

Everything here is configuration: the body comes from ``to_responses_request``,
the answer goes through ``from_responses_response`` or ``ResponsesEventReader``,
and the HTTP exchange through the shared ``HTTPExchange``. The adapter
never retries, loops, runs tools or prices tokens.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import httpx2

from agentkit import Capabilities, ModelRequest, ModelResponse, StreamEvent
from agentkit.exceptions import UserError

from .._exchange import HTTPExchange, StreamPlan
from ..openai._profile import openai_settings
from ._convert import ReasoningSummary, to_responses_request
from ._parse import ResponsesEventReader, from_responses_response
from ._wire import PreparedRequest

__all__ = [
    "DEFAULT_BASE_URL",
    "SETTINGS",
    "OpenAIResponsesAdapter",
    "create_responses_adapter",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"

#: ``stop`` and ``seed`` do not exist on the Responses API.
SETTINGS = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "parallel_tool_calls",
        "reasoning_effort",
        "timeout",
        "prompt_cache",
        "extra",
    }
)


class OpenAIResponsesAdapter:
    """OpenAI Responses (``POST {base_url}/responses``), stateless (``store: false``).

    Args:
        model_id: The model to ask, e.g. ``gpt-5-mini``.
        api_key: Sent as ``Authorization: Bearer``; None sends no key.
        base_url: The API root, up to and including ``/v1``.
        provider: Provider name in events, errors, usage keys and reasoning parts.
        key_variable: The environment variable the key came from, named in
            authentication errors.
        headers: Extra request headers (organisation, project).
        capabilities: Override the declared capabilities; by default the
            settings are those ``model_id`` accepts (``openai_settings``).
        client: An ``httpx2.AsyncClient`` to use instead of the shared pool.
        reasoning_summary: ``auto``, ``concise`` or ``detailed`` asks for a
            summary of the reasoning when ``reasoning_effort`` is set (it
            arrives as ``ReasoningPart`` text); None (default) asks for none,
            which every organisation may do (summaries need a verified one).
        cache_retention: The server takes ``prompt_cache_retention`` besides
            ``prompt_cache_key`` (OpenAI, Azure); Open Responses hosts leave it out.
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
        capabilities: Capabilities | None = None,
        client: httpx2.AsyncClient | None = None,
        reasoning_summary: ReasoningSummary | None = None,
        cache_retention: bool = True,
    ) -> None:
        self.model_id = model_id
        self.cache_retention = cache_retention
        self.reasoning_summary = reasoning_summary
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.key_variable = key_variable
        self.capabilities = capabilities or Capabilities(
            image_input=True, reasoning=True, settings=openai_settings(model_id, SETTINGS)
        )
        self._url = f"{self.base_url}/responses"
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
        return f"OpenAIResponsesAdapter({self.provider}:{self.model_id} at {self.base_url})"

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._http.client

    def _prepare(self, request: ModelRequest, stream: bool) -> PreparedRequest:
        return to_responses_request(
            request,
            model_id=self.model_id,
            stream=stream,
            provider=self.provider,
            reasoning_summary=self.reasoning_summary,
            cache_retention=self.cache_retention,
        )

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body this adapter would send for ``request``, without sending it.

        For tools that measure a request (``agentkit tokens``); pure, no I/O.
        """
        return dict(self._prepare(request, stream=False).body)

    def _parse(self, data: Any, prepared: PreparedRequest) -> ModelResponse:
        return from_responses_response(
            data,
            provider=self.provider,
            model_id=self.model_id,
            warnings=list(prepared.warnings),
            schemas=prepared.schemas,
        )

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """Make one call and return the whole answer.

        Raises:
            ProviderHTTPError: an error status, or a response whose status is ``failed``.
            ProviderConnectionError: the provider could not be reached.
            UnexpectedResponseError: the body is not a response.
            UnsupportedFeatureError: the request holds content this API cannot carry.
            SchemaCompileError: a tool or output schema cannot be sent.
        """
        prepared = self._prepare(request, stream=False)
        data = await self._http.post_json(
            self._url, prepared.body, http_timeout=request.settings.timeout
        )
        return self._parse(data, prepared)

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Make one streaming call, yielding events as they arrive.

        The stream ends at ``response.completed`` or ``response.incomplete``
        (there is no ``[DONE]``); whatever follows is read and ignored, so the
        connection can be reused. Stopping early (``aclose()`` or cancelling
        the consumer) closes the HTTP response, and with it the connection.

        Raises:
            ProviderHTTPError: an error status, an ``error`` event or ``response.failed``.
            ProviderConnectionError: the provider could not be reached or the
                connection broke.
            UnexpectedResponseError: an event is not JSON, or the stream was cut short.
            UnsupportedFeatureError: the request holds content this API cannot carry.
            SchemaCompileError: a tool or output schema cannot be sent.
        """
        return self._http.stream(
            self._url,
            lambda: self._stream_plan(request),
            framing="sse",
            http_timeout=request.settings.timeout,
        )

    def _stream_plan(self, request: ModelRequest) -> StreamPlan:
        prepared = self._prepare(request, stream=True)
        reader = ResponsesEventReader(
            self.provider,
            self.model_id,
            warnings=list(prepared.warnings),
            schemas=prepared.schemas,
        )
        return StreamPlan(
            prepared.body,
            feed=lambda frame: reader.feed(frame.data, frame.event),
            finish=lambda _done: reader.finish(),
            whole=lambda data: self._parse(data, prepared),
            ended=lambda: reader.done,
        )


def create_responses_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
    reasoning_summary: ReasoningSummary | None = None,
) -> OpenAIResponsesAdapter:
    """The ``openai-responses`` entry point: ``openai-responses:<model>`` with ``OPENAI_API_KEY``.

    Options win over the environment, which only supplies defaults:
    ``OPENAI_BASE_URL`` when no ``base_url`` is given; ``OPENAI_ORG_ID`` and
    ``OPENAI_PROJECT_ID`` become the organisation and project headers.

    Args:
        model_id: The model named after ``openai-responses:``.
        base_url: The API root, up to and including ``/v1``.
        api_key: The key, instead of ``OPENAI_API_KEY``.
        headers: Extra request headers.
        http_client: A client of your own instead of the shared pool.
        reasoning_summary: Ask for reasoning summaries (``auto``, ``concise``,
            ``detailed``; ``model_options={"reasoning_summary": "auto"}``);
            ``settings.extra={"reasoning": {...}}`` replaces the whole object.

    Returns:
        The adapter.

    Raises:
        UserError: no key is given or set, or no model is named.
    """
    from ..openai._adapter import openai_env_headers

    if not model_id:
        raise UserError(
            "no OpenAI model named: write it as openai-responses:<model>, "
            "e.g. openai-responses:gpt-5-mini"
        )
    api_key = api_key or os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise UserError(
            f"OPENAI_API_KEY is not set: export it to use openai-responses:{model_id} "
            "(keys are at https://platform.openai.com/api-keys), or choose another provider"
        )
    return OpenAIResponsesAdapter(
        model_id,
        api_key=api_key,
        base_url=base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL,
        headers={**openai_env_headers(), **(headers or {})},
        client=http_client,
        reasoning_summary=reasoning_summary,
    )


create_responses_adapter.wire_protocol = "openai-responses"  # type: ignore[attr-defined]
