"""The run loop's two doors to the world: call the model, call the tools.

A run reaches a model and its tools only through a ``RunIO``; everything
else the loop does is deterministic bookkeeping over events. So a durable
engine (``agentkit.durable``) can record what comes back through these two
doors and, when a process dies, replay the records into a new loop that
reaches the same state without paying for or repeating a finished call.

``MEMORY`` is the default: it calls straight through and adds one function
call per model call and per round of tool calls.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._messages import ToolCallPart, ToolResultPart
    from ._result import RunEvent
    from ._runner import _Run

__all__ = ["MEMORY", "MemoryIO", "RunIO", "ToolRound"]

#: One round of tool calls answered: each call's result and milliseconds, in the calls' order.
ToolRound = tuple[list["ToolResultPart"], list[float]]


class RunIO(Protocol):
    """Where a run's model calls and tool calls go.

    ``call_model`` yields the events of one model call (chain, retries and
    the answer, from ``run.model_call``); ``call_tools`` answers one round of
    tool calls (from ``run.tool_round``). An implementation may record what
    they return and give it back later instead of calling again, as long as
    it gives back the same events and results.
    """

    def call_model(self, run: _Run, stream: bool, deltas: bool) -> AsyncGenerator[RunEvent, None]:
        """The events of one model call of ``run``."""
        ...

    async def call_tools(self, run: _Run, calls: list[ToolCallPart]) -> ToolRound:
        """The results of one round of ``calls`` (run concurrently)."""
        ...


class MemoryIO:
    """Straight through: every call is made, nothing is recorded."""

    def call_model(self, run: _Run, stream: bool, deltas: bool) -> AsyncGenerator[RunEvent, None]:
        """``run.model_call`` itself: no generator in between."""
        return run.model_call(stream, deltas)

    async def call_tools(self, run: _Run, calls: list[ToolCallPart]) -> ToolRound:
        """``run.tool_round`` with the run's own executor."""
        return await run.tool_round(calls, run.execute)


#: Shared by every run that names no other I/O: it keeps no state.
MEMORY = MemoryIO()
