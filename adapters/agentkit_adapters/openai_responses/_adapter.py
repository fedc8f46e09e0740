"""``OpenAIResponsesAdapter``: one Responses API call over httpx2, JSON or typed SSE.

Everything here is transport: the body comes from ``to_responses_request``,
the answer goes through ``from_responses_response`` or ``ResponsesEventReader``,
and errors through the shared seam in ``agentkit_adapters._http``. The adapter
never retries, loops, runs tools or prices tokens. Its one piece of state is a
small memo of compiled tool schemas, so a run's tools are compiled once, not
on every turn.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import httpx2

from agentkit import Capabilities, ModelRequest, ModelResponse, StreamEvent
from agentkit.adapter import CompiledSchema, compile_for_openai, response_events
from agentkit.exceptions import ProviderHTTPError, UnexpectedResponseError, UserError

from .._http import SSEDecoder, SSEEvent, TransportErrors, map_http_error, shared_client
from ._convert import to_responses_request
from ._parse import ResponsesEventReader, from_responses_response
from ._wire import PreparedRequest

__all__ = [
    "DEFAULT_BASE_URL",
    "SETTINGS",
    "OpenAIResponsesAdapter",
    "SchemaMemo",
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
        "extra",
    }
)


class SchemaMemo:
    """``compile_for_openai``, remembering the result per schema object.

    Keyed by the schema's identity (the runner hands the same ``ToolDefinition``
    objects to every turn of a run), checked with ``is`` and holding a
    reference, so a key can never be reused by another object. A schema dict
    changed in place after its first use would not be recompiled: tool
    definitions are frozen models, and their schemas are treated as frozen too.

    Args:
        size: Entries kept; the oldest is dropped first.
    """

    __slots__ = ("_entries", "size")

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: dict[tuple[int, bool, str | None], tuple[object, CompiledSchema]] = {}

    def __call__(
        self, schema: Mapping[str, Any], *, allow_lossy: bool = False, name: str | None = None
    ) -> CompiledSchema:
        """The compilation of ``schema`` (see ``compile_for_openai``)."""
        key = (id(schema), allow_lossy, name)
        hit = self._entries.get(key)
        if hit is not None and hit[0] is schema:
            return hit[1]
        compiled = compile_for_openai(schema, allow_lossy=allow_lossy, name=name)
        if len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (schema, compiled)
        return compiled


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
        provider: str = "openai",
        key_variable: str | None = "OPENAI_API_KEY",
        headers: Mapping[str, str] | None = None,
        capabilities: Capabilities | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model_id = model_id
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.key_variable = key_variable
        self.capabilities = capabilities or Capabilities(
            image_input=True, reasoning=True, settings=SETTINGS
        )
        self._url = f"{self.base_url}/responses"
        self._headers = {"content-type": "application/json", **(headers or {})}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._client = client
        self._schemas = SchemaMemo()
        self._transport_errors = TransportErrors(provider, model_id, self.base_url)

    def __repr__(self) -> str:
        return f"OpenAIResponsesAdapter({self.provider}:{self.model_id} at {self.base_url})"

    @property
    def client(self) -> httpx2.AsyncClient:
        """The client for this call: the one given, else the loop's shared one."""
        return self._client or shared_client(self.provider, self.base_url)

    def _prepare(self, request: ModelRequest, stream: bool) -> tuple[bytes, PreparedRequest]:
        prepared = to_responses_request(
            request,
            model_id=self.model_id,
            stream=stream,
            provider=self.provider,
            compile_tool=self._schemas,
        )
        return json.dumps(prepared.body).encode(), prepared

    def _error(self, response: httpx2.Response) -> ProviderHTTPError:
        return map_http_error(
            self.provider,
            self.model_id,
            response.status_code,
            response.headers,
            response.content,
            key_variable=self.key_variable,
            base_url=self.base_url,
        )

    def _unexpected(self, message: str) -> UnexpectedResponseError:
        return UnexpectedResponseError(message, provider=self.provider, model_id=self.model_id)

    def _parse_json(self, response: httpx2.Response, prepared: PreparedRequest) -> ModelResponse:
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            raise self._unexpected(f"the response is not JSON: {response.text[:200]!r}") from exc
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
        content, prepared = self._prepare(request, stream=False)
        timeout = request.settings.timeout or httpx2.USE_CLIENT_DEFAULT
        with self._transport_errors:
            response = await self.client.post(
                self._url, content=content, headers=self._headers, timeout=timeout
            )
        if not 200 <= response.status_code < 300:
            raise self._error(response)
        return self._parse_json(response, prepared)

    def _payload(self, event: SSEEvent) -> dict[str, Any]:
        try:
            payload = json.loads(event.data)
        except ValueError as exc:
            raise self._unexpected(f"a stream event is not JSON: {event.data[:200]!r}") from exc
        if not isinstance(payload, dict):
            raise self._unexpected(f"a stream event is not an object: {event.data[:200]!r}")
        return payload

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
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
        content, prepared = self._prepare(request, stream=True)
        timeout = request.settings.timeout or httpx2.USE_CLIENT_DEFAULT
        reader = ResponsesEventReader(
            self.provider,
            self.model_id,
            warnings=list(prepared.warnings),
            schemas=prepared.schemas,
        )
        with self._transport_errors:
            async with self.client.stream(
                "POST", self._url, content=content, headers=self._headers, timeout=timeout
            ) as response:
                if not 200 <= response.status_code < 300:
                    await response.aread()
                    raise self._error(response)
                if response.headers.get("content-type", "").startswith("application/json"):
                    # A server that ignores "stream": one whole answer, replayed as events.
                    await response.aread()
                    for item in response_events(self._parse_json(response, prepared)):
                        yield item
                    return
                decoder = SSEDecoder()
                async for data in response.aiter_bytes():
                    if reader.done:
                        continue  # read to the end, so the connection can be reused
                    for event in decoder.feed(data):
                        for item in reader.feed(self._payload(event), event.event):
                            yield item
                        if reader.done:
                            break
                if not reader.done:
                    for event in decoder.flush():
                        for item in reader.feed(self._payload(event), event.event):
                            yield item
        for item in reader.finish():
            yield item


def create_responses_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
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
    )


create_responses_adapter.wire_protocol = "openai-responses"  # type: ignore[attr-defined]
