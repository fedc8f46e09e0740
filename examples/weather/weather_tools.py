"""A deterministic weather tool: the same city always gets the same weather.

Real agents would call a weather service here; the example stays offline so
it runs the same everywhere, tests included.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel

from agentkit import tool

_CONDITIONS = ("sunny", "partly cloudy", "overcast", "light rain", "windy", "foggy")


class Weather(BaseModel):
    """Current weather in a city."""

    city: str
    temperature_c: int
    conditions: str


@tool(annotations={"readOnlyHint": True})
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> Weather:
    """Get the current weather in a city.

    Args:
        city: The city's name, e.g. "Paris".
        unit: Temperature unit of the answer.
    """
    name = city.strip().title()
    digest = hashlib.sha256(name.lower().encode()).digest()
    celsius = digest[0] % 30 - 2
    temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32)
    return Weather(
        city=name, temperature_c=temperature, conditions=_CONDITIONS[digest[1] % len(_CONDITIONS)]
    )
