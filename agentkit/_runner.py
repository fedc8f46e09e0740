"""The run loop: model call, tool calls run concurrently, results, repeat.

The runner owns policy (the loop, retries and the fallback chain, budgets,
tool validation, structured output planning); adapters only translate. A run
is a stream of events and its result is that stream folded (``RunFold``):
every change to the run's state is an event, the fold is the state, and
``run``, ``run_stream`` and ``run_sync`` drive the same generator, so the
events users see are exactly what the result is made of. The model call
itself (request, capabilities, budget, retries, the chain) is in
``_modelcall.py``. The loop reaches models and tools only through its
``io`` (``_runio.py``), so a durable engine can record and replay both.
"""

from __future__ import annotations

import sys
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    nullcontext,
)
from typing import TYPE_CHECKING, Any, Literal, cast

import anyio

from ._agent import Agent
from ._messages import Message, TextPart, ToolCallPart, ToolResultPart
from ._model import ModelAdapter, ModelResponse, ModelSettings, ResponseEndEvent
from ._modelcall import RUN_EVENT_CLASSES, ModelCalls, OnTruncation
from ._output import FINAL_RESULT_TOOL, OutputMode, parse_json_answer
from ._policy import RetryPolicy, parse_model_chain
from ._registry import cached_model, choose_model
from ._result import (
    _NO_OUTPUT,
    OutputEvent,
    OutputRetryEvent,
    RunEndEvent,
    RunEvent,
    RunFold,
    RunResult,
    RunStartEvent,
    ToolResultEvent,
    TurnStartEvent,
)
from ._runio import MEMORY, RunIO, ToolRound
from ._sync import run_in_loop
from ._toolindex import ToolIndex
from ._tools import FunctionToolset, error_result
from ._trusted import trusted
from .exceptions import (
    MaxTurnsError,
    ModelCallError,
    OutputValidationError,
    ToolRetriesError,
    UserError,
)

if TYPE_CHECKING:
    from ._cascade import Cascade

__all__ = ["RunStream", "run", "run_stream", "run_sync"]

Input = str | Message | Sequence[Message]
Model = str | ModelAdapter | Sequence[str | ModelAdapter]

#: What runs one tool call: ``_Run.execute``, or a durable engine's step around it.
ToolExecutor = Callable[[ToolCallPart], Awaitable[ToolResultPart]]

#: What a run without tool sets to open enters instead of an exit stack.
_NOTHING: AbstractAsyncContextManager[None] = nullcontext()

#: Frozen, so one instance serves every run that names no policy.
_DEFAULT_RETRY = RetryPolicy()


def _text_message(role: Literal["system", "user"], text: str) -> Message:
    # Message.system / Message.user without validating a plain str again (two
    # models each, every run; tests/test_trusted.py compares them).
    if type(text) is not str:
        return Message(role=role, parts=[TextPart(text=text)])
    part = trusted(TextPart, {"type": "text", "text": text}, {"text"})
    return trusted(Message, {"role": role, "parts": [part]}, {"role", "parts"})


def _input_messages(agent: Agent, input: Input, history: Sequence[Message] | None) -> list[Message]:
    messages: list[Message] = []
    if agent.instructions and not (history and history[0].role == "system"):
        messages.append(_text_message("system", agent.instructions))
    if history:
        messages.extend(history)
    if isinstance(input, str):
        messages.append(_text_message("user", input))
    elif isinstance(input, Message):
        messages.append(input)
    else:
        messages.extend(input)
    return messages


def _model_chain(model: Model | None, agent: Agent) -> list[str | ModelAdapter]:
    if model is None:
        model = choose_model(None, agent.default_model).model
    if isinstance(model, str):
        return list(parse_model_chain(model))
    if isinstance(model, Sequence):
        return [m for item in model for m in (_model_chain(item, agent))]
    return [model]


class _Run(ModelCalls):
    """One run: ``events`` drives it, and ``fold`` (the events so far) is its state.

    The loop never writes the conversation, usage or warnings itself: it
    yields an event and reads the fold, which ``events`` feeds before the
    loop resumes. What the loop keeps besides is policy bookkeeping (retry
    counters, the output mode) that is not part of the result.

    Model calls and tool calls go through ``io``: the in-memory ``MEMORY``
    unless a durable engine sets its own before the run starts.
    """

    io: RunIO = MEMORY

    def __init__(
        self,
        agent: Agent,
        chain: list[str | ModelAdapter],
        messages: list[Message],
        settings: ModelSettings,
        retry: RetryPolicy,
        max_cost_usd: float | None,
        model_options: Mapping[str, Any] | None = None,
        on_truncation: OnTruncation = "warn",
    ) -> None:
        if on_truncation not in ("warn", "error"):
            raise UserError(f"on_truncation must be 'warn' or 'error', not {on_truncation!r}")
        self.agent = agent
        self.on_truncation = on_truncation
        self.model_options = dict(model_options or {})
        self.input = messages
        self.settings = settings
        self.retry = retry
        self.max_cost_usd = max_cost_usd
        self.fold = RunFold()
        self.tool_failures: dict[str, int] = {}
        self.rejected: dict[str, str] = {}
        self.output_failures = 0
        self.answered_by = ""
        self.mode: OutputMode | None = None
        self.index = ToolIndex()
        # Every model of the chain resolves now, so that a typo or a missing key
        # in a fallback fails before any work, not when the primary fails.
        if not chain:
            raise UserError("no model given: name one as provider:model")
        self.adapters = [cached_model(m, self.model_options) for m in chain]
        self.cascade: Cascade | None = None
        # A cascade needs conditions and a second model; a run that cannot
        # escalate (most) imports no _cascade (1.4 ms of a first run).
        if agent.escalate_on and len(self.adapters) > 1:
            from ._cascade import Cascade

            self.cascade = Cascade(agent, self.adapters)

    async def events(self, stream: bool, deltas: bool = True) -> AsyncGenerator[RunEvent, None]:
        """The run's events; each is folded before the caller sees it.

        The loop is written out here rather than in generators of its own:
        every event crosses each generator between the loop and the caller,
        and those crossings were the largest part of the runner's cost.

        Args:
            stream: Call the model's ``stream`` (True) or ``generate``.
            deltas: Yield the deltas of whole (non-streamed) answers too. The
                fold reads only ``response_end``, so ``run()`` skips building
                deltas nobody reads; the result is the same either way.
        """
        agent = self.agent
        fold = self.fold
        add = fold.add
        # Tool sets with a lifetime (MCP connections) are open for exactly this
        # run and closed on every exit path: answer, error or cancellation.
        # (The stock function tool set has no lifetime: no ABC check for it.)
        lived = [
            t
            for t in agent.toolsets
            if type(t) is not FunctionToolset and isinstance(t, AbstractAsyncContextManager)
        ]
        # No exit stack when there is nothing to close: its exit costs more than the
        # rest of a run's set-up.
        stack = AsyncExitStack() if lived else None
        async with stack or _NOTHING:
            for opened in lived:
                assert stack is not None
                await stack.enter_async_context(opened)
            # Not validated again: typed values, containers copied as validation would.
            values = {
                "type": "run_start",
                "messages": list(self.input),
                "models": [f"{a.provider}:{a.model_id}" for a in self.adapters],
                "escalate_on": self.cascade.names if self.cascade else [],
            }
            start = trusted(RunStartEvent, values, {"messages", "models", "escalate_on"})
            add(start)
            yield start
            # This frame lives as long as the run: what only one step needs is let
            # go after it, so that 200 runs in flight hold fewer objects for the
            # garbage collector to walk (and promote) while they wait on HTTP.
            del lived, start, values
            self.index = await ToolIndex.build(agent.toolsets)
            for warning in self.index.warnings:
                for event in self.warn(warning):
                    add(event)
                    yield event
            while not fold.has_output:
                primary = self.adapters[0]  # an escalation moves it up the cascade
                if fold.turns >= agent.max_turns:
                    raise self.error(
                        MaxTurnsError,
                        f"the run reached max_turns={agent.max_turns} without a final answer",
                    )
                turn = trusted(
                    TurnStartEvent,
                    {
                        "type": "turn_start",
                        "turn": fold.turns + 1,
                        "model": f"{primary.provider}:{primary.model_id}",
                    },
                    {"turn", "model"},
                )
                add(turn)
                yield turn
                del turn
                response: ModelResponse | None = None
                # What aclosing() does, without its context manager's two coroutines.
                call = self.io.call_model(self, stream, deltas)
                try:
                    async for event in call:
                        kind = type(event)
                        if kind is ResponseEndEvent or (
                            kind not in RUN_EVENT_CLASSES and isinstance(event, ResponseEndEvent)
                        ):
                            response = cast("ResponseEndEvent", event).response
                        add(event)
                        yield event
                finally:
                    await call.aclose()
                if response is None:
                    raise self.error(ModelCallError, "the model's stream ended without a response")
                if self.cascade is not None:
                    escalation = await self.cascade.escalate(self, response)
                    if escalation is not None:
                        add(escalation)
                        yield escalation
                        self.adapters = self.cascade.remaining(fold)
                        continue
                if response.finish_reason == "length":
                    for event in self._truncated(response):
                        add(event)
                        yield event
                for warning in response.warnings:
                    for event in self.warn(warning):
                        add(event)
                        yield event
                calls = response.message.tool_calls
                final = None
                if self.mode == "tool":
                    final = next((c for c in calls if c.name == FINAL_RESULT_TOOL), None)
                if final is not None:
                    for event in self._accept_output(final.arguments, final):
                        add(event)
                        yield event
                elif calls:
                    results, durations = await self.io.call_tools(self, calls)
                    for event in self._tool_events(calls, results, durations):
                        add(event)
                        yield event
                    # A tool set may have something to tell the user (an MCP server
                    # died): it offers it through an optional drain_warnings().
                    for toolset in agent.toolsets:
                        drain = getattr(toolset, "drain_warnings", None)
                        if drain is not None:
                            for warning in drain():
                                for event in self.warn(warning):
                                    add(event)
                                    yield event
                    self._check_tool_budget(calls, results)
                    # The round is in the fold now; not held through the next call.
                    del calls, results, durations, event
                elif self.mode == "tool":
                    event = self._retry_output("answer by calling the final_result tool", None)
                    add(event)
                    yield event
                else:
                    for event in self._final_output(response):
                        add(event)
                        yield event
        # The run's last event leaves after its tool sets closed cleanly: a
        # caller that stops reading at run_end must not close them with
        # GeneratorExit (MCP sessions treat that as an abort).
        result = fold.result()
        yield trusted(RunEndEvent, {"type": "run_end", "result": result}, {"result"})

    def _tool_events(
        self, calls: list[ToolCallPart], results: list[ToolResultPart], durations: list[float]
    ) -> Iterator[RunEvent]:
        """One round's results as events, in the calls' order (they fold into one message)."""
        # A recorded duration may come back as an int.
        durations = [float(d) for d in durations]
        for call, result, duration in zip(calls, results, durations, strict=True):
            if type(result) is not ToolResultPart:  # a RunIO of someone else's: check it
                yield ToolResultEvent(call=call, result=result, duration_ms=duration)
                continue
            # Built without validation: the call and the result are models already.
            values = {"type": "tool_result", "call": call, "result": result}
            values["duration_ms"] = duration
            yield trusted(ToolResultEvent, values, {"call", "result", "duration_ms"})

    async def tool_round(self, calls: list[ToolCallPart], execute: ToolExecutor) -> ToolRound:
        """Run one round of ``calls`` concurrently through ``execute`` (``RunIO.call_tools``).

        The calls start in their order, each reaching ``execute`` before the
        next starts, so an engine that numbers its steps numbers them alike
        on every replay.
        """
        if len(calls) == 1:  # one call needs no task group, nor slots to fill
            result, duration = await _timed(calls[0], execute)
            return [result], [duration]
        slots: list[ToolResultPart | None] = [None] * len(calls)
        durations = [0.0] * len(calls)

        async def one(i: int, call: ToolCallPart) -> None:
            slots[i], durations[i] = await _timed(call, execute)

        async with anyio.create_task_group() as group:
            for i, call in enumerate(calls):
                group.start_soon(one, i, call)
        # Every call has its result now (a failure is an error result); the
        # strict zip in _tool_events would catch one that had not.
        return [r for r in slots if r is not None], durations

    async def execute(self, call: ToolCallPart) -> ToolResultPart:
        """One tool call, as the loop makes it: a failure is an error result, never raised."""
        rejected = self.rejected.pop(call.id, None)
        if rejected is not None:  # the provider refused this call (ModelCalls._rejected)
            return error_result(rejected)
        if call.raw_arguments is not None:
            return error_result(
                f"The arguments for {call.name} were not a JSON object: {call.raw_arguments!r}. "
                "Call the tool again with a JSON object."
            )
        route = self.index.routes.get(call.name)
        if route is None:
            names = ", ".join(self.index.routes) or "none"
            return error_result(f"There is no tool named {call.name!r}. Available tools: {names}.")
        tool = route.tool
        if route.direct and tool is not None:
            return await tool.run(call.arguments, timeout=self.agent.tool_timeout)
        limit = tool.timeout if tool is not None and tool.timeout is not None else None
        limit = self.agent.tool_timeout if limit is None else limit
        try:
            with anyio.fail_after(limit):
                return await route.toolset.call_tool(route.name, call.arguments)
        except TimeoutError:
            return error_result(f"Tool {call.name} timed out after {limit} s")
        except Exception as exc:
            return error_result(f"Tool {call.name} failed: {type(exc).__name__}: {exc}")

    def _check_tool_budget(self, calls: list[ToolCallPart], results: list[ToolResultPart]) -> None:
        for call, result in zip(calls, results, strict=True):
            if not result.is_error:
                continue
            failures = self.tool_failures.get(call.name, 0) + 1
            self.tool_failures[call.name] = failures
            # A tool's own retries (@tool(retries=...)) win over the agent's default.
            route = self.index.routes.get(call.name)
            own = route.tool.retries if route is not None and route.tool is not None else None
            budget = self.agent.tool_retries if own is None else own
            if failures > budget:
                raise self.error(
                    ToolRetriesError,
                    f"tool {call.name} failed {failures} times (budget {budget});"
                    f" last error: {result.text}",
                )

    def _final_output(self, response: ModelResponse) -> list[RunEvent]:
        """The events that accept the answer of ``response`` or ask for another."""
        text = response.message.text
        if self.mode is None:
            if response.refusal and not text:
                return [OutputEvent(output=response.refusal, model=self.answered_by)]
            # The common answer, text: built without validation, like the loop's other events.
            values = {"type": "output", "output": text, "model": self.answered_by}
            return [trusted(OutputEvent, values, {"output", "model"})]
        if response.refusal:
            raise self.error(
                OutputValidationError, f"the model refused to answer: {response.refusal}"
            )
        try:
            data = parse_json_answer(text)
        except ValueError as exc:
            return [self._retry_output(f"your answer was not valid JSON ({exc})", None)]
        return self._accept_output(data, None)

    def _accept_output(self, data: Any, call: ToolCallPart | None) -> list[RunEvent]:
        try:
            output = self.agent.parse_output(data)
        except ValueError as exc:
            return [self._retry_output(f"your answer did not match the output schema: {exc}", call)]
        events: list[RunEvent] = []
        if call is not None:
            # Answer the final_result call so the history stays valid for a next run.
            result = _answer(call, "accepted", is_error=False)
            events.append(ToolResultEvent(call=call, result=result, duration_ms=0.0))
        events.append(OutputEvent(output=output, model=self.answered_by))
        return events

    def _retry_output(self, problem: str, call: ToolCallPart | None) -> RunEvent:
        self.output_failures += 1
        if self.output_failures > self.agent.output_retries:
            raise self.error(
                OutputValidationError,
                f"the final answer did not match the output schema after "
                f"{self.output_failures} tries: {problem}",
            )
        note = f"Please try again: {problem}."
        message = (
            Message(role="tool", parts=[_answer(call, note, is_error=True)])
            if call is not None
            else Message.user(note)
        )
        return OutputRetryEvent(problem=problem, attempt=self.output_failures, message=message)


def _answering(result: ToolResultPart, call: ToolCallPart) -> ToolResultPart:
    """``result`` as the answer to ``call``: what ``model_copy(update=...)`` makes, for less."""
    values = {**result.__dict__, "call_id": call.id, "name": call.name}
    return trusted(ToolResultPart, values, result.model_fields_set | {"call_id", "name"})


def _answer(call: ToolCallPart, text: str, *, is_error: bool) -> ToolResultPart:
    return ToolResultPart(
        call_id=call.id, name=call.name, content=[TextPart(text=text)], is_error=is_error
    )


async def _timed(call: ToolCallPart, execute: ToolExecutor) -> tuple[ToolResultPart, float]:
    """``execute(call)`` as the answer to ``call``, and the milliseconds it took."""
    if "opentelemetry.trace" not in sys.modules:  # no tracing, no span to enter
        started = time.perf_counter()
        result = await execute(call)
        return _answering(result, call), (time.perf_counter() - started) * 1000
    with _tool_scope(call):
        # Timed inside the scope: the span's end is its start plus this
        # duration, which must not reach past the tool's real end.
        started = time.perf_counter()
        result = await execute(call)
        duration = (time.perf_counter() - started) * 1000
    return _answering(result, call), duration


def _tool_scope(call: ToolCallPart) -> AbstractContextManager[None]:
    # The call's execute_tool span, current while it runs (see _event_stream).
    if "opentelemetry.trace" in sys.modules:
        from ._tracing import tool_scope

        return tool_scope(call)
    return nullcontext()


def _event_stream(state: _Run, stream: bool, deltas: bool) -> AsyncGenerator[RunEvent, None]:
    events = state.events(stream, deltas)
    # Tracing is off until OpenTelemetry is loaded: no import, one dict lookup.
    if "opentelemetry.trace" in sys.modules:
        from ._tracing import traced

        return traced(state, events, stream)
    return events


def _prepare(
    agent: Agent,
    input: Input,
    *,
    model: Model | None,
    history: Sequence[Message] | None,
    settings: ModelSettings | None,
    retry: RetryPolicy | None,
    max_cost_usd: float | None,
    model_options: Mapping[str, Any] | None,
    on_truncation: OnTruncation,
) -> _Run:
    return _Run(
        agent,
        _model_chain(model, agent),
        _input_messages(agent, input, history),
        agent.settings.merged(settings),
        retry or _DEFAULT_RETRY,
        max_cost_usd if max_cost_usd is not None else agent.max_cost_usd,
        model_options,
        on_truncation,
    )


class RunStream(AsyncIterator[RunEvent]):
    """The events of one ``run_stream`` run: an async iterator with ``aclose()``.

    Not an async generator, for two reasons. A consumer that stops reading at
    ``run_end`` (a ``return`` inside ``async for``, the common case) would
    leave one suspended at its last ``yield``, and asyncio finalizes those
    through its self-pipe and a task of their own, after every run. And every
    event would cross one more generator. So the run's own generator's
    ``__anext__`` is handed out as it is while the run has no answer yet (no
    ``run_end`` can come before one), and past that point each step is
    awaited here: ``run_end`` leaves only once that generator has ended.
    """

    __slots__ = ("_events", "_fold", "_next", "_start")

    def __init__(self, start: Callable[[], tuple[RunFold, AsyncGenerator[RunEvent, None]]]) -> None:
        # The run is built on the first pull, as an async generator's body
        # would run: a misconfigured run fails there, not in run_stream().
        self._start: Callable[[], tuple[RunFold, AsyncGenerator[RunEvent, None]]] | None = start
        self._events: AsyncGenerator[RunEvent, None] | None = None
        self._fold: RunFold | None = None
        self._next: Callable[[], Awaitable[RunEvent]] = _ended

    def __aiter__(self) -> RunStream:
        return self

    def __anext__(self) -> Awaitable[RunEvent]:
        fold = self._fold
        if fold is not None and fold.output is _NO_OUTPUT:
            return self._next()  # the run's generator itself: no hop of ours
        return self._edge()

    async def _edge(self) -> RunEvent:
        """The first step (which starts the run) and the steps after its answer."""
        events = self._events
        if events is None:
            start = self._start
            if start is None:  # closed before it started
                raise StopAsyncIteration
            self._start = None
            self._fold, events = start()
            self._events, self._next = events, events.__anext__
        event = await self._next()
        if isinstance(event, RunEndEvent):
            # Run the generator to its end before run_end leaves (its tool
            # sets are closed already): a consumer that stops here leaves
            # nothing suspended for the loop to finalize.
            try:
                extra = await self._next()
            except StopAsyncIteration:
                return event
            await events.aclose()
            raise AssertionError(f"an event after run_end: {extra.type}")
        return event

    async def aclose(self) -> None:
        """Stop the run: its HTTP response and tool sets close before this returns."""
        self._start = None
        if self._events is not None:
            await self._events.aclose()


async def _ended() -> RunEvent:
    # RunStream's step before the run starts (never awaited: _edge starts it).
    raise StopAsyncIteration


def run_stream(
    agent: Agent,
    input: Input,
    *,
    model: Model | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
    stream: bool = True,
    retry: RetryPolicy | None = None,
    max_cost_usd: float | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_truncation: OnTruncation = "warn",
) -> RunStream:
    """``agentkit.run_stream``'s body (``_run`` holds its documentation)."""

    def start() -> tuple[RunFold, AsyncGenerator[RunEvent, None]]:
        state = _prepare(
            agent,
            input,
            model=model,
            history=history,
            settings=settings,
            retry=retry,
            max_cost_usd=max_cost_usd,
            model_options=model_options,
            on_truncation=on_truncation,
        )
        return state.fold, _event_stream(state, stream, True)

    return RunStream(start)


async def run(
    agent: Agent,
    input: Input,
    *,
    model: Model | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
    retry: RetryPolicy | None = None,
    max_cost_usd: float | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_truncation: OnTruncation = "warn",
) -> RunResult:
    """``agentkit.run``'s body (``_run`` holds its documentation)."""
    state = _prepare(
        agent,
        input,
        model=model,
        history=history,
        settings=settings,
        retry=retry,
        max_cost_usd=max_cost_usd,
        model_options=model_options,
        on_truncation=on_truncation,
    )
    events = _event_stream(state, False, False)
    result: RunResult | None = None
    try:
        # Read to the end: run_end is the last event, and a generator that ends
        # by itself costs less than one closed with GeneratorExit.
        async for event in events:
            if type(event) is RunEndEvent:
                result = event.result
    finally:
        if result is None:  # stopped early (an error): close it here, as aclosing() would
            await events.aclose()
    if result is None:  # pragma: no cover
        raise AssertionError("a run always ends with a RunEndEvent or an error")
    return result


def run_sync(
    agent: Agent,
    input: Input,
    *,
    model: Model | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
    retry: RetryPolicy | None = None,
    max_cost_usd: float | None = None,
    model_options: Mapping[str, Any] | None = None,
    on_truncation: OnTruncation = "warn",
) -> RunResult:
    """``agentkit.run_sync``'s body (``_run`` holds its documentation)."""
    # The result leaves through a list, not as the main task's return value.
    # On leaving, asyncio.run (Python 3.11-3.13) reads its SIGINT handler back
    # with signal.getsignal, which tries to make an enum of it; the failed try
    # formats the handler's repr, a partial holding the main task, and so the
    # repr of the task's result: every call paid repr(RunResult), 65 us for
    # the weather agent and more for a longer conversation.
    outcome: list[RunResult] = []

    async def main() -> None:
        result = await run(
            agent,
            input,
            model=model,
            history=history,
            settings=settings,
            retry=retry,
            max_cost_usd=max_cost_usd,
            model_options=model_options,
            on_truncation=on_truncation,
        )
        outcome.append(result)

    run_in_loop(main)
    return outcome[0]
