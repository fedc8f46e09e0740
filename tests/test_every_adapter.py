"""One agent file, every wire protocol: the weather example through each real adapter.

Each adapter talks HTTP to a loopback emulator of its provider's protocol
(OpenAI Chat, OpenAI Responses, Gemini, Ollama, Anthropic, Azure OpenAI on
its v1 and dated paths; an OpenAI-compatible preset and an Open Responses
server), all scripted by the same model function. The agent file is the same
object every time; the tool results and final answers must be identical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from agentkit import RunEndEvent, ToolResultPart, load_agent, run_stream
from agentkit.testing import (
    AnthropicEmulator,
    AzureOpenAIEmulator,
    GeminiEmulator,
    OllamaEmulator,
    OpenAIChatEmulator,
    OpenAIResponsesEmulator,
    serve_asgi,
)

from .weather_script import expected_answer, weather_script

EXAMPLE = Path(__file__).parent.parent / "examples" / "weather" / "agent.yaml"

#: (model string, emulator, environment for the adapter's factory given the root URL)
PROTOCOLS: dict[str, tuple[str, Callable[..., Any], Callable[[str], dict[str, str]]]] = {
    "openai-chat": (
        "openai:gpt-4.1-mini",
        OpenAIChatEmulator,
        lambda url: {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "k"},
    ),
    "openai-responses": (
        "openai-responses:gpt-4.1-mini",
        OpenAIResponsesEmulator,
        lambda url: {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "k"},
    ),
    "gemini": (
        "gemini:gemini-2.5-flash",
        GeminiEmulator,
        lambda url: {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": "k"},
    ),
    "ollama": ("ollama:llama3.2", OllamaEmulator, lambda url: {"OLLAMA_HOST": url}),
    "anthropic": (
        "anthropic:claude-sonnet-4-5",
        AnthropicEmulator,
        lambda url: {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "k"},
    ),
    "azure-v1-chat": (
        "azure:gpt-4.1-mini",
        partial(AzureOpenAIEmulator, api_key="k", deployments={"gpt-4.1-mini"}),
        lambda url: {"AZURE_OPENAI_ENDPOINT": url, "AZURE_OPENAI_API_KEY": "k"},
    ),
    "azure-dated-chat": (
        "azure:gpt-4.1-mini",
        partial(AzureOpenAIEmulator, api_key="k", deployments={"gpt-4.1-mini"}),
        lambda url: {
            "AZURE_OPENAI_ENDPOINT": url,
            "AZURE_OPENAI_API_KEY": "k",
            "OPENAI_API_VERSION": "2024-10-21",
        },
    ),
    "azure-responses": (
        "azure-responses:gpt-4.1-mini",
        partial(AzureOpenAIEmulator, api_key="k", deployments={"gpt-4.1-mini"}),
        lambda url: {"AZURE_OPENAI_ENDPOINT": url, "AZURE_OPENAI_API_KEY": "k"},
    ),
    "openresponses": (
        "openresponses:gpt-4.1-mini",
        OpenAIResponsesEmulator,
        lambda url: {"OPENRESPONSES_BASE_URL": f"{url}/v1"},
    ),
    "vllm-preset": (
        "vllm:meta-llama/Llama-3.1-8B-Instruct",
        OpenAIChatEmulator,
        lambda url: {"VLLM_BASE_URL": f"{url}/v1"},
    ),
}


@pytest.fixture(params=sorted(PROTOCOLS), scope="module")
def protocol(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, dict[str, str]]]:
    name = request.param
    model, emulator, env = PROTOCOLS[name]
    with serve_asgi(emulator(weather_script)) as url:
        yield name, model, env(url)


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_the_example_runs_unchanged_on_every_protocol(
    protocol: tuple[str, str, dict[str, str]], stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, model, env = protocol
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    agent = load_agent(EXAMPLE)
    events = [
        e
        async for e in run_stream(agent, "What's the weather in Oslo?", model=model, stream=stream)
    ]
    final = events[-1]
    assert isinstance(final, RunEndEvent), name
    result = final.result
    assert result.output == expected_answer("Oslo"), name
    assert result.turns == 2
    [tool_message] = [m for m in result.messages if m.role == "tool"]
    [tool_result] = tool_message.parts
    assert isinstance(tool_result, ToolResultPart)
    assert tool_result.structured_content == {
        "city": "Oslo",
        "temperature_c": tool_result.structured_content["temperature_c"],  # type: ignore[index]
        "conditions": tool_result.structured_content["conditions"],  # type: ignore[index]
    }
    assert expected_answer("Oslo").startswith(
        f"It is {tool_result.structured_content['temperature_c']}°C"  # type: ignore[index]
    )
    assert result.usage.requests == 2
    assert result.usage.input_tokens > 0
    assert result.model.endswith(":" + model.split(":", 1)[1])
