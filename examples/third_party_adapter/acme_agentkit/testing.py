"""Conformance for Acme: its wire is OpenAI Chat, so the kit's emulator fits.

``conformance_harness`` runs the adapter against the kit's emulator;
``replay_adapter`` is the adapter the replay configuration answers from the
recorded cassettes (``tests/cassettes``: offline, no key, no emulator), and
``python -m acme_agentkit.testing DIR`` records them again.
"""

from __future__ import annotations

import sys

from agentkit_adapters.openai import OpenAIChatAdapter

from agentkit.conformance import EmulatedHarness

from . import create_acme_adapter


def conformance_harness() -> EmulatedHarness:
    """An emulated harness: the adapter pointed at a loopback OpenAI Chat emulator."""
    return EmulatedHarness(
        "openai-chat", lambda url: create_acme_adapter("acme-large", base_url=f"{url}/v1")
    )


def replay_adapter() -> OpenAIChatAdapter:
    """The adapter a replay runs: no key needed, nothing is contacted."""
    return create_acme_adapter("acme-large")


def record_cassettes(directory: str) -> int:
    """Record the emulated run's HTTP into ``directory/acme/``; 0 when it passed."""
    import anyio

    from agentkit.conformance import record_harness

    async def run() -> bool:
        report = await record_harness(
            conformance_harness(), directory, target="acme:acme-large", levels=["core", "tools"]
        )
        print(report.summary())
        return report.ok

    return 0 if anyio.run(run) else 1


if __name__ == "__main__":
    sys.exit(record_cassettes(sys.argv[1] if len(sys.argv) > 1 else "tests/cassettes"))
