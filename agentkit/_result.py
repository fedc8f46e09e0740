"""What a run yields as it goes (run events) and what it ends with (``RunResult``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ._messages import Message, ToolCallPart, ToolResultPart, Usage
from ._model import (
    ReasoningDeltaEvent,
    RefusalDeltaEvent,
    ResponseEndEvent,
    ResponseStartEvent,
    RunWarning,
    TextDeltaEvent,
    ToolCallDeltaEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
)

__all__ = [
    "RunEndEvent",
    "RunEvent",
    "RunResult",
    "ToolResultEvent",
    "TurnStartEvent",
    "WarningEvent",
]


class RunResult(BaseModel):
    """The outcome of a run.

    Attributes:
        output: The final answer: text, or the validated structured output.
        messages: The whole conversation, input included.
        usage: Token usage summed over every model call.
        usage_by_model: The same, per ``provider:model``.
        turns: Model calls made.
        model: The ``provider:model`` that produced the final answer.
        warnings: Everything changed or left out on the way, for the user to see.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    output: Any
    messages: list[Message]
    usage: Usage
    usage_by_model: dict[str, Usage]
    turns: int
    model: str
    warnings: list[RunWarning] = Field(default_factory=list)
    _priced: dict[str, Usage] | None = PrivateAttr(default=None)

    def priced_usage(self) -> dict[str, Usage]:
        """``usage_by_model`` with ``cost_usd`` filled in from the price table.

        Prices load on first use (the table is large); a model whose price is
        unknown keeps ``cost_usd`` as None rather than zero.
        """
        if self._priced is None:
            from ._cost import price_usage

            self._priced = {
                key: price_usage(key, usage) for key, usage in self.usage_by_model.items()
            }
        return self._priced

    @property
    def cost_usd(self) -> float | None:
        """Total price in US dollars, or None when any model's price is unknown."""
        total = 0.0
        for usage in self.priced_usage().values():
            if usage.cost_usd is None:
                return None
            total += usage.cost_usd
        return total


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class TurnStartEvent(_Event):
    """A model call is about to be made."""

    type: Literal["turn_start"] = "turn_start"
    turn: int
    model: str


class ToolResultEvent(_Event):
    """A tool call finished (possibly with an error result the model will see)."""

    type: Literal["tool_result"] = "tool_result"
    call: ToolCallPart
    result: ToolResultPart
    duration_ms: float


class WarningEvent(_Event):
    """Something was changed or left out; also collected in ``RunResult.warnings``."""

    type: Literal["warning"] = "warning"
    warning: RunWarning


class RunEndEvent(_Event):
    """The run is complete."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    type: Literal["run_end"] = "run_end"
    result: RunResult


#: Every event a run yields: the model's stream events plus the runner's own.
RunEvent = Annotated[
    ResponseStartEvent
    | TextDeltaEvent
    | RefusalDeltaEvent
    | ReasoningDeltaEvent
    | ToolCallStartEvent
    | ToolCallDeltaEvent
    | ToolCallEndEvent
    | ResponseEndEvent
    | TurnStartEvent
    | ToolResultEvent
    | WarningEvent
    | RunEndEvent,
    Field(discriminator="type"),
]
