"""What a durable run stores: its start, each step's outcome, its end. Plain JSON.

Every record is a pydantic model of neutral types and is stored as its JSON
text, so the engine's own serialiser only ever sees strings: no pickles of
our objects in the database, and a record written by one version of agentkit
reads the same in another process. The conversions here are pure.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .. import exceptions
from .._agent import Agent
from .._messages import Message, ToolResultPart, Usage
from .._model import ModelSettings, ResponseEndEvent
from .._result import RetryEvent, RunResult, WarningEvent
from ..exceptions import AgentkitError, RunError

__all__ = [
    "ErrorRecord",
    "ModelStep",
    "RunOutcome",
    "RunSpec",
    "ToolStep",
    "error_from_record",
    "record_error",
    "result_from_record",
]


class RunSpec(BaseModel):
    """Everything a durable run needs to start, or start again, in any process.

    It is the workflow's only argument. A worker process finds the agent by
    ``agent`` (an agent file's path or ``module:attribute``) and the model by
    ``model``; an ``Agent`` object passed to ``durable_run`` in this process
    is used as it is, and only this process can resume a run whose
    ``agent`` is None.

    Attributes:
        agent: Path of the agent file, or ``module:attribute`` naming an
            ``Agent``; None for an agent known only to the process that started it.
        agent_name: The agent's name, for messages.
        profile: The agent file's profile.
        model: ``provider:model`` or a comma-separated chain; None for the
            agent's default.
        base_url: The model's API root, when not the provider's own.
        input: The run's input messages (the conversation it starts from).
        settings: Settings overriding the agent's.
        max_cost_usd: The run's budget.
        on_truncation: ``"warn"`` or ``"error"``.
        stream: Stream from the model (True) or make whole calls.
    """

    model_config = ConfigDict(extra="forbid")

    agent: str | None
    agent_name: str
    profile: str | None = None
    model: str | None = None
    base_url: str | None = None
    input: list[Message]
    settings: ModelSettings | None = None
    max_cost_usd: float | None = None
    on_truncation: Literal["warn", "error"] = "warn"
    stream: bool = True


class ErrorRecord(BaseModel):
    """A run's failure as data: the error's class, message and what it carried."""

    type: str
    message: str
    messages: list[Message] = Field(default_factory=list)
    usage: Usage | None = None
    details: dict[str, Any] = Field(default_factory=dict)


#: The events of a model call that the fold reads: its answer, retries, warnings.
StepEvent = ResponseEndEvent | RetryEvent | WarningEvent
KEPT_EVENTS: tuple[type[Any], ...] = (ResponseEndEvent, RetryEvent, WarningEvent)


class ModelStep(BaseModel):
    """One model call as recorded: what the fold needs, and the policy state it set.

    Attributes:
        events: The call's answer, retries and warnings, in order (no deltas).
        answered_by: The ``provider:model`` of the chain that answered.
        mode: The structured-output mode planned for that model.
        rejected: Error texts for tool calls the provider rejected, by call id.
        error: The run's error when the call failed (the chain ran out).
    """

    events: list[Annotated[StepEvent, Field(discriminator="type")]]
    answered_by: str = ""
    mode: Literal["native", "tool", "prompted"] | None = None
    rejected: dict[str, str] = Field(default_factory=dict)
    error: ErrorRecord | None = None


class ToolStep(BaseModel):
    """One tool call as recorded: its result, or the note that it must not run again.

    Attributes:
        result: What the tool returned (an error result included).
        not_repeatable: The process died during this call of a tool that must
            not run twice; the run stops at this point every time it is resumed.
    """

    result: ToolResultPart | None = None
    not_repeatable: bool = False


class RunOutcome(BaseModel):
    """How a durable run ended: the result's JSON, or the error. The workflow's return value.

    A failed run ends its workflow normally, with ``error`` set, so the engine
    never has to store a Python exception.
    """

    result: dict[str, Any] | None = None
    error: ErrorRecord | None = None


#: Attributes of our errors that survive a trip through the database.
_DETAILS = ("tool", "call_id", "arguments", "run_id")


def record_error(error: AgentkitError) -> ErrorRecord:
    """``error`` as data (class name, message, conversation so far)."""
    details = {name: getattr(error, name) for name in _DETAILS if hasattr(error, name)}
    if isinstance(error, RunError):
        return ErrorRecord(
            type=type(error).__name__,
            message=str(error),
            messages=error.messages,
            usage=error.usage,
            details=details,
        )
    return ErrorRecord(type=type(error).__name__, message=str(error), details=details)


def error_from_record(record: ErrorRecord) -> AgentkitError:
    """The error a record stands for, as the nearest class agentkit has.

    Classes whose constructors need more than a message (provider errors)
    come back as the ``RunError`` or ``UserError`` around them would.
    """
    cls = getattr(exceptions, record.type, None)
    if not (isinstance(cls, type) and issubclass(cls, AgentkitError)):
        cls = RunError
    try:
        if issubclass(cls, RunError):
            error: AgentkitError = cls(record.message, messages=record.messages, usage=record.usage)
        else:
            error = cls(record.message)
    except TypeError:
        error = RunError(
            f"{record.type}: {record.message}", messages=record.messages, usage=record.usage
        )
    for name, value in record.details.items():
        setattr(error, name, value)
    return error


def result_from_record(data: dict[str, Any], agent: Agent) -> RunResult:
    """A recorded ``RunResult``, its output typed again as the agent declares."""
    result = RunResult.model_validate(data)
    if agent.output_type is not None:
        typed = TypeAdapter(agent.output_type).validate_python(result.output)
        result = result.model_copy(update={"output": typed})
    return result
