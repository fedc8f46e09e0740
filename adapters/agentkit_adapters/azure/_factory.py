"""The ``azure`` and ``azure-responses`` entry points: options first, the usual variables second.

``azure:DEPLOYMENT`` speaks Chat Completions and ``azure-responses:DEPLOYMENT``
the Responses API: two entry points rather than an ``api=`` option, because
each factory declares one wire protocol (the conformance kit emulates it) and
a model string is all the command line can pass.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx2

from agentkit.exceptions import UserError

from .._exchange import CallHeaders
from ._adapter import AzureOpenAIChatAdapter, AzureOpenAIResponsesAdapter
from ._endpoint import Api, TokenProvider, azure_endpoint, default_credential, entra_headers

__all__ = ["create_azure_adapter", "create_azure_responses_adapter"]

_KEY = "AZURE_OPENAI_API_KEY"
_ENDPOINT = "AZURE_OPENAI_ENDPOINT"
_VERSIONS = ("AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION")


def _settings(
    name: str,
    api: Api,
    model_id: str,
    *,
    base_url: str | None,
    api_key: str | None,
    headers: Mapping[str, str] | None,
    http_client: httpx2.AsyncClient | None,
    endpoint: str | None,
    api_version: str | None,
    deployment: str | None,
    credential: Any,
    token_provider: TokenProvider | None,
) -> dict[str, Any]:
    """The adapter's keyword arguments from a factory's options (both factories take the same).

    Each factory passes ``**locals()`` as its first statement: exactly its
    parameters, which stay spelled out in its signature because the registry
    reads it to reject unknown options.
    """
    deployment = deployment or model_id
    if not deployment:
        raise UserError(
            f"no Azure OpenAI deployment named: write it as {name}:<deployment>, "
            f"e.g. {name}:gpt-4.1-mini"
        )
    where = base_url or endpoint or os.environ.get(_ENDPOINT)
    if not where:
        raise UserError(
            f"{_ENDPOINT} is not set: export it (https://<resource>.openai.azure.com) "
            f"to use {name}:{deployment}, or pass base_url"
        )
    if api_version is None:
        api_version = next((v for k in _VERSIONS if (v := os.environ.get(k))), None)
    call_headers: CallHeaders | None = None
    if api_key is None and credential is None and token_provider is None:
        api_key = os.environ.get(_KEY) or None
        if api_key is None:
            credential = default_credential()
    if api_key is None:
        call_headers = entra_headers(credential=credential, token_provider=token_provider)
    return {
        "model_id": model_id or deployment,
        "target": azure_endpoint(where, deployment, api, api_version),
        "deployment": deployment,
        "api_key": api_key,
        "call_headers": call_headers,
        "key_variable": _KEY if call_headers is None else None,
        "headers": headers,
        "client": http_client,
    }


def create_azure_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
    endpoint: str | None = None,
    api_version: str | None = None,
    deployment: str | None = None,
    credential: Any = None,
    token_provider: TokenProvider | None = None,
) -> AzureOpenAIChatAdapter:
    """The ``azure`` entry point: ``azure:<deployment>``, Chat Completions on Azure OpenAI.

    Options win over the environment, which only supplies defaults:
    ``AZURE_OPENAI_ENDPOINT`` (or a bare resource name), ``AZURE_OPENAI_API_KEY``
    (sent as ``api-key``), ``AZURE_OPENAI_API_VERSION`` / ``OPENAI_API_VERSION``
    (a dated version picks ``/openai/deployments/{deployment}/...``; none
    picks the v1 API ``/openai/v1/``). With no key at all, Microsoft Entra
    ID signs in through azure-identity's ``DefaultAzureCredential`` (the
    ``azure`` extra), a fresh bearer token on every call.

    Args:
        model_id: The deployment named after ``azure:``; with ``deployment``
            given, the model behind it (used for settings and prices).
        base_url: The resource endpoint, or a v1 root ending in ``/v1``.
        api_key: The key, instead of ``AZURE_OPENAI_API_KEY``.
        headers: Extra request headers.
        http_client: A client of your own instead of the shared pool.
        endpoint: Same as ``base_url`` (the Azure SDKs' name); ``base_url`` wins.
        api_version: The dated API version, or ``"v1"``.
        deployment: The deployment, when ``model_id`` names the model.
        credential: An azure-identity credential for Entra ID (instead of a key).
        token_provider: A function returning an Entra ID token (sync or async).

    Returns:
        The adapter.

    Raises:
        UserError: no deployment, no endpoint, or no way to sign in.
    """
    return AzureOpenAIChatAdapter(**_settings("azure", "chat", **locals()))


def create_azure_responses_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: httpx2.AsyncClient | None = None,
    endpoint: str | None = None,
    api_version: str | None = None,
    deployment: str | None = None,
    credential: Any = None,
    token_provider: TokenProvider | None = None,
) -> AzureOpenAIResponsesAdapter:
    """The ``azure-responses`` entry point: ``azure-responses:<deployment>``, the Responses API.

    The same options and variables as ``create_azure_adapter``; a dated
    ``api_version`` posts to ``/openai/responses?api-version=...``, none to
    ``/openai/v1/responses``.

    Raises:
        UserError: no deployment, no endpoint, or no way to sign in.
    """
    return AzureOpenAIResponsesAdapter(**_settings("azure-responses", "responses", **locals()))


create_azure_adapter.wire_protocol = "openai-chat"  # type: ignore[attr-defined]
create_azure_responses_adapter.wire_protocol = "openai-responses"  # type: ignore[attr-defined]
