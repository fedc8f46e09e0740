"""The conformance harness for Acme: its wire is OpenAI Chat, so the kit's emulator fits."""

from __future__ import annotations

from agentkit.conformance import EmulatedHarness

from . import create_acme_adapter


def conformance_harness() -> EmulatedHarness:
    """An emulated harness: the adapter pointed at a loopback OpenAI Chat emulator."""
    return EmulatedHarness(
        "openai-chat", lambda url: create_acme_adapter("acme-large", base_url=f"{url}/v1")
    )
