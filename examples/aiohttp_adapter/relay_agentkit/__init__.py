"""An agentkit adapter for Relay, a made-up OpenAI-compatible gateway, on aiohttp.

Relay speaks the Chat Completions wire format, so the adapter reuses
agentkit's pure OpenAI converters; the HTTP is its own, on aiohttp (one
session per event loop, a bounded connector), and it needs nothing else from
agentkit than the public ``agentkit.adapter`` seam. ``relay:<model>`` resolves
here through the ``agentkit.adapters`` entry point.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import aiohttp

from agentkit.exceptions import UserError

from ._adapter import DEFAULT_BASE_URL, RELAY_CAPABILITIES, RelayAdapter
from ._session import aclose_sessions

__all__ = [
    "DEFAULT_BASE_URL",
    "RELAY_CAPABILITIES",
    "RelayAdapter",
    "aclose_sessions",
    "create_relay_adapter",
]


def create_relay_adapter(
    model_id: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    http_client: aiohttp.ClientSession | None = None,
) -> RelayAdapter:
    """The ``relay`` entry point: ``relay:<model>``.

    Options win over the environment, which only supplies defaults:
    ``RELAY_API_KEY`` for the key and ``RELAY_BASE_URL`` for the API root.

    Args:
        model_id: The model named after ``relay:``.
        base_url: The API root, up to and including ``/v1``.
        api_key: The key, instead of ``RELAY_API_KEY``.
        headers: Extra request headers.
        http_client: An ``aiohttp.ClientSession`` of your own instead of the
            adapter's per-loop session (you close it).

    Returns:
        The adapter.

    Raises:
        UserError: no model is named, no key is given or set, or
            ``http_client`` is not an ``aiohttp.ClientSession``.
    """
    if not model_id:
        raise UserError("no Relay model named: write it as relay:<model>, e.g. relay:relay-1")
    api_key = api_key or os.environ.get("RELAY_API_KEY")
    if not api_key:
        raise UserError(
            f"RELAY_API_KEY is not set: export it (or pass api_key=...) to use relay:{model_id}"
        )
    # Checked at run time too: options often come untyped (model_options, YAML).
    if http_client is not None and not isinstance(http_client, aiohttp.ClientSession):
        raise UserError(
            "relay: http_client must be an aiohttp.ClientSession (the Relay adapter runs "
            f"on aiohttp), not {type(http_client).__module__}.{type(http_client).__qualname__}"
        )
    return RelayAdapter(
        model_id,
        api_key=api_key,
        base_url=base_url or os.environ.get("RELAY_BASE_URL") or DEFAULT_BASE_URL,
        headers=headers,
        session=http_client,
    )


#: The wire protocol the conformance kit can emulate for this factory.
create_relay_adapter.wire_protocol = "openai-chat"  # type: ignore[attr-defined]
