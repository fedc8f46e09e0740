"""``agentkit tokens`` and ``agentkit run --tokens``: measured without any network."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from agentkit import load_agent
from agentkit._cli import main
from agentkit._prefix import PrefixCost, measure_prefix

from .weather_script import weather_script

ROOT = Path(__file__).parent.parent
WEATHER = ROOT / "examples" / "weather" / "agent.yaml"
MODELS = ["openai:gpt-4.1-mini", "gemini:gemini-2.5-flash", "anthropic:claude-sonnet-4-5"]


def test_the_weather_prefix_compiles_to_different_sizes_per_provider() -> None:
    agent = load_agent(WEATHER)

    async def measure() -> list[PrefixCost]:
        return [await measure_prefix(agent, model) for model in MODELS]

    costs = anyio.run(measure)
    tools = [c.tools for c in costs]
    assert all(t > 0 for t in tools)
    assert len(set(tools)) == 3, tools
    for cost in costs:
        assert cost.cost_usd is not None
        assert cost.cost_usd > 0
        assert cost.cached_cost_usd < cost.cost_usd


def test_tokens_prints_a_side_by_side_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["tokens", str(WEATHER)]
    for model in [*MODELS, "ollama:llama3.2"]:
        args += ["--model", model]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["model", "instructions", "tools", "prefix"]
    rows = {line.split()[0]: line.split() for line in lines[1:5]}
    assert set(rows) == {*MODELS, "ollama:llama3.2"}
    # No price is known for a local Ollama model: unknown, never zero.
    assert rows["ollama:llama3.2"][4:6] == ["unknown", "unknown"]


def test_run_tokens_prints_the_ledger_and_advice(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentkit.testing import OpenAIChatEmulator, serve_asgi

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-planted")
    with serve_asgi(OpenAIChatEmulator(weather_script)) as url:
        code = main(
            [
                "run", str(WEATHER), "--model", "openai:gpt-4.1-mini", "--base-url", f"{url}/v1",
                "--input", "What's the weather in Paris?", "--tokens",
            ]
        )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    table = out[out.index("where the tokens went") :].splitlines()
    assert table[1].split()[:3] == ["part", "call", "1"]
    names = [line.split()[0] for line in table[2:10]]
    assert names == [
        "instructions",
        "tool",
        "history",
        "tool",
        "new",
        "unattributed",
        "output",
        "reasoning",
    ]
    assert any(line.startswith("estimated with openai:gpt-4.1-mini") for line in table)
    assert any(line.startswith("advice: tool definitions") for line in table)
