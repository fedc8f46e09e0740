"""Prices come from genai-prices or a local override; unknown is None, never zero."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentkit import Message, RunResult, Usage
from agentkit._cost import _overrides, price_usage


def test_known_model_is_priced_with_cached_tokens_cheaper() -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=0)
    cached = Usage(input_tokens=1_000_000, cache_read_input_tokens=1_000_000)
    full = price_usage("openai:gpt-4.1-mini", usage).cost_usd
    cheap = price_usage("openai:gpt-4.1-mini", cached).cost_usd
    assert full is not None
    assert cheap is not None
    assert full > 0
    assert cheap < full


def test_gemini_provider_name_is_mapped() -> None:
    cost = price_usage("gemini:gemini-2.5-flash", Usage(input_tokens=1000, output_tokens=1000))
    assert cost.cost_usd is not None
    assert cost.cost_usd > 0


@pytest.mark.parametrize(
    ("model", "same_as"),
    [
        ("azure:gpt-4.1-mini", None),
        ("azure-responses:gpt-4.1-mini", "azure:gpt-4.1-mini"),
        ("deepseek-responses:deepseek-chat", "deepseek:deepseek-chat"),
        ("openrouter-responses:openai/gpt-4o", "openrouter:openai/gpt-4o"),
    ],
)
def test_azure_and_the_responses_hosts_are_priced(model: str, same_as: str | None) -> None:
    usage = Usage(input_tokens=1000, output_tokens=1000)
    cost = price_usage(model, usage).cost_usd
    assert cost is not None
    assert cost > 0
    if same_as is not None:
        assert cost == price_usage(same_as, usage).cost_usd


def test_an_azure_deployment_name_or_any_open_responses_server_is_unknown() -> None:
    usage = Usage(input_tokens=1000, output_tokens=1000)
    assert price_usage("azure:my-prod-deployment", usage).cost_usd is None
    assert price_usage("openresponses:gpt-4o", usage).cost_usd is None


def test_unknown_model_is_unknown_not_zero() -> None:
    assert price_usage("openai:no-such-model-xyz", Usage(input_tokens=10)).cost_usd is None
    assert price_usage("function:function", Usage(input_tokens=10)).cost_usd is None


def test_override_file_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"local:mine": {"input": 2.0, "output": 4.0, "cache_read": 1.0}}),
        encoding="utf-8",
    )
    monkeypatch.setenv("AGENTKIT_PRICES", str(path))
    _overrides.cache_clear()
    usage = Usage(input_tokens=1_000_000, cache_read_input_tokens=500_000, output_tokens=250_000)
    assert price_usage("local:mine", usage).cost_usd == pytest.approx(0.5 * 2 + 0.5 * 1 + 1.0)


def test_run_result_cost_is_unknown_when_any_model_is() -> None:
    result = RunResult(
        output="x",
        messages=[Message.user("x")],
        usage=Usage(),
        usage_by_model={
            "openai:gpt-4.1-mini": Usage(input_tokens=100),
            "function:function": Usage(input_tokens=100),
        },
        turns=2,
        model="openai:gpt-4.1-mini",
    )
    assert result.cost_usd is None
    priced = result.priced_usage()
    assert priced["openai:gpt-4.1-mini"].cost_usd is not None


def test_the_in_process_local_model_costs_nothing() -> None:
    usage = Usage(input_tokens=1000, output_tokens=500)
    assert price_usage("llamacpp:smollm2-135m", usage).cost_usd == 0.0
