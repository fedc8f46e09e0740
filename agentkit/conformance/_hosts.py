"""Hosts that serve a known wire at their own URL shapes: Vertex AI and Azure OpenAI.

Each host here is a pair the ``WIRES`` table uses: an ASGI wrapper, made
around the kit's own emulator of the wire (which the kit scripts and watches),
that checks the host's paths and credentials first (``VertexEmulator``,
``AzureOpenAIEmulator`` from ``agentkit.testing``), and the factory options
that point one of our adapters at that shape with placeholder credentials.

The credentials are placeholders the host emulators are told to expect, and
none of them needs the network: Vertex's bearer token is a google-auth
``Credentials`` holding a fixed token (valid, never refreshed, so google-auth
never reaches a token endpoint or the metadata server), its express mode a
placeholder key, Azure's an ``api-key``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import UserError
from ..testing import AzureOpenAIEmulator, VertexEmulator

__all__ = [
    "AZURE_API_VERSION",
    "AZURE_RESPONSES_API_VERSION",
    "PLACEHOLDER_KEY",
    "VERTEX_LOCATION",
    "VERTEX_PROJECT",
    "VERTEX_TOKEN",
    "azure_host",
    "azure_options",
    "vertex_host",
    "vertex_options",
]

#: The key given to adapters that talk to the kit's own servers (emulator, replay).
PLACEHOLDER_KEY = "sk-agentkit-placeholder"
#: The OAuth token the Vertex host expects on project paths (a placeholder).
VERTEX_TOKEN = "ya29.agentkit-placeholder"
#: The one project the Vertex host serves, and the location the adapter is given.
VERTEX_PROJECT = "agentkit-kit"
VERTEX_LOCATION = "us-central1"
#: The dated API version the kit asks Azure's deployments API with (GA, 2024).
AZURE_API_VERSION = "2024-10-21"
#: The version the dated Responses path needs (it has no GA dated version).
AZURE_RESPONSES_API_VERSION = "2025-03-01-preview"

Host = Callable[[Any, Any], Any]


def vertex_host(publisher: str) -> Host:
    """A wrapper putting ``VertexEmulator`` in front of the kit's emulator for ``publisher``."""

    def host(emulator: Any, function: Any) -> Any:
        inner = {"gemini": emulator} if publisher == "google" else {"anthropic": emulator}
        return VertexEmulator(
            function, token=VERTEX_TOKEN, api_key=PLACEHOLDER_KEY, project=VERTEX_PROJECT, **inner
        )

    return host


def _static_credentials() -> Any:
    try:
        from google.oauth2.credentials import Credentials
    except ImportError as exc:
        raise UserError(
            "the kit's Vertex wires sign in with google-auth credentials holding a "
            "placeholder token: pip install 'agentkit-interop-adapters[vertex]'"
        ) from exc
    # No refresh token and no expiry: valid as it is, so google-auth never refreshes it.
    return Credentials(token=VERTEX_TOKEN)  # type: ignore[no-untyped-call]


def vertex_options(express: bool) -> Callable[[], dict[str, Any]]:
    """Factory options for a Vertex wire: a project and a fixed token, or an express key.

    ``api_key: None`` withholds the kit's placeholder key, which a Vertex
    factory would take for an express-mode key.
    """

    def options() -> dict[str, Any]:
        if express:
            return {"api_key": PLACEHOLDER_KEY}
        return {
            "api_key": None,
            "project": VERTEX_PROJECT,
            "location": VERTEX_LOCATION,
            "credentials": _static_credentials(),
        }

    return options


def azure_host(api: str) -> Host:
    """A wrapper putting ``AzureOpenAIEmulator`` in front of the kit's ``api`` emulator."""

    def host(emulator: Any, function: Any) -> Any:
        inner = {"chat": emulator} if api == "chat" else {"responses": emulator}
        return AzureOpenAIEmulator(function, api_key=PLACEHOLDER_KEY, **inner)

    return host


def azure_options(api_version: str) -> Callable[[], dict[str, Any]]:
    """Factory options for an Azure wire: the API version that picks its URL shape.

    Given as an option, it wins over ``AZURE_OPENAI_API_VERSION`` in the
    environment, so the wire is the one the kit emulates whatever is set.
    """
    return lambda: {"api_version": api_version}
