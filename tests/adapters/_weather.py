"""The scripted model behind the weather-agent tests of each provider's emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentkit import ModelRequest, ToolCallPart, ToolResultPart

AGENT_FILE = Path(__file__).parents[2] / "examples" / "weather" / "agent.yaml"


def weather_model(request: ModelRequest) -> Any:
    """Ask for Paris's weather, then answer with what the tool returned."""
    last = request.messages[-1]
    if last.role != "tool":
        return [ToolCallPart(id="1", name="get_weather", arguments={"city": "paris"})]
    (result,) = last.parts
    assert isinstance(result, ToolResultPart)
    weather = json.loads(result.text)
    return f"It is {weather['temperature_c']} °C and {weather['conditions']} in {weather['city']}."
