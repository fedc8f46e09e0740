"""The example cascade's check: is the local model's answer believable?"""

from __future__ import annotations

from typing import Any


def plausible(output: dict[str, Any]) -> bool | str:
    """Accept a temperature that occurs on Earth; otherwise say why not (and escalate)."""
    celsius = output["celsius"]
    if -90 <= celsius <= 60:
        return True
    return f"{celsius} °C is not a temperature on Earth"
