"""An agentkit adapter for Acme, a made-up provider with an OpenAI-compatible API.

Acme speaks the Chat Completions wire format at its own URL, so the adapter
reuses agentkit's OpenAI converter and declares what Acme can and cannot do:
no images, and no forcing of one named tool.
"""

from __future__ import annotations

import os

from agentkit_adapters.openai import OpenAIChatAdapter

from agentkit import Capabilities

__all__ = ["ACME_CAPABILITIES", "DEFAULT_BASE_URL", "create_acme_adapter"]

#: What Acme's API honours (its docs list no image input and no named tool_choice).
ACME_CAPABILITIES = Capabilities(
    tool_choice=frozenset({"auto", "none", "required"}),
    image_input=False,
    settings=frozenset({"max_tokens", "temperature", "top_p", "stop", "seed"}),
)
#: Acme's public API root (OpenAI's wire: the root includes /v1).
DEFAULT_BASE_URL = "https://api.acme.example/v1"


def create_acme_adapter(
    model_id: str, *, base_url: str | None = None, api_key: str | None = None
) -> OpenAIChatAdapter:
    """The ``acme`` entry point: ``acme:<model>`` with ``ACME_API_KEY``.

    Options win over the environment, which only supplies defaults. The
    conformance kit configures the adapter through these two options alone,
    pointing ``base_url`` at its loopback servers.

    Args:
        model_id: The model named after ``acme:``.
        base_url: Acme's API root (``ACME_BASE_URL`` or the public endpoint by default).
        api_key: The key, instead of ``ACME_API_KEY``.

    Returns:
        The adapter.
    """
    return OpenAIChatAdapter(
        model_id,
        api_key=api_key or os.environ.get("ACME_API_KEY"),
        base_url=base_url or os.environ.get("ACME_BASE_URL") or DEFAULT_BASE_URL,
        provider="acme",
        key_variable="ACME_API_KEY",
        capabilities=ACME_CAPABILITIES,
    )


# The wire the kit emulates for Acme, so `agentkit conformance acme:...` needs no --wire.
create_acme_adapter.wire_protocol = "openai-chat"  # type: ignore[attr-defined]
