"""The example agent file, run by ``agentkit.run`` through the real Gemini adapter.

The model is the Gemini emulator on loopback: it calls ``get_weather`` first,
then answers with what the tool returned, so the test covers the whole loop:
agent file -> runner -> adapter -> wire -> emulator -> wire -> tool -> answer.
"""

from __future__ import annotations

import importlib

import pytest
from agentkit_adapters.gemini import GeminiAdapter

import agentkit
from agentkit import RunResult
from agentkit.testing import GeminiEmulator, serve_asgi
from tests.adapters._weather import AGENT_FILE, weather_model


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_weather_agent_file_runs_on_gemini(streaming: bool) -> None:
    agent = agentkit.load_agent(AGENT_FILE)
    emulator = GeminiEmulator(weather_model, api_key="k", call_ids=True, thought_signatures=True)
    with serve_asgi(emulator) as url:
        adapter = GeminiAdapter("gemini-3-flash-preview", api_key="k", base_url=url)
        if streaming:
            events = [
                e async for e in agentkit.run_stream(agent, "Weather in Paris?", model=adapter)
            ]
            result = events[-1].result  # type: ignore[union-attr]
        else:
            result = await agentkit.run(agent, "Weather in Paris?", model=adapter)
    assert isinstance(result, RunResult)
    # The answer holds what the tool really returned (load_agent put its folder on sys.path).
    tools = importlib.import_module("weather_tools")
    weather = tools.get_weather.function("paris")
    assert result.output == (f"It is {weather.temperature_c} °C and {weather.conditions} in Paris.")
    assert result.turns == 2
    first, second = emulator.requests
    assert first["systemInstruction"]["parts"][0]["text"].startswith("You are a concise weather")
    assert first["generationConfig"] == {"temperature": 0, "maxOutputTokens": 256}
    (declaration,) = first["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "get_weather"
    assert declaration["parametersJsonSchema"]["required"] == ["city"]
    # The second turn sends the call back with its id and Gemini's signature, then the result.
    call, result_part = second["contents"][1]["parts"][0], second["contents"][2]["parts"][0]
    assert call["thoughtSignature"] == emulator.signatures[0]
    assert result_part["functionResponse"]["id"] == call["functionCall"]["id"]
    assert result_part["functionResponse"]["response"]["output"]["city"] == "Paris"
    assert result.usage is not None
    assert result.usage.requests == 2
    # The schema's "default" keyword cannot be sent; the run says so instead of hiding it.
    assert any(w.kind == "schema_changed" and w.feature == "default" for w in result.warnings)
