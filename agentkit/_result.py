"""What a run yields as it goes (run events) and what it ends with (``RunResult``).

``RunResult`` is the fold of the events: ``RunFold`` reads them one at a time
and the runner keeps no other record of the run, so ``run()``, the last event
of ``run_stream()`` and anyone who folds a recorded stream get the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ._messages import Message, ToolCallPart, ToolResultPart, Usage
from ._model import (
    FinishReason,
    ModelAdapter,
    ModelRequest,
    ModelResponse,
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
from ._trusted import trusted

if TYPE_CHECKING:
    from ._ledger import TokenLedger

__all__ = [
    "CallRecord",
    "EscalationEvent",
    "OutputEvent",
    "OutputRetryEvent",
    "RetryEvent",
    "RunEndEvent",
    "RunEvent",
    "RunFold",
    "RunResult",
    "RunStartEvent",
    "ToolResultEvent",
    "TurnStartEvent",
    "WarningEvent",
    "fold_events",
]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class RetryEvent(_Event):
    """A model call failed with a retryable error; the runner waits, then tries again.

    Attributes:
        model: The ``provider:model`` whose call failed.
        attempt: The attempt that failed (1 for the first).
        error: The error's class name, like ``RateLimitError``.
        status_code: The HTTP status, when the error was an HTTP one.
        message: The error's message.
        wait_seconds: How long the runner waits before the next attempt.
    """

    type: Literal["retry"] = "retry"
    model: str
    attempt: int
    error: str
    status_code: int | None = None
    message: str
    wait_seconds: float


class EscalationEvent(_Event):
    """A cheaper model's answer met an ``escalate_on`` condition: the run moves up the cascade.

    The answer is taken out of the conversation (``discarded``) and the next
    model continues from the conversation before it, tool results included,
    for the rest of the run.
    """

    type: Literal["escalation"] = "escalation"
    turn: int = Field(description="the model call whose answer was discarded")
    from_model: str
    to_model: str
    condition: Literal["invalid_output", "invalid_tool_call", "truncated", "check"]
    detail: str
    discarded: Message = Field(description="the answer taken out of the conversation")


class CallRecord(NamedTuple):
    """One model call as the fold saw it: what was sent, by whom, and the answer.

    Attributes:
        response: The answer.
        sent: How many of the run's messages the call was sent (the ones
            before the answer), for folds that saw no request.
        request: The request as sent, when the runner recorded it (a
            recorded event stream does not hold it).
        adapter: The adapter that answered, when recorded.
    """

    response: ModelResponse
    sent: int
    request: ModelRequest | None = None
    adapter: ModelAdapter | None = None


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
        retries: Every failed model call that was retried, in order.
        finish_reason: Why the last model call stopped; ``length`` means the
            answer was cut off at ``max_tokens`` (see also ``warnings``).
        cascade: The models of the cascade the run used, cheapest first
            (empty when the agent has no ``escalate_on``).
        escalations: Every move up the cascade, in order, each with its
            condition and detail; ``model`` is the one that answered.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    output: Any
    messages: list[Message]
    usage: Usage
    usage_by_model: dict[str, Usage]
    turns: int
    model: str
    warnings: list[RunWarning] = Field(default_factory=list)
    retries: list[RetryEvent] = Field(default_factory=list)
    finish_reason: FinishReason | None = None
    cascade: list[str] = Field(default_factory=list)
    escalations: list[EscalationEvent] = Field(default_factory=list)
    _priced: dict[str, Usage] | None = PrivateAttr(default=None)
    # Plain None defaults: pydantic inspects a default_factory's signature on
    # every instantiation, which cost more than the rest of a short run.
    _calls: list[CallRecord] | None = PrivateAttr(default=None)
    _ledger: TokenLedger | None = PrivateAttr(default=None)

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

    def __eq__(self, other: object) -> bool:
        # The outcome, not the bookkeeping: a recorded stream folds to a result
        # equal to the run's although it holds no requests, and a cached price
        # or ledger does not make two results differ.
        if not isinstance(other, RunResult):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    @property
    def calls(self) -> list[CallRecord]:
        """What each model call was sent and answered, in order (references, not copies)."""
        if self._calls is None:
            self._calls = []
        return self._calls

    @property
    def ledger(self) -> TokenLedger:
        """Where the tokens went, call by call: computed on first access, then kept.

        See ``agentkit.token_ledger``; a run that never reads it pays nothing.
        """
        if self._ledger is None:
            from ._ledger import token_ledger

            self._ledger = token_ledger(self)
        return self._ledger


class RunStartEvent(_Event):
    """A run has begun: the conversation it starts from and the models it may ask."""

    type: Literal["run_start"] = "run_start"
    messages: list[Message]
    models: list[str] = Field(description="the model chain, as provider:model, in order")
    escalate_on: list[str] = Field(
        default_factory=list,
        description="the cascade's conditions (checks by name); empty: a plain fallback chain",
    )


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


class OutputRetryEvent(_Event):
    """The model's final answer was rejected; ``message`` asks it to try again."""

    type: Literal["output_retry"] = "output_retry"
    problem: str
    attempt: int = Field(description="rejected answers so far, this one included")
    message: Message = Field(description="the message added to the conversation")


class OutputEvent(_Event):
    """The final answer was accepted; ``RunResult.output`` will hold ``output``."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

    type: Literal["output"] = "output"
    output: Any
    model: str = Field(description="the provider:model that gave the answer")


class RunEndEvent(_Event):
    """The run is complete."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

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
    | RunStartEvent
    | TurnStartEvent
    | ToolResultEvent
    | WarningEvent
    | RetryEvent
    | OutputRetryEvent
    | EscalationEvent
    | OutputEvent
    | RunEndEvent,
    Field(discriminator="type"),
]

_NO_OUTPUT: Any = object()
_T = TypeVar("_T")
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
#: RunResult's private attributes at their defaults (all None: nothing to copy).
_RESULT_PRIVATE = {
    name: attribute.get_default() for name, attribute in RunResult.__private_attributes__.items()
}


class RunFold:
    """A run's events folded into its ``RunResult``, one event at a time.

    Only whole-response events count (``response_end``, not the deltas before
    it), so a stream with deltas and one without fold to the same result.
    Consecutive ``tool_result`` events are one round of tool calls and become
    one tool message. The runner reads its state (the conversation, usage,
    warnings) from here, so nothing reaches the result without an event.
    """

    __slots__ = (
        "_calls",
        "_messages",
        "_pending",
        "_results",
        "cascade",
        "escalations",
        "finish_reason",
        "model",
        "output",
        "retries",
        "turns",
        "usage_by_model",
        "warnings",
    )

    def __init__(self) -> None:
        # What most runs never add to starts as an empty tuple and becomes a new
        # list on its first item (``_grown``): 200 runs in flight each kept five
        # empty lists here for the garbage collector to walk while they waited.
        self._messages: list[Message] = []
        self._results: list[ToolResultPart] | None = None  # this round's, until folded
        self.usage_by_model: dict[str, Usage] = {}
        self.warnings: Sequence[RunWarning] = ()
        self.retries: Sequence[RetryEvent] = ()
        self.turns = 0
        self.model = ""
        self.finish_reason: FinishReason | None = None
        self.output: Any = _NO_OUTPUT
        self._calls: list[CallRecord] = []
        self._pending: tuple[ModelRequest, ModelAdapter] | None = None
        self.cascade: Sequence[str] = ()
        self.escalations: Sequence[EscalationEvent] = ()

    def sending(self, request: ModelRequest, adapter: ModelAdapter) -> None:
        """Note the request about to be sent, for the token ledger (a reference, no copy).

        The next ``response_end`` is paired with it; a fold that is never told
        (a recorded stream) still knows how many messages each call was sent.
        """
        self._pending = (request, adapter)

    @property
    def messages(self) -> list[Message]:
        """The conversation so far, the latest round of tool results included."""
        if self._results:
            # The parts are validated results already; the list is the message's now.
            values = {"role": "tool", "parts": self._results}
            self._messages.append(trusted(Message, values, {"role", "parts"}))
            self._results = None
        return self._messages

    @property
    def usage(self) -> Usage | None:
        """Usage summed over every model call so far, or None before the first."""
        # Summed on demand, not per call: most runs use one model, whose usage
        # is the total, and the sum is only read at the end or on an error.
        values = iter(self.usage_by_model.values())
        total = next(values, None)
        for usage in values:
            total = usage if total is None else total + usage
        return total

    @property
    def has_output(self) -> bool:
        """Whether an ``output`` event was folded: the run has its answer."""
        return self.output is not _NO_OUTPUT

    def add(self, event: RunEvent) -> None:
        """Fold one more event in."""
        # A table lookup, not a chain of isinstance checks: deltas, the most
        # frequent events, find None and leave at once. A class the table does
        # not hold (an adapter's subclass of a stock event) is placed by its bases.
        fold = _FOLDS.get(type(event), _fold_by_bases)
        if fold is not None:
            fold(self, event)

    def _tool_result(self, event: ToolResultEvent) -> None:
        if self._results is None:
            self._results = [event.result]
        else:
            self._results.append(event.result)

    def _response_end(self, event: ResponseEndEvent) -> None:
        response = event.response
        messages = self.messages
        pending = self._pending
        if pending is None:
            self._calls.append(CallRecord(response, len(messages)))
        else:
            self._calls.append(CallRecord(response, len(messages), pending[0], pending[1]))
            self._pending = None
        messages.append(response.message)
        usage = response.usage or Usage(requests=1)
        key = f"{response.provider}:{response.model_id}"
        previous = self.usage_by_model.get(key)
        self.usage_by_model[key] = usage if previous is None else previous + usage
        self.finish_reason = response.finish_reason

    def _turn_start(self, event: TurnStartEvent) -> None:
        self.turns += 1

    def _warning(self, event: WarningEvent) -> None:
        self.warnings = _grown(self.warnings, event.warning)

    def _retry(self, event: RetryEvent) -> None:
        self.retries = _grown(self.retries, event)

    def _output_retry(self, event: OutputRetryEvent) -> None:
        self.messages.append(event.message)

    def _escalation(self, event: EscalationEvent) -> None:
        messages = self.messages
        # The runner yields an escalation right after the answer it discards.
        if messages and messages[-1] == event.discarded:
            messages.pop()
        self.escalations = _grown(self.escalations, event)

    def _output(self, event: OutputEvent) -> None:
        self.output = event.output
        self.model = event.model

    def _run_start(self, event: RunStartEvent) -> None:
        self.messages[:] = event.messages
        self.cascade = list(event.models) if event.escalate_on else ()

    def result(self) -> RunResult:
        """The ``RunResult`` of the events so far.

        Raises:
            ValueError: no ``output`` event was folded: the run has not finished.
        """
        if self.output is _NO_OUTPUT:
            raise ValueError("these events hold no output event: the run did not finish")
        # Built without validation: every value is one the fold made from
        # validated events. Validating them again (and pydantic's set-up of the
        # private attributes) was the most expensive step of a short run. The
        # containers are copied, as validation would, so that a fold that goes
        # on does not change a result already handed out.
        values = {
            "output": self.output,
            "messages": list(self.messages),
            "usage": self.usage or Usage(requests=0),
            "usage_by_model": dict(self.usage_by_model),
            "turns": self.turns,
            "model": self.model,
            "warnings": list(self.warnings),
            "retries": list(self.retries),
            "finish_reason": self.finish_reason,
            "cascade": list(self.cascade),
            "escalations": list(self.escalations),
        }
        result = trusted(RunResult, values, set(values))
        # What pydantic's own construction sets: every private attribute at its default.
        private = _RESULT_PRIVATE.copy()
        private["_calls"] = self._calls
        _set_private(result, private)
        return result


def _grown(items: Sequence[_T], item: _T) -> list[_T]:
    """``items`` with ``item`` appended: the same list, or a new one for the empty tuple."""
    if type(items) is list:
        items.append(item)
        return items
    return [*items, item]


#: What each kind of event adds to the fold. The rest (deltas, response_start,
#: tool call events, whose calls response_end holds too, and run_end) add nothing.
_FOLDS: dict[type[Any], Callable[[RunFold, Any], None] | None] = {
    ToolResultEvent: RunFold._tool_result,
    ResponseEndEvent: RunFold._response_end,
    TurnStartEvent: RunFold._turn_start,
    WarningEvent: RunFold._warning,
    RetryEvent: RunFold._retry,
    OutputRetryEvent: RunFold._output_retry,
    EscalationEvent: RunFold._escalation,
    OutputEvent: RunFold._output,
    RunStartEvent: RunFold._run_start,
    ResponseStartEvent: None,
    TextDeltaEvent: None,
    RefusalDeltaEvent: None,
    ReasoningDeltaEvent: None,
    ToolCallStartEvent: None,
    ToolCallDeltaEvent: None,
    ToolCallEndEvent: None,
    RunEndEvent: None,
}


def _fold_by_bases(fold: RunFold, event: RunEvent) -> None:
    """Fold an event of a class ``_FOLDS`` lacks as its nearest stock base, and remember it."""
    cls = type(event)
    entry = next((_FOLDS[base] for base in cls.__mro__[1:] if base in _FOLDS), None)
    _FOLDS[cls] = entry
    if entry is not None:
        entry(fold, event)


def fold_events(events: Iterable[RunEvent]) -> RunResult:
    """The ``RunResult`` of a run's events (with or without their deltas).

    Raises:
        ValueError: the events end before the run's ``output`` event.
    """
    fold = RunFold()
    for event in events:
        fold.add(event)
    return fold.result()
