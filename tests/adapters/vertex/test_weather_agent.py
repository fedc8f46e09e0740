"""The example agent file, run by ``agentkit.run`` through the Vertex adapter, on Vertex's URLs.

The model is a ``VertexEmulator`` on loopback (Gemini and Claude behind
Vertex's paths and auth): it calls ``get_weather`` first, then answers with
what the tool returned. Auth is real google-auth credentials (a fixed OAuth
token) sent as a bearer header, or an express-mode key.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from agentkit_adapters.vertex import create_vertex_adapter
from google.oauth2.credentials import Credentials

import agentkit
from agentkit import Message, ModelRequest, RunResult
from agentkit.exceptions import AuthenticationError
from agentkit.testing import VertexEmulator, serve_asgi
from tests.adapters._weather import AGENT_FILE, weather_model

TOKEN = "ya29.test-planted"
KEY = "AQ.test-planted"
PROJECT = "weather-project"


async def _run(model: str, options: dict[str, Any], streaming: bool) -> RunResult:
    agent = agentkit.load_agent(AGENT_FILE)
    if not streaming:
        return await agentkit.run(agent, "Weather in Paris?", model=model, model_options=options)
    events = [
        e
        async for e in agentkit.run_stream(
            agent, "Weather in Paris?", model=model, model_options=options
        )
    ]
    result = events[-1].result  # type: ignore[union-attr]
    assert isinstance(result, RunResult)
    return result


def _check_answer(result: RunResult) -> None:
    # The answer holds what the tool really returned (load_agent put its folder on sys.path).
    tools = importlib.import_module("weather_tools")
    weather = tools.get_weather.function("paris")
    assert result.output == f"It is {weather.temperature_c} °C and {weather.conditions} in Paris."
    assert result.turns == 2


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_weather_agent_runs_on_gemini_through_vertex(streaming: bool) -> None:
    emulator = VertexEmulator(weather_model, token=TOKEN, project=PROJECT, thought_signatures=True)
    with serve_asgi(emulator) as url:
        options = {
            "base_url": url,
            "project": PROJECT,
            "location": "europe-west4",
            "credentials": Credentials(token=TOKEN),
        }
        result = await _run("vertex:gemini-2.5-flash", options, streaming)
    _check_answer(result)
    method = "streamGenerateContent?alt=sse" if streaming else "generateContent"
    prefix = f"/v1beta1/projects/{PROJECT}/locations/europe-west4/publishers/google/models"
    assert emulator.paths == [f"{prefix}/gemini-2.5-flash:{method}"] * 2
    assert [h["authorization"] for h in emulator.headers] == [f"Bearer {TOKEN}"] * 2
    first, second = emulator.requests
    assert first["systemInstruction"]["parts"][0]["text"].startswith("You are a concise weather")
    assert first["generationConfig"] == {"temperature": 0, "maxOutputTokens": 256}
    (declaration,) = first["tools"][0]["functionDeclarations"]
    assert declaration["name"] == "get_weather"
    # Turn 2 sends the call back with the signature the emulator handed out.
    call = second["contents"][1]["parts"][0]
    assert call["functionCall"] == {"name": "get_weather", "args": {"city": "paris"}}
    assert call["thoughtSignature"] == emulator.gemini.signatures[0]
    # Priced from genai-prices' Vertex ("google") table.
    assert result.priced_usage()["vertex:gemini-2.5-flash"].cost_usd is not None


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_weather_agent_runs_on_claude_through_vertex(streaming: bool) -> None:
    emulator = VertexEmulator(weather_model, token=TOKEN, project=PROJECT)
    with serve_asgi(emulator) as url:
        options = {"base_url": url, "project": PROJECT, "credentials": Credentials(token=TOKEN)}
        result = await _run("vertex:claude-sonnet-4-5", options, streaming)
    _check_answer(result)
    method = "streamRawPredict" if streaming else "rawPredict"
    prefix = f"/v1/projects/{PROJECT}/locations/global/publishers/anthropic/models"
    assert emulator.paths == [f"{prefix}/claude-sonnet-4-5:{method}"] * 2
    assert [h["authorization"] for h in emulator.headers] == [f"Bearer {TOKEN}"] * 2
    first, second = emulator.requests
    assert "model" not in first
    assert first["anthropic_version"] == "vertex-2023-10-16"
    assert first.get("stream", False) is streaming
    assert first["tools"][0]["name"] == "get_weather"
    (call_id,) = emulator.anthropic.call_ids
    assert second["messages"][1]["content"][0]["id"] == call_id
    assert second["messages"][2]["content"][0]["tool_use_id"] == call_id


@pytest.mark.anyio
async def test_weather_agent_runs_in_express_mode_with_a_key() -> None:
    emulator = VertexEmulator(weather_model, api_key=KEY)
    with serve_asgi(emulator) as url:
        result = await _run("vertex:gemini-2.5-flash", {"base_url": url, "api_key": KEY}, True)
    _check_answer(result)
    path = "/v1beta1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert emulator.paths == [path] * 2
    assert [h["x-goog-api-key"] for h in emulator.headers] == [KEY] * 2
    assert all("authorization" not in h for h in emulator.headers)


@pytest.mark.anyio
async def test_a_wrong_token_is_an_authentication_error() -> None:
    emulator = VertexEmulator(weather_model, token=TOKEN, project=PROJECT)
    with serve_asgi(emulator) as url:
        adapter = create_vertex_adapter(
            "gemini-2.5-flash", base_url=url, project=PROJECT, credentials=Credentials("ya29.x")
        )
        with pytest.raises(AuthenticationError) as caught:
            await adapter.generate(ModelRequest(messages=[Message.user("hi")]))
    assert caught.value.status_code == 401
    assert "invalid authentication credentials" in str(caught.value)
    assert emulator.gemini.calls == []  # refused before the model saw it
