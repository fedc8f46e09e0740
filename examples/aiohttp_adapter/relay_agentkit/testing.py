"""Conformance for Relay: its wire is OpenAI Chat, so the kit's emulator fits.

``conformance_harness`` is what ``tests/agentkit_conformance.yaml`` names: the
adapter pointed, through nothing but its ``base_url``, at the kit's loopback
OpenAI Chat emulator. No key is needed; a placeholder is sent.
"""

from __future__ import annotations

from agentkit.conformance import EmulatedHarness

from . import create_relay_adapter

__all__ = ["PLACEHOLDER_KEY", "conformance_harness"]

#: Sent to loopback servers, which check no key; never a real one.
PLACEHOLDER_KEY = "sk-relay-placeholder"


def conformance_harness() -> EmulatedHarness:
    """An emulated harness: ``relay:relay-1`` against the kit's OpenAI Chat emulator."""
    return EmulatedHarness(
        "openai-chat",
        lambda url: create_relay_adapter("relay-1", base_url=f"{url}/v1", api_key=PLACEHOLDER_KEY),
    )
