"""Settings per OpenAI model id, through the runner: what a model rejects is left out."""

from __future__ import annotations

import pytest
from agentkit_adapters.openai import OpenAIChatAdapter, is_openai_reasoning_model, openai_settings
from agentkit_adapters.openai_responses import OpenAIResponsesAdapter

import agentkit
from agentkit import Agent, ModelSettings, TextPart
from agentkit.testing import OpenAIChatEmulator, serve_asgi

KEY = "sk-test-planted"
ALL = frozenset({"temperature", "top_p", "reasoning_effort", "seed"})


@pytest.mark.parametrize(
    ("model_id", "reasoning"),
    [
        ("gpt-5-mini", True),
        ("gpt-5", True),
        ("o3-mini", True),
        ("o4-mini-2025-04-16", True),
        ("gpt-5-chat-latest", False),
        ("gpt-4.1-mini", False),
        ("gpt-4o", False),
        ("ft:gpt-4o-mini:acme", None),
        ("llama3.2", None),
    ],
)
def test_reasoning_models_are_told_by_their_id(model_id: str, reasoning: bool | None) -> None:
    assert is_openai_reasoning_model(model_id) is reasoning


def test_the_settings_each_kind_of_model_takes() -> None:
    assert openai_settings("gpt-5-mini", ALL) == {"reasoning_effort", "seed"}
    assert openai_settings("gpt-4o", ALL) == {"temperature", "top_p", "seed"}
    assert openai_settings("llama3.2", ALL) == ALL  # unknown: the host decides
    assert "temperature" not in OpenAIChatAdapter("o3").capabilities.settings
    assert "temperature" not in OpenAIResponsesAdapter("gpt-5").capabilities.settings
    assert "reasoning_effort" not in OpenAIResponsesAdapter("gpt-4.1").capabilities.settings


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("model_id", "sent", "left_out"),
    [
        ("gpt-5-mini", {"reasoning_effort": "low"}, {"temperature", "top_p"}),
        ("gpt-4.1-mini", {"temperature": 0.2, "top_p": 0.9}, {"reasoning_effort"}),
    ],
)
async def test_the_runner_sends_only_what_the_model_takes(
    model_id: str, sent: dict[str, object], left_out: set[str]
) -> None:
    agent = Agent(
        name="a", settings=ModelSettings(temperature=0.2, top_p=0.9, reasoning_effort="low")
    )
    emulator = OpenAIChatEmulator(lambda request: [TextPart(text="ok")], api_key=KEY)
    with serve_asgi(emulator) as url:
        adapter = OpenAIChatAdapter(model_id, api_key=KEY, base_url=url)
        result = await agentkit.run(agent, "hi", model=adapter)
    (body,) = emulator.requests
    assert {k: body[k] for k in ("temperature", "top_p", "reasoning_effort") if k in body} == sent
    assert {w.feature for w in result.warnings if w.kind == "unsupported_setting"} == left_out
