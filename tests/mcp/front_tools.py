"""Tools served through the fast stdio front in the tests (``agentkit serve front_tools:...``).

Varied on purpose: a title, annotations (one the SDK does not know), a
structured result, a pydantic model argument, a unicode description, two tool
sets offering the same name, progress, and a tool that waits until cancelled.
"""

from __future__ import annotations

import anyio
from pydantic import BaseModel

from agentkit import FunctionToolset, tool
from agentkit.mcp import report_progress

CANCELLED = {"hang": False}


class Trip(BaseModel):
    """Where and how long."""

    city: str
    days: int = 2


@tool(title="Trip planner", annotations={"readOnlyHint": True, "openWorldHint": False})
def plan(trip: Trip, note: str | None = None) -> dict[str, int]:
    """Plans a trip — vite, très vite.

    Args:
        trip: The trip.
        note: Anything else.
    """
    return {trip.city: trip.days}


@tool
def add(a: int, b: int = 1) -> int:
    """Adds two numbers."""
    return a + b


@tool
async def count(n: int) -> str:
    """Counts, reporting progress."""
    for i in range(1, n + 1):
        report_progress(i, n, f"step {i}")
        await anyio.sleep(0.01)
    return f"counted {n}"


@tool
async def hang() -> str:
    """Never finishes unless cancelled."""
    try:
        await anyio.sleep(60)
    except anyio.get_cancelled_exc_class():
        CANCELLED["hang"] = True
        raise
    return "finished"


@tool
def was_cancelled() -> bool:
    """Whether ``hang`` was cancelled."""
    return CANCELLED["hang"]


class Named(FunctionToolset):
    def __init__(self, name: str, tools: list[object]) -> None:
        super().__init__(tools)  # type: ignore[arg-type]
        self.name = name


@tool(name="add")
def add_again(a: int, b: int = 1) -> int:
    """Adds, from a second tool set (its name gets a prefix)."""
    return a + b


@tool(annotations={"destructiveHint": False, "x-unknown": True})
def odd() -> str:
    """Carries an annotation the SDK drops."""
    return "odd"


toolset = Named("main", [plan, add, count, hang, was_cancelled])
second = Named("second", [add_again])
unusual = FunctionToolset([odd])
