"""Every one of our adapters passes the kit in emulated mode (known gaps recorded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.conformance import check_adapter

EXPECTED = Path(__file__).parent / "expected_failures"

MODELS = {
    "openai": "openai:gpt-4.1-mini",
    "openai-responses": "openai-responses:gpt-4.1-mini",
    "gemini": "gemini:gemini-2.5-flash",
    "ollama": "ollama:llama3.2",
    "vllm": "vllm:meta-llama/Llama-3.1-8B-Instruct",
    "llamacpp-server": "llamacpp-server:qwen2.5",
    "ollama-openai": "ollama-openai:llama3.2",
    "anthropic": "anthropic:claude-sonnet-4-5",
}


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(MODELS))
async def test_our_adapter_passes_in_emulated_mode(name: str) -> None:
    expected = EXPECTED / f"{name}.yaml"
    report = await check_adapter(
        MODELS[name], expected_failures=expected if expected.exists() else None
    )
    failures = {r.scenario.id: r.problems for r in report.results if r.verdict in ("fail", "xpass")}
    assert report.ok, failures
    verdicts = {r.verdict for r in report.results}
    assert "pass" in verdicts
    # What needs no capability applies to every adapter: none of it is skipped,
    # unless the protocol's wire cannot carry it (Ollama has no cached-token count,
    # Anthropic's wire no reasoning-token count).
    assert all(
        r.verdict in ("pass", "xfail") or (r.verdict == "n/a" and "wire has no" in r.problems[0])
        for r in report.results
        if not r.scenario.needs and r.scenario.level != "robustness"
    ), report.summary()
