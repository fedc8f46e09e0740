"""Azure OpenAI as thin subclasses of the OpenAI adapters: URL, auth, filter results.

``AzureOpenAIChatAdapter`` and ``AzureOpenAIResponsesAdapter`` keep every
converter, reader and the HTTP exchange of ``OpenAIChatAdapter`` and
``OpenAIResponsesAdapter``; what they change is where the call goes
(``azure_endpoint``), how it signs in (``api-key``, or an Entra ID bearer token
fetched per call), the ``model`` in the body (the deployment), the error
mapping (``map_azure_error``), and a look at the content filter's verdict
before and after the OpenAI parse (``_filters``). Quirks seen in the
recordings and handled here as data: the first stream chunk with
``choices: []``, ``id: ""`` and only ``prompt_filter_results`` (skipped, so
the response takes the real id); chunks and choices without ``delta``; ``{}``
filter objects; ``latency_checkpoint`` in usage (ignored).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import httpx2

from agentkit import Capabilities, ModelRequest, ModelResponse, RunWarning, StreamEvent
from agentkit.adapter import CompiledSchema, ResponseEndEvent

from .._exchange import CallHeaders, Frame, HTTPExchange, StreamPlan
from ..openai import OpenAIChatAdapter, OpenAIQuirks
from ..openai._wire import ChatRequest
from ..openai_responses import OpenAIResponsesAdapter
from ..openai_responses._wire import PreparedRequest
from ._endpoint import AzureEndpoint
from ._filters import content_filter_error, filter_findings, filter_warning, map_azure_error

__all__ = ["AzureOpenAIChatAdapter", "AzureOpenAIResponsesAdapter", "azure_chat_quirks"]

#: ``max_completion_tokens``, ``stream_options`` and strict structured outputs
#: arrived in the dated API with 2024-09-01-preview (and GA 2024-10-21).
_MODERN = "2024-09-01"


def azure_chat_quirks(api_version: str | None) -> OpenAIQuirks:
    """What the chat API accepts at ``api_version`` (None: the v1 API, all of it)."""
    if api_version is None or api_version >= _MODERN:
        return OpenAIQuirks()
    return OpenAIQuirks(
        supports_strict=False,
        max_tokens_field="max_tokens",
        supports_stream_usage=False,
        prompt_cache_fields=False,
    )


class _Verdicts:
    """The filter findings of one answer, by where they were, as the answer arrives."""

    def __init__(self, provider: str, model_id: str) -> None:
        self.provider = provider
        self.model_id = model_id
        self.findings: dict[str, list[str]] = {"prompt": [], "answer": []}

    def note(self, where: str, results: Any) -> None:
        for found in filter_findings(results):
            if found not in self.findings[where]:
                self.findings[where].append(found)

    def chat(self, body: Mapping[str, Any]) -> None:
        """Read one completion or chunk; a choice stopped by the filter raises."""
        for prompt in body.get("prompt_filter_results") or ():
            if isinstance(prompt, dict):
                self.note("prompt", prompt.get("content_filter_results"))
        for choice in body.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            results = choice.get("content_filter_results")
            if choice.get("finish_reason") == "content_filter":
                raise content_filter_error(self.provider, self.model_id, "answer", results)
            self.note("answer", results)

    def responses(self, body: Mapping[str, Any]) -> None:
        """Read a response's ``content_filters``; a blocked entry raises."""
        answer: Any = None
        for entry in body.get("content_filters") or ():
            if not isinstance(entry, dict):
                continue
            where = "prompt" if entry.get("source_type") == "prompt" else "answer"
            results = entry.get("content_filter_results")
            if entry.get("blocked") is True:
                raise content_filter_error(self.provider, self.model_id, where, results)
            if where == "answer":
                answer = results
            self.note(where, results)
        if (body.get("incomplete_details") or {}).get("reason") == "content_filter":
            raise content_filter_error(self.provider, self.model_id, "answer", answer)

    def stamp(self, response: ModelResponse) -> ModelResponse:
        extra = filter_warning(self.findings, self.provider)
        if not extra:
            return response
        return response.model_copy(update={"warnings": [*response.warnings, *extra]})

    def stamp_events(self, events: Iterable[StreamEvent]) -> list[StreamEvent]:
        out = list(events)
        if out and isinstance(out[-1], ResponseEndEvent):
            out[-1] = ResponseEndEvent(response=self.stamp(out[-1].response))
        return out


class _OnAzure:
    """What both Azure adapters add to their OpenAI parent: the deployment and its exchange."""

    provider: str
    model_id: str
    key_variable: str | None
    deployment: str
    target: AzureEndpoint
    _url: str
    _http: HTTPExchange

    def _deploy(
        self,
        target: AzureEndpoint,
        deployment: str,
        *,
        api_key: str | None,
        call_headers: CallHeaders | None,
        headers: Mapping[str, str] | None,
        client: httpx2.AsyncClient | None,
    ) -> None:
        # Called after the OpenAI constructor: the exchange it built is replaced
        # by one that signs in the Azure way and maps errors with map_azure_error.
        self.deployment = deployment
        self.target = target
        self._url = target.url
        auth = {"api-key": api_key} if api_key else {}
        self._http = HTTPExchange(
            self.provider,
            self.model_id,
            target.base_url,
            headers={**auth, **(headers or {})},
            client=client,
            key_variable=self.key_variable,
            map_error=partial(
                map_azure_error,
                self.provider,
                self.model_id,
                deployment=deployment,
                key_variable=self.key_variable,
                base_url=target.base_url,
            ),
            call_headers=call_headers,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.provider}:{self.model_id} at {self.target.url})"


class AzureOpenAIChatAdapter(_OnAzure, OpenAIChatAdapter):
    """Chat Completions on an Azure OpenAI deployment (v1 or dated API).

    Args:
        model_id: The model behind the deployment, for settings, profile and
            prices (the deployment name when it is not known).
        target: Where to post (``azure_endpoint``).
        deployment: The deployment; sent as the body's ``model``.
        api_key: Sent as ``api-key``; None when ``call_headers`` signs in.
        call_headers: Per-call auth headers (``entra_headers``).
        provider: Provider name in events, errors and usage keys.
        key_variable: The key's environment variable, named in auth errors.
        headers: Extra request headers.
        capabilities: Override the declared capabilities.
        client: An ``httpx2.AsyncClient`` instead of the shared pool.
    """

    def __init__(
        self,
        model_id: str,
        *,
        target: AzureEndpoint,
        deployment: str,
        api_key: str | None = None,
        call_headers: CallHeaders | None = None,
        provider: str = "azure",
        key_variable: str | None = "AZURE_OPENAI_API_KEY",
        headers: Mapping[str, str] | None = None,
        capabilities: Capabilities | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            model_id,
            base_url=target.base_url,
            provider=provider,
            key_variable=key_variable,
            quirks=azure_chat_quirks(target.api_version),
            capabilities=capabilities,
            client=client,
        )
        self._deploy(
            target,
            deployment,
            api_key=api_key,
            call_headers=call_headers,
            headers=headers,
            client=client,
        )

    def _body(self, request: ModelRequest, stream: bool) -> tuple[ChatRequest, list[RunWarning]]:
        body, warnings = super()._body(request, stream)
        body["model"] = self.deployment
        return body, warnings

    def _parse(
        self, data: Any, warnings: list[RunWarning], schemas: Mapping[str, CompiledSchema]
    ) -> ModelResponse:
        verdicts = _Verdicts(self.provider, self.model_id)
        if isinstance(data, dict):
            verdicts.chat(data)  # before the parse: a blocked answer may have no message
        return verdicts.stamp(super()._parse(data, warnings, schemas))

    def _stream_plan(self, request: ModelRequest) -> StreamPlan:
        plan = super()._stream_plan(request)
        verdicts = _Verdicts(self.provider, self.model_id)

        def feed(frame: Frame) -> Iterable[StreamEvent]:
            verdicts.chat(frame.data)
            data = frame.data
            if not data.get("choices") and not data.get("usage") and not data.get("error"):
                # Azure's opening chunk: id "", model "", only prompt_filter_results.
                return ()
            return plan.feed(frame)

        return replace(
            plan,
            feed=feed,
            finish=lambda done: verdicts.stamp_events(plan.finish(done)),
        )


class AzureOpenAIResponsesAdapter(_OnAzure, OpenAIResponsesAdapter):
    """The Responses API on Azure OpenAI (v1 or dated preview path).

    Takes the arguments of ``AzureOpenAIChatAdapter``; ``provider`` defaults
    to ``"azure-responses"``.
    """

    def __init__(
        self,
        model_id: str,
        *,
        target: AzureEndpoint,
        deployment: str,
        api_key: str | None = None,
        call_headers: CallHeaders | None = None,
        provider: str = "azure-responses",
        key_variable: str | None = "AZURE_OPENAI_API_KEY",
        headers: Mapping[str, str] | None = None,
        capabilities: Capabilities | None = None,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            model_id,
            base_url=target.base_url,
            provider=provider,
            key_variable=key_variable,
            capabilities=capabilities,
            client=client,
        )
        self._deploy(
            target,
            deployment,
            api_key=api_key,
            call_headers=call_headers,
            headers=headers,
            client=client,
        )

    def _prepare(self, request: ModelRequest, stream: bool) -> PreparedRequest:
        prepared = super()._prepare(request, stream)
        prepared.body["model"] = self.deployment
        return prepared

    def _parse(self, data: Any, prepared: PreparedRequest) -> ModelResponse:
        verdicts = _Verdicts(self.provider, self.model_id)
        if isinstance(data, dict):
            verdicts.responses(data)
        return verdicts.stamp(super()._parse(data, prepared))

    def _stream_plan(self, request: ModelRequest) -> StreamPlan:
        plan = super()._stream_plan(request)
        verdicts = _Verdicts(self.provider, self.model_id)

        def feed(frame: Frame) -> Iterable[StreamEvent]:
            events = plan.feed(frame)
            if frame.data.get("type") in ("response.completed", "response.incomplete"):
                verdicts.responses(frame.data.get("response") or {})
            return events

        return replace(
            plan, feed=feed, finish=lambda done: verdicts.stamp_events(plan.finish(done))
        )
