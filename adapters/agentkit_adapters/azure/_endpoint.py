"""Where an Azure OpenAI call goes and how it signs in: URLs, API versions, Entra ID tokens.

Two API shapes, both recorded (``tests/fixtures/real_traffic/azure_openai``):

- the v1 API, ``{endpoint}/openai/v1/chat/completions`` and ``/openai/v1/responses``,
  with the deployment as the body's ``model`` and no ``api-version``
  (``v1_*`` cases);
- the dated API, ``{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...``
  (``chat_*`` cases) and ``{endpoint}/openai/responses?api-version=...``
  (``responses_stream_preview_api_cognitiveservices``).

An ``api_version`` (option, or ``AZURE_OPENAI_API_VERSION`` / ``OPENAI_API_VERSION``)
picks the dated API; none, or ``"v1"``, picks the v1 API. A base URL that
already ends in ``/v1`` is taken as the v1 root as it is (the conformance kit
and the emulators hand over such roots).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import anyio.to_thread

from agentkit.exceptions import UserError

from .._exchange import CallHeaders

__all__ = [
    "ENTRA_SCOPE",
    "AzureEndpoint",
    "TokenProvider",
    "azure_endpoint",
    "default_credential",
    "entra_headers",
]

#: The scope of an Entra ID token for Azure OpenAI (Cognitive Services).
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"

#: ``() -> token`` (sync or async), as the official SDK's ``azure_ad_token_provider``.
TokenProvider = Callable[[], str | Awaitable[str]]

Api = Literal["chat", "responses"]


@dataclass(frozen=True, slots=True)
class AzureEndpoint:
    """One resolved Azure OpenAI target.

    Attributes:
        base_url: The root named in errors and keyed in the connection pool.
        url: Where to post, query string included.
        api_version: The dated API version, or None for the v1 API.
    """

    base_url: str
    url: str
    api_version: str | None


def _resource_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if "://" not in value:
        # A bare resource name, as the portal shows it.
        return f"https://{value}.openai.azure.com"
    return value


def azure_endpoint(
    endpoint: str, deployment: str, api: Api, api_version: str | None
) -> AzureEndpoint:
    """The URL for ``api`` on ``deployment`` at ``endpoint``.

    Args:
        endpoint: ``https://RESOURCE.openai.azure.com`` (or ``.cognitiveservices.azure.com``),
            a bare resource name, or a v1 root ending in ``/v1``.
        deployment: The deployment name (in the dated chat path).
        api: ``"chat"`` or ``"responses"``.
        api_version: A dated version (``2024-10-21``, ``2025-03-01-preview``);
            None or ``"v1"`` for the v1 API. With a v1 root it is sent as
            ``api-version`` when given (``preview``, say).

    Returns:
        The resolved endpoint.
    """
    root = _resource_url(endpoint)
    version = None if api_version in (None, "", "v1") else api_version
    path = "chat/completions" if api == "chat" else "responses"
    if root.endswith("/v1"):
        query = f"?api-version={quote(version)}" if version else ""
        return AzureEndpoint(root, f"{root}/{path}{query}", None)
    root = root.removesuffix("/openai")
    if version is None:
        return AzureEndpoint(root, f"{root}/openai/v1/{path}", None)
    query = f"?api-version={quote(version)}"
    if api == "chat":
        where = f"{root}/openai/deployments/{quote(deployment, safe='')}/chat/completions"
        return AzureEndpoint(root, where + query, version)
    return AzureEndpoint(root, f"{root}/openai/responses{query}", version)


def _token_of(value: Any) -> str:
    token = getattr(value, "token", value)  # an AccessToken, or the string itself
    if not isinstance(token, str) or not token:
        raise UserError(f"the Azure credential returned no token: {type(value).__name__}")
    return token


def entra_headers(
    *, credential: Any = None, token_provider: TokenProvider | None = None
) -> CallHeaders:
    """Per-call ``Authorization: Bearer`` headers from an Entra ID credential.

    The token is asked for on every call; the credential caches it and
    refreshes it before it expires (as azure-identity's credentials do), so
    a long run never sends a stale one.

    Args:
        credential: An azure-identity credential (``DefaultAzureCredential``,
            sync or ``.aio``): anything with ``get_token(scope)``.
        token_provider: Or a function returning the token (sync or async).

    Returns:
        The exchange's ``call_headers`` hook.
    """

    async def token() -> str:
        if token_provider is not None:
            value = token_provider()
            return _token_of(await value if inspect.isawaitable(value) else value)
        get_token = credential.get_token
        if inspect.iscoroutinefunction(get_token):
            return _token_of(await get_token(ENTRA_SCOPE))
        # A sync credential may reach the network (managed identity, the CLI):
        # never on the event loop.
        return _token_of(await anyio.to_thread.run_sync(get_token, ENTRA_SCOPE))

    async def headers() -> Mapping[str, str]:
        return {"authorization": f"Bearer {await token()}"}

    return headers


def default_credential() -> Any:
    """azure-identity's ``DefaultAzureCredential`` (environment, managed identity, CLI...).

    Raises:
        UserError: azure-identity is not installed.
    """
    try:
        from azure.identity import DefaultAzureCredential  # type: ignore[import-not-found]
    except ImportError as exc:
        raise UserError(
            "no Azure OpenAI key: set AZURE_OPENAI_API_KEY (or pass api_key), or install "
            "the azure extra (pip install 'agentkit-interop-adapters[azure]') to sign in "
            "with Microsoft Entra ID through DefaultAzureCredential"
        ) from exc
    return DefaultAzureCredential()
