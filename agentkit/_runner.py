"""The run loop: model call, tool calls run concurrently, results, repeat.

The runner owns policy (the loop, retries and the fallback chain, budgets,
tool validation, structured output planning); adapters only translate. A run
is a stream of events and its result is that stream folded (``RunFold``):
every change to the run's state is an event, the fold is the state, and
``run``, ``run_stream`` and ``run_sync`` drive the same generator, so the
events users see are exactly what the result is made of.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, aclosing
from typing import Any, Literal

import anyio

from ._agent import Agent
from ._messages import Message, TextPart, ToolCallPart, ToolResultPart
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
from ._output import (
    FINAL_RESULT_TOOL,
    OutputMode,
    parse_json_answer,
    plan_output_mode,
    prompted_instructions,
)
from ._policy import (
    RetryPolicy,
    check_capabilities,
    estimate_cost,
    parse_model_chain,
    should_fall_back,
    spent_usd,
)
from ._registry import choose_model, resolve_model
from ._result import (
    OutputEvent,
    OutputRetryEvent,
    RetryEvent,
    RunEndEvent,
    RunEvent,
    RunFold,
    RunResult,
    RunStartEvent,
    ToolResultEvent,
    TurnStartEvent,
    WarningEvent,
)
from ._stream import response_events
from ._toolindex import ToolIndex
from ._tools import error_result
from .exceptions import (
    AdapterError,
    AgentkitError,
    BudgetExceededError,
    MaxTurnsError,
    ModelCallError,
    OutputValidationError,
    RunError,
    SchemaCompileError,
    ToolRetriesError,
    TruncatedError,
    UnsupportedSchemaError,
    UserError,
)

__all__ = ["run", "run_stream", "run_sync"]

Input = str | Message | Sequence[Message]

#: Frozen, so one instance serves every run that names no policy.
_DEFAULT_RETRY = RetryPolicy()

#: Retries are logged here as well as reported as events and on the result.
_log = logging.getLogger("agentkit")
Model = str | ModelAdapter | Sequence[str | ModelAdapter]
OnTruncation = Literal["warn", "error"]


def _input_messages(agent: Agent, input: Input, history: Sequence[Message] | None) -> list[Message]:
    messages: list[Message] = []
    if agent.instructions and not (history and history[0].role == "system"):
        messages.append(Message.system(agent.instructions))
    if history:
        messages.extend(history)
    if isinstance(input, str):
        messages.append(Message.user(input))
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


class _Run:
    """One run: ``events`` drives it, and ``fold`` (the events so far) is its state.

    The loop never writes the conversation, usage or warnings itself: it
    yields an event and reads the fold, which ``events`` feeds before the
    loop resumes. What the loop keeps besides is policy bookkeeping (retry
    counters, the output mode) that is not part of the result.
    """

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
        self.output_failures = 0
        self.answered_by = ""
        self.mode: OutputMode | None = None
        self.index = ToolIndex()
        # Every model of the chain resolves now, so that a typo or a missing key
        # in a fallback fails before any work, not when the primary fails.
        if not chain:
            raise UserError("no model given: name one as provider:model")
        self.adapters = [resolve_model(m, **self.model_options) for m in chain]

    @property
    def messages(self) -> list[Message]:
        """The conversation so far (the fold's)."""
        return self.fold.messages

    def error(self, cls: type[RunError], message: str, cause: Any = None) -> RunError:
        return cls(message, messages=self.fold.messages, usage=self.fold.usage, cause=cause)

    def warn(self, warning: RunWarning) -> list[RunEvent]:
        # Events are folded one by one as they are yielded, so the fold
        # already holds every warning sent before this one.
        if warning in self.fold.warnings:
            return []
        return [WarningEvent(warning=warning)]

    async def events(self, stream: bool, deltas: bool = True) -> AsyncGenerator[RunEvent, None]:
        """The run's events; each is folded before the caller sees it.

        Args:
            stream: Call the model's ``stream`` (True) or ``generate``.
            deltas: Yield the deltas of whole (non-streamed) answers too. The
                fold reads only ``response_end``, so ``run()`` skips building
                deltas nobody reads; the result is the same either way.
        """
        fold = self.fold
        # Tool sets with a lifetime (MCP connections) are open for exactly this
        # run and closed on every exit path: answer, error or cancellation.
        async with AsyncExitStack() as stack:
            for toolset in self.agent.toolsets:
                if isinstance(toolset, AbstractAsyncContextManager):
                    await stack.enter_async_context(toolset)
            start = RunStartEvent(
                messages=self.input, models=[f"{a.provider}:{a.model_id}" for a in self.adapters]
            )
            fold.add(start)
            yield start
            self.index = await ToolIndex.build(self.agent.toolsets)
            for warning in self.index.warnings:
                for event in self.warn(warning):
                    fold.add(event)
                    yield event
            # One generator fewer between the loop and the caller: every event
            # crosses each layer, and the layers are most of the runner's cost.
            async with aclosing(self._loop(stream, deltas)) as loop:
                async for event in loop:
                    fold.add(event)
                    yield event
        # The run's last event leaves after its tool sets closed cleanly: a
        # caller that stops reading at run_end must not close them with
        # GeneratorExit (MCP sessions treat that as an abort).
        if fold.has_output:
            yield RunEndEvent(result=fold.result())

    def _request(self, mode: OutputMode | None) -> ModelRequest:
        """The request for one call, shaped for the output mode of the model asked."""
        schema = self.agent.output_json_schema
        messages = list(self.messages)
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
        return ModelRequest(
            messages=messages,
            tools=tools,
            tool_choice=tool_choice,
            output_schema=schema if mode == "native" else None,
            output_name=self.agent.name,
            settings=self.settings,
            allow_lossy_schemas=self.agent.allow_lossy_schemas,
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

    async def _call_model(self, stream: bool, deltas: bool) -> AsyncGenerator[RunEvent, None]:
        """One model call: capability checks, budget, retries, then the chain.

        Never retries or falls back once an answer's delta has reached the
        caller: the user would see the start of one answer and then another.
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
            for warning in warnings + self._check_budget(model, request):
                for event in self.warn(warning):
                    yield event
            clock = self.retry.clock
            started = clock()
            attempt = 0
            while True:
                attempt += 1
                delivered = False
                whole: ModelResponse | None = None
                try:
                    if stream:
                        async for event in self._streamed(adapter, request):
                            delivered = True
                            yield event
                    else:
                        whole = await adapter.generate(request)
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

    async def _streamed(
        self, adapter: ModelAdapter, request: ModelRequest
    ) -> AsyncGenerator[RunEvent, None]:
        # The start event is held back until the first delta, so that an
        # attempt failing before any content can be retried invisibly.
        held: ResponseStartEvent | None = None
        async with aclosing(adapter.stream(request)) as events:  # type: ignore[type-var]
            async for event in events:
                if isinstance(event, ResponseStartEvent):
                    held = event
                    continue
                if held is not None:
                    yield held
                    held = None
                yield event

    async def _loop(self, stream: bool, deltas: bool) -> AsyncGenerator[RunEvent, None]:
        agent = self.agent
        fold = self.fold
        primary = self.adapters[0]
        while True:
            if fold.turns >= agent.max_turns:
                raise self.error(
                    MaxTurnsError,
                    f"the run reached max_turns={agent.max_turns} without a final answer",
                )
            model = f"{primary.provider}:{primary.model_id}"
            yield TurnStartEvent(turn=fold.turns + 1, model=model)
            response: ModelResponse | None = None
            async with aclosing(self._call_model(stream, deltas)) as call:
                async for event in call:
                    if isinstance(event, ResponseEndEvent):
                        response = event.response
                    yield event
            if response is None:
                raise self.error(ModelCallError, "the model's stream ended without a response")
            if response.finish_reason == "length":
                for event in self._truncated(response):
                    yield event
            for warning in response.warnings:
                for event in self.warn(warning):
                    yield event

            calls = response.message.tool_calls
            if self.mode == "tool":
                final = next((c for c in calls if c.name == FINAL_RESULT_TOOL), None)
                if final is not None:
                    for event in self._accept_output(final.arguments, final):
                        yield event
                    if fold.has_output:
                        return
                    continue
            if calls:
                async for event in self._run_tools(calls):
                    yield event
                continue
            if self.mode == "tool":
                yield self._retry_output("answer by calling the final_result tool", None)
                continue
            for event in self._final_output(response):
                yield event
            if fold.has_output:
                return

    async def _run_tools(self, calls: list[ToolCallPart]) -> AsyncIterator[RunEvent]:
        results: list[ToolResultPart] = [error_result("not run")] * len(calls)
        durations = [0.0] * len(calls)

        async def one(i: int, call: ToolCallPart) -> None:
            started = time.perf_counter()
            result = await self._execute(call)
            durations[i] = (time.perf_counter() - started) * 1000
            results[i] = result.model_copy(update={"call_id": call.id, "name": call.name})

        if len(calls) == 1:
            await one(0, calls[0])  # one call needs no task group
        else:
            async with anyio.create_task_group() as group:
                for i, call in enumerate(calls):
                    group.start_soon(one, i, call)
        # One round's results, in the calls' order, fold into one tool message.
        for call, result, duration in zip(calls, results, durations, strict=True):
            yield ToolResultEvent(call=call, result=result, duration_ms=duration)
        # A tool set may have something to tell the user (an MCP server died):
        # it offers it through an optional drain_warnings().
        for toolset in self.agent.toolsets:
            drain = getattr(toolset, "drain_warnings", None)
            if drain is not None:
                for warning in drain():
                    for event in self.warn(warning):
                        yield event
        self._check_tool_budget(calls, results)

    async def _execute(self, call: ToolCallPart) -> ToolResultPart:
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

    def _final_output(self, response: ModelResponse) -> list[RunEvent]:
        """The events that accept the answer of ``response`` or ask for another."""
        text = response.message.text
        if self.mode is None:
            if response.refusal and not text:
                return [OutputEvent(output=response.refusal, model=self.answered_by)]
            return [OutputEvent(output=text, model=self.answered_by)]
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
    _log.info(
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


def _answer(call: ToolCallPart, text: str, *, is_error: bool) -> ToolResultPart:
    return ToolResultPart(
        call_id=call.id, name=call.name, content=[TextPart(text=text)], is_error=is_error
    )


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


async def run_stream(
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
) -> AsyncIterator[RunEvent]:
    """Run ``agent`` on ``input``, yielding events as they happen.

    The last event is a ``RunEndEvent`` holding the ``RunResult``, which is
    the fold of the events before it (``fold_events``). To stop early, close
    the iterator (``async with contextlib.aclosing(...)``) so the run's
    connections close in the task that opened them.

    Args:
        agent: The agent to run.
        input: The user's message (text, a ``Message`` or several).
        model: ``provider:model``, an adapter, or a chain of them tried in
            order (``"ollama:llama3.2,openai:gpt-4.1-mini"``); see
            ``choose_model`` when None.
        history: Earlier messages to continue from.
        settings: Settings overriding the agent's.
        stream: Stream from the model (True) or make whole calls (False);
            the events are the same either way, only their timing differs.
        retry: Retry policy for failed model calls.
        max_cost_usd: Stop before a call that could take the run past this price.
        model_options: Options for the adapter factories of model strings
            (``base_url``, ``api_key``, ``headers``, ``http_client``, or a
            factory's own); they win over environment variables.
        on_truncation: What an answer cut off at ``max_tokens`` does:
            ``"warn"`` (a ``truncated`` warning, the run goes on) or
            ``"error"`` (``TruncatedError``).

    Raises:
        RunError: the run failed; ``messages`` keeps the conversation so far.
        UserError: the agent or model is misconfigured.
    """
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
    async with aclosing(state.events(stream)) as events:
        async for event in events:
            yield event


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
    """Run ``agent`` on ``input`` to a final answer.

    The run is ``run_stream``'s, folded the same way; only the deltas of
    whole answers, which the fold does not read, are not built.

    Args:
        agent: The agent to run.
        input: The user's message (text, a ``Message`` or several).
        model: ``provider:model``, an adapter, or a chain tried in order.
        history: Earlier messages to continue from.
        settings: Settings overriding the agent's.
        retry: Retry policy for failed model calls.
        max_cost_usd: Stop before a call that could take the run past this price.
        model_options: Options for the adapter factories of model strings
            (``base_url``, ``api_key``, ``headers``, ``http_client``, or a
            factory's own); they win over environment variables.
        on_truncation: ``"warn"`` (default) or ``"error"`` (``TruncatedError``)
            when an answer is cut off at ``max_tokens``.

    Returns:
        The result: output, messages, usage, cost, turns, warnings, retries
        and the last finish reason.

    Raises:
        RunError: the run failed; ``messages`` keeps the conversation so far.
        UserError: the agent or model is misconfigured.
    """
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
    async with aclosing(state.events(stream=False, deltas=False)) as events:
        async for event in events:
            if isinstance(event, RunEndEvent):
                return event.result
    raise AssertionError("a run always ends with a RunEndEvent or an error")  # pragma: no cover


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
    """``run`` for code without an event loop; see ``run`` for the arguments."""

    async def main() -> RunResult:
        return await run(
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

    return anyio.run(main)
