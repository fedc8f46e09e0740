"""Capabilities per Gemini model id, and what the runner plans from them.

Gemini 2.x rejects a request that offers tools and asks for JSON output
(``responseMimeType: application/json``); Gemini 3 takes both. The runner
must see that difference for the model actually called: on 2.x it forces a
``final_result`` tool instead, on 3 it asks for native JSON.
"""

from __future__ import annotations

from typing import Any

import pytest
from agentkit_adapters.gemini import GeminiAdapter, gemini_capabilities
from agentkit_adapters.gemini._profile import gemini_generation
from pydantic import BaseModel

import agentkit
from agentkit import Agent, ModelRequest, TextPart, ToolCallPart, tool
from agentkit.testing import GeminiEmulator, serve_asgi


class Forecast(BaseModel):
    city: str
    temperature_c: int


@tool
def get_weather(city: str) -> str:
    """The weather now."""
    return f"{city}: 21 C"


AGENT = Agent(name="forecaster", tools=[get_weather], output_type=Forecast)
PLAIN = Agent(name="forecaster", output_type=Forecast)


@pytest.mark.parametrize(
    ("model_id", "generation"),
    [
        ("gemini-2.5-flash", (2, 5)),
        ("models/gemini-2.0-flash-001", (2, 0)),
        ("gemini-3-pro-preview", (3, 0)),
        ("gemini-3.1-flash-lite-preview", (3, 1)),
        ("gemini-flash-latest", None),
        ("gemma-3-27b-it", None),
    ],
)
def test_the_generation_is_read_from_the_id(
    model_id: str, generation: tuple[int, int] | None
) -> None:
    assert gemini_generation(model_id) == generation


def test_only_gemini_3_and_later_combine_tools_with_native_output() -> None:
    assert not gemini_capabilities("gemini-2.5-flash").native_output_with_tools
    assert gemini_capabilities("gemini-3-flash-preview").native_output_with_tools
    assert gemini_capabilities("gemini-4-pro").native_output_with_tools
    # An id that does not say its version gets what works on every model.
    assert not gemini_capabilities("gemini-flash-latest").native_output_with_tools
    # Everything else is the same for every model, and the adapter declares it.
    assert GeminiAdapter("gemini-2.5-flash").capabilities == gemini_capabilities("gemini-2.5-flash")
    assert GeminiAdapter("models/gemini-3-pro-preview").capabilities.native_output_with_tools


def _scripted(request: ModelRequest) -> Any:
    """Calls the tool first; then answers in whichever form the request asks for."""
    if request.messages[-1].role != "tool":
        return [ToolCallPart(id="w", name="get_weather", arguments={"city": "Paris"})]
    answer = {"city": "Paris", "temperature_c": 21}
    if any(t.name == "final_result" for t in request.tools):
        return [ToolCallPart(id="f", name="final_result", arguments=answer)]
    assert request.output_schema is not None, "neither native output nor an output tool"
    return [TextPart(text='{"city": "Paris", "temperature_c": 21}')]


async def _run(agent: Agent, model_id: str, streaming: bool) -> tuple[Any, GeminiEmulator]:
    emulator = GeminiEmulator(_scripted, api_key="k", call_ids=True)
    with serve_asgi(emulator) as url:
        adapter = GeminiAdapter(model_id, api_key="k", base_url=url)
        if streaming:
            events = [e async for e in agentkit.run_stream(agent, "Paris?", model=adapter)]
            result = events[-1].result  # type: ignore[union-attr]
        else:
            result = await agentkit.run(agent, "Paris?", model=adapter)
    return result, emulator


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_gemini_2_with_tools_forces_an_output_tool_instead_of_json(streaming: bool) -> None:
    result, emulator = await _run(AGENT, "gemini-2.5-flash", streaming)
    assert result.output == Forecast(city="Paris", temperature_c=21)
    for body in emulator.requests:
        assert "tools" in body
        assert "responseMimeType" not in body.get("generationConfig", {})
        assert "responseJsonSchema" not in body.get("generationConfig", {})
        names = [d["name"] for d in body["tools"][0]["functionDeclarations"]]
        assert names == ["get_weather", "final_result"]
        assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


@pytest.mark.anyio
@pytest.mark.parametrize("streaming", [False, True])
async def test_gemini_3_with_tools_asks_for_json_output(streaming: bool) -> None:
    result, emulator = await _run(AGENT, "gemini-3-flash-preview", streaming)
    assert result.output == Forecast(city="Paris", temperature_c=21)
    for body in emulator.requests:
        names = [d["name"] for d in body["tools"][0]["functionDeclarations"]]
        assert names == ["get_weather"]
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        assert config["responseJsonSchema"]["required"] == ["city", "temperature_c"]


@pytest.mark.anyio
async def test_gemini_2_without_tools_still_asks_for_json_output() -> None:
    emulator = GeminiEmulator(
        lambda request: [TextPart(text='{"city": "Oslo", "temperature_c": -3}')], api_key="k"
    )
    with serve_asgi(emulator) as url:
        adapter = GeminiAdapter("gemini-2.5-flash", api_key="k", base_url=url)
        result = await agentkit.run(PLAIN, "Oslo?", model=adapter)
    assert result.output == Forecast(city="Oslo", temperature_c=-3)
    (body,) = emulator.requests
    assert "tools" not in body
    assert body["generationConfig"]["responseMimeType"] == "application/json"
