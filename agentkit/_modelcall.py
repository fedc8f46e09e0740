"""One model call of a run: the request, capability checks, budget, retries, the chain.

The half of a run that talks to models, apart from the loop that decides
what to ask (``_runner.py``). Like the loop it changes nothing itself: it
yields events (a retry, a warning, the answer) and reads the run's fold.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from ._messages import Message, ToolCallPart
from ._model import (
    ModelAdapter,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ResponseEndEvent,
    ResponseStartEvent,
    RunWarning,
    ToolDefinition,
)
from ._output import FINAL_RESULT_TOOL, OutputMode, plan_output_mode, prompted_instructions
from ._policy import RetryPolicy, check_capabilities, estimate_cost, should_fall_back, spent_usd
from ._result import RetryEvent, RunEvent, RunFold, WarningEvent
from ._stream import response_events
from ._trusted import trusted
from .exceptions import (
    AdapterError,
    AgentkitError,
    BudgetExceededError,
    ModelCallError,
    RunError,
    SchemaCompileError,
    ToolCallRejectedError,
    TruncatedError,
    UnsupportedSchemaError,
)

if TYPE_CHECKING:
    from ._agent import Agent
    from ._compaction import Compactor
    from ._toolindex import ToolIndex

__all__ = ["RUN_EVENT_CLASSES", "ModelCalls", "OnTruncation"]

OnTruncation = Literal["warn", "error"]

#: The stock classes of a run's events. An event of one of these is told apart
#: by its type alone: ``isinstance`` with a pydantic class runs two Python-level
#: ``__instancecheck__`` calls, and the streamed loops ask once per event.
RUN_EVENT_CLASSES: frozenset[type] = frozenset(get_args(get_args(RunEvent)[0]))


class ModelCalls:
    """The model-call half of a run, mixed into the runner's ``_Run``.

    It reads the run's configuration and fold, set by ``_Run.__init__``.
    """

    agent: Agent
    adapters: list[ModelAdapter]
    fold: RunFold
    index: ToolIndex
    settings: ModelSettings
    retry: RetryPolicy
    max_cost_usd: float | None
    on_truncation: OnTruncation
    answered_by: str
    mode: OutputMode | None
    #: Error texts for tool calls the provider rejected, by call id (``_rejected``).
    rejected: dict[str, str]

    @cached_property
    def compactor(self) -> Compactor:
        """This run's history compaction (only built when the agent has a policy)."""
        from ._compaction import Compactor

        assert self.agent.compaction is not None
        return Compactor(self.agent.compaction, getattr(self, "model_options", None))

    def error(self, cls: type[RunError], message: str, cause: Any = None) -> RunError:
        return cls(message, messages=self.fold.messages, usage=self.fold.usage, cause=cause)

    def warn(self, warning: RunWarning) -> list[RunEvent]:
        # Events are folded one by one as they are yielded, so the fold
        # already holds every warning sent before this one.
        if warning in self.fold.warnings:
            return []
        if type(warning) is RunWarning:  # a model already: the event needs no check
            return [trusted(WarningEvent, {"type": "warning", "warning": warning}, {"warning"})]
        return [WarningEvent(warning=warning)]

    def _request(self, mode: OutputMode | None) -> ModelRequest:
        """The request for one call, shaped for the output mode of the model asked."""
        schema = self.agent.output_json_schema
        messages = list(self.fold.messages)
        tools = self.index.definitions
        tool_choice: str | None = None
        if mode == "tool" and schema is not None:
            tools = [
                *tools,
                ToolDefinition(
                    name=FINAL_RESULT_TOOL,
                    description="Give the final answer. Call this once you have the answer.",
                    input_schema=schema,
                ),
            ]
            tool_choice = "required"
        elif mode == "prompted" and schema is not None:
            at = 1 if messages and messages[0].role == "system" else 0
            messages.insert(at, Message.system(prompted_instructions(schema)))
        return _new_request(
            messages,
            tools,
            tool_choice,
            schema if mode == "native" else None,
            self.agent.name,
            self.settings,
            self.agent.allow_lossy_schemas,
        )

    def _check_budget(self, model: str, request: ModelRequest) -> list[RunWarning]:
        if self.max_cost_usd is None:
            return []
        spent = spent_usd(self.fold.usage_by_model)
        estimate = estimate_cost(model, request)
        if spent is None or estimate is None:
            return [
                RunWarning(
                    kind="other",
                    feature="max_cost_usd",
                    message=f"no price is known for {model}; max_cost_usd cannot be enforced",
                )
            ]
        if spent + estimate > self.max_cost_usd:
            raise self.error(
                BudgetExceededError,
                f"the next call to {model} could cost up to ${estimate:.6f}, which with "
                f"${spent:.6f} spent would pass max_cost_usd=${self.max_cost_usd}",
            )
        return []

    async def model_call(self, stream: bool, deltas: bool) -> AsyncGenerator[RunEvent, None]:
        """One model call: capability checks, budget, retries, then the chain.

        Never retries or falls back once an answer's delta has reached the
        caller: the user would see the start of one answer and then another.
        Besides its events it sets ``answered_by`` and ``mode`` (and may add
        to ``rejected``): the policy state a replay must restore with them.
        """
        failures: list[tuple[str, AgentkitError]] = []
        last_error: AgentkitError | None = None
        for adapter in self.adapters:
            model = f"{adapter.provider}:{adapter.model_id}"
            if last_error is not None:
                for event in self.warn(
                    RunWarning(
                        kind="fallback",
                        provider=adapter.provider,
                        message=f"fell back to {model} after: {last_error}",
                    )
                ):
                    yield event
            mode = plan_output_mode(self.agent, adapter)
            try:
                request, warnings = check_capabilities(self._request(mode), adapter)
            except AdapterError as exc:
                failures.append((model, exc))
                last_error = exc
                continue
            if self.agent.compaction is not None:  # the one call site (_compaction.py)
                request, notes = await self.compactor.compact(request)
                warnings += notes
            if self.max_cost_usd is not None:  # no budget, nothing to check
                warnings += self._check_budget(model, request)
            for warning in warnings:
                for event in self.warn(warning):
                    yield event
            # Not held while the call waits on HTTP (200 runs in flight: objects the
            # garbage collector walks); the fold has the warnings.
            del warnings
            self.fold.sending(request, adapter)  # for the token ledger: a reference
            clock = self.retry.clock
            started = clock()
            attempt = 0
            while True:
                attempt += 1
                delivered = False
                whole: ModelResponse | None = None
                try:
                    if stream:
                        # The start event is held back until the first delta, so
                        # that an attempt failing before any content can be
                        # retried invisibly. Written out here, not in a generator
                        # of its own that every delta would cross.
                        held: ResponseStartEvent | None = None
                        events = adapter.stream(request)
                        try:
                            async for event in events:
                                kind = type(event)
                                if kind is ResponseStartEvent or (
                                    kind not in RUN_EVENT_CLASSES
                                    and isinstance(event, ResponseStartEvent)
                                ):
                                    held = cast("ResponseStartEvent", event)
                                    continue
                                delivered = True
                                if held is not None:
                                    yield held
                                    held = None
                                yield event
                        finally:
                            await events.aclose()  # type: ignore[attr-defined]
                    else:
                        whole = await adapter.generate(request)
                except ToolCallRejectedError as exc:
                    if delivered:
                        raise self.error(ModelCallError, str(exc), exc) from exc
                    # The provider refused the tool call the model wrote (Groq's
                    # tool_use_failed): the model's mistake, so it is answered as
                    # a failed call and counts against the tool's retry budget.
                    whole = self._rejected(exc)
                except SchemaCompileError as exc:
                    if delivered:
                        raise self.error(ModelCallError, str(exc), exc) from exc
                    # This model cannot take a schema of the agent's unchanged: a
                    # capability it lacks, like tools or images; the next may.
                    failures.append((model, exc))
                    last_error = exc
                    break
                except AdapterError as exc:
                    if delivered:
                        raise self.error(ModelCallError, str(exc), exc) from exc
                    delay = self.retry.delay(attempt, exc, clock() - started)
                    if delay is None:
                        failures.append((model, exc))
                        last_error = exc
                        break
                    yield _retry_event(model, attempt, exc, delay)
                    await self.retry.sleep(delay)
                    continue
                if whole is not None:
                    if deltas:
                        for event in response_events(whole):
                            yield event
                    elif type(whole) is ModelResponse:
                        # One model, already validated: no need to check it again.
                        values = {"type": "response_end", "response": whole}
                        yield trusted(ResponseEndEvent, values, {"response"})
                    else:
                        yield ResponseEndEvent(response=whole)
                self.answered_by, self.mode = model, mode
                return
            if isinstance(last_error, AdapterError) and not should_fall_back(last_error):
                break
        assert last_error is not None
        cls = (
            UnsupportedSchemaError if isinstance(last_error, SchemaCompileError) else ModelCallError
        )
        raise cls(
            _chain_failure(failures, len(self.adapters)),
            messages=self.fold.messages,
            usage=self.fold.usage,
            cause=last_error,
            failures=failures,
        ) from last_error

    def _rejected(self, error: ToolCallRejectedError) -> ModelResponse:
        """The answer standing for a rejected tool call: that call, which the loop fails."""
        names = [n for n in self.index.routes if n in error.generation]
        found = _CALLED.search(error.generation)
        name = (
            names[0] if names else (found.group(1) or found.group(2)) if found else "unknown_tool"
        )
        call = ToolCallPart(id=f"rejected_{self.fold.turns}_{len(self.rejected)}", name=name)
        wrote = f" You wrote: {error.generation[:500]!r}." if error.generation else ""
        self.rejected[call.id] = (
            f"The provider rejected this tool call ({error}).{wrote} "
            "Call the tool again with JSON arguments that match its schema."
        )
        return ModelResponse(
            message=Message(role="assistant", parts=[call]),
            finish_reason="tool_calls",
            provider=error.provider,
            model_id=error.model_id,
        )

    def _truncated(self, response: ModelResponse) -> list[RunEvent]:
        model = f"{response.provider}:{response.model_id}"
        limit = self.settings.max_tokens
        where = f"max_tokens={limit}" if limit is not None else "the model's output limit"
        text = (
            f"turn {self.fold.turns}: the answer of {model} was cut off at {where} "
            "(finish reason: length)"
        )
        if self.on_truncation == "error":
            raise self.error(TruncatedError, text)
        return self.warn(
            RunWarning(
                kind="truncated",
                feature="max_tokens",
                provider=response.provider,
                message=f"{text}; raise max_tokens for the whole answer",
            )
        )


#: The fields' slot setters: the frozen dataclass's own ``__init__`` sets each
#: field through ``object.__setattr__`` and cost four times as much, twice a run.
_REQUEST_FIELDS = (
    "messages",
    "tools",
    "tool_choice",
    "output_schema",
    "output_name",
    "settings",
    "allow_lossy_schemas",
)
_SET_REQUEST = tuple(ModelRequest.__dict__[name].__set__ for name in _REQUEST_FIELDS)


def _new_request(
    messages: list[Message],
    tools: list[ToolDefinition],
    tool_choice: str | None,
    output_schema: dict[str, Any] | None,
    output_name: str,
    settings: ModelSettings,
    allow_lossy_schemas: bool,
) -> ModelRequest:
    """``ModelRequest(...)`` of every field's value, in declaration order."""
    request = object.__new__(ModelRequest)
    set_messages, set_tools, set_choice, set_schema, set_name, set_settings, set_lossy = (
        _SET_REQUEST
    )
    set_messages(request, messages)
    set_tools(request, tools)
    set_choice(request, tool_choice)
    set_schema(request, output_schema)
    set_name(request, output_name)
    set_settings(request, settings)
    set_lossy(request, allow_lossy_schemas)
    return request


#: A tool's name in what a model wrote instead of a call (``<function=name ...``).
_CALLED = re.compile(r'<function=([\w.-]+)|"name"\s*:\s*"([\w.-]+)"')


def _chain_failure(failures: list[tuple[str, AgentkitError]], chain: int) -> str:
    """What went wrong with each model of the chain, in order."""
    if len(failures) == 1 and chain == 1:
        return str(failures[0][1])
    steps = "; ".join(f"{n}) {model}: {error}" for n, (model, error) in enumerate(failures, 1))
    text = f"{len(failures)} of {chain} models of the chain failed: {steps}"
    if len(failures) < chain:
        text += " (the last error is not one another model could avoid, so the rest was not tried)"
    return text


def _retry_event(model: str, attempt: int, error: AdapterError, wait: float) -> RetryEvent:
    status = getattr(error, "status_code", None)
    # Retries are logged (logger "agentkit") as well as reported as events and
    # on the result. Imported here: logging costs more at start-up than the
    # rest of this module, and only a retried call logs.
    import logging

    logging.getLogger("agentkit").info(
        "%s: attempt %d failed (%s: %s); retrying in %.2f s",
        model,
        attempt,
        type(error).__name__,
        error,
        wait,
    )
    return RetryEvent(
        model=model,
        attempt=attempt,
        error=type(error).__name__,
        status_code=status,
        message=str(error),
        wait_seconds=wait,
    )
