"""The example agent file, run by ``agentkit.run`` through the real Anthropic adapter.

The model is the Anthropic emulator on loopback: it calls ``get_weather``
first, then answers with what the tool returned, so the test covers the
whole loop: agent file -> runner -> adapter -> wire -> emulator -> wire ->
tool -> answer, the model string and its options included.
"""

from __future__ import annotations

import importlib
import json

import pytest

import agentkit
from agentkit import RunResult
from agentkit.testing import AnthropicEmulator, serve_asgi
from tests.adapters._weather import AGENT_FILE, weather_model

KEY = "sk-test-planted"


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_weather_agent_file_runs_on_anthropic(streaming: bool) -> None:
    agent = agentkit.load_agent(AGENT_FILE)
    emulator = AnthropicEmulator(weather_model, api_key=KEY)
    with serve_asgi(emulator) as url:
        options = {"base_url": url, "api_key": KEY}
        model = "anthropic:claude-haiku-4-5"
        if streaming:
            events = [
                e
                async for e in agentkit.run_stream(
                    agent, "Weather in Paris?", model=model, model_options=options
                )
            ]
            result = events[-1].result  # type: ignore[union-attr]
        else:
            result = await agentkit.run(
                agent, "Weather in Paris?", model=model, model_options=options
            )
    assert isinstance(result, RunResult)
    # The answer holds what the tool really returned (load_agent put its folder on sys.path).
    tools = importlib.import_module("weather_tools")
    weather = tools.get_weather.function("paris")
    assert result.output == f"It is {weather.temperature_c} °C and {weather.conditions} in Paris."
    assert result.turns == 2
    first, second = emulator.requests
    assert first["model"] == "claude-haiku-4-5"
    assert first["system"][0]["text"].startswith("You are a concise weather")
    assert (first["temperature"], first["max_tokens"]) == (0, 256)
    assert first.get("stream", False) is streaming
    (tool,) = first["tools"]
    assert tool["name"] == "get_weather"
    assert tool["input_schema"]["required"] == ["city"]
    # The second turn sends the call back under the emulator's id, then its result.
    (call_id,) = emulator.call_ids
    call = second["messages"][1]["content"][0]
    assert call == {
        "type": "tool_use",
        "id": call_id,
        "name": "get_weather",
        "input": {"city": "paris"},
    }
    (result_block,) = second["messages"][2]["content"]
    assert result_block["type"] == "tool_result"
    assert result_block["tool_use_id"] == call_id
    assert json.loads(result_block["content"][0]["text"])["city"] == "Paris"
    assert result.usage is not None
    assert result.usage.requests == 2
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0
