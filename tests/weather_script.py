"""A scripted model for the weather example, shared by the CLI and adapter tests.

It behaves like a well-mannered real model: asked about a city, it calls
``get_weather`` for it; given the tool's result, it answers from that result.
The answer is built from the tool's output, so a test can check that the
result really travelled through the adapter and back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentkit import ModelRequest, ToolCallPart, ToolResultPart


def weather_script(request: ModelRequest) -> Any:
    """Call get_weather for the city in the question, then answer from its result."""
    last = request.messages[-1]
    results = [p for p in last.parts if isinstance(p, ToolResultPart)]
    if results:
        data = results[0].structured_content or json.loads(results[0].text)
        return f"It is {data['temperature_c']}°C and {data['conditions']} in {data['city']}."
    match = re.search(r"in ([A-Z][a-zA-Z]+)", last.text)
    city = match.group(1) if match else "Paris"
    assert [t.name for t in request.tools] == ["get_weather"], request.tools
    return [ToolCallPart(id="call_weather_1", name="get_weather", arguments={"city": city})]


def expected_answer(city: str) -> str:
    """What the scripted model says for ``city``, computed from the real tool."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent.parent / "examples" / "weather"))
    from weather_tools import get_weather

    weather = get_weather(city)
    return f"It is {weather.temperature_c}°C and {weather.conditions} in {weather.city}."
