"""The run loop: model call, tool calls run concurrently, results, repeat.

The runner owns policy (the loop, tool validation and budgets, structured
output planning); adapters only translate. A run is a stream of events and
``run`` is that stream folded, so streaming and non-streaming runs share one
path and the events users see are the ones the conformance kit checks.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, aclosing
from typing import Any, Literal

import anyio

from ._agent import Agent
from ._messages import Message, TextPart, ToolCallPart, ToolResultPart, Usage
from ._model import (
    ModelAdapter,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ResponseEndEvent,
    RunWarning,
    ToolDefinition,
)
from ._registry import resolve_model
from ._result import (
    RunEndEvent,
    RunEvent,
    RunResult,
    ToolResultEvent,
    TurnStartEvent,
    WarningEvent,
)
from ._stream import response_events
from ._tools import Tool, Toolset, error_result
from .exceptions import (
    AdapterError,
    MaxTurnsError,
    ModelCallError,
    OutputValidationError,
    RunError,
    ToolRetriesError,
    UserError,
)

__all__ = ["run", "run_stream", "run_sync"]

#: Name of the tool that carries the answer when structured output is tool-forced.
FINAL_RESULT_TOOL = "final_result"

OutputMode = Literal["native", "tool", "prompted"]

Input = str | Message | Sequence[Message]


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


def plan_output_mode(agent: Agent, adapter: ModelAdapter) -> OutputMode | None:
    """How structured output is obtained: native, then tool-forcing, then prompted."""
    if agent.output_json_schema is None:
        return None
    modes = adapter.capabilities.structured_output
    if "native" in modes:
        return "native"
    caps = adapter.capabilities
    if "tool" in modes and caps.tools and ({"required", "named"} & caps.tool_choice):
        return "tool"
    return "prompted"


def _prompted_instructions(schema: dict[str, Any]) -> str:
    return (
        "Give your final answer as a single JSON object, with no other text, "
        f"that matches this JSON Schema:\n{json.dumps(schema)}"
    )


def _parse_json_answer(text: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("```"):
        # Models asked for JSON in the prompt often fence it.
        stripped = stripped.strip("`")
        stripped = stripped.removeprefix("json").strip()
    return json.loads(stripped)


class _ToolIndex:
    """Which tool set serves which tool name, built once per run.

    When two tool sets offer the same name, the later one's tool is renamed
    ``<toolset name>_<tool>`` (the model sees the new name, the tool set gets
    its own) and a warning says so.
    """

    def __init__(self) -> None:
        self.definitions: list[ToolDefinition] = []
        self.routes: dict[str, tuple[Toolset, Tool | None, str]] = {}
        self.warnings: list[RunWarning] = []

    @classmethod
    async def build(cls, toolsets: Sequence[Toolset]) -> _ToolIndex:
        index = cls()
        for toolset in toolsets:
            direct = getattr(toolset, "tools", None)
            for definition in await toolset.list_tools():
                original = definition.name
                if original in index.routes:
                    prefix = getattr(toolset, "name", None)
                    renamed = f"{prefix}_{original}" if isinstance(prefix, str) else None
                    if renamed is None or renamed in index.routes:
                        raise UserError(
                            f"two tools are named {original!r}; give the tool sets names "
                            "so one can be prefixed"
                        )
                    definition = definition.model_copy(update={"name": renamed})
                    index.warnings.append(
                        RunWarning(
                            kind="tool",
                            feature=original,
                            message=f"tool {original!r} of {prefix!r} is offered to the model "
                            f"as {renamed!r}: another tool set already has that name",
                        )
                    )
                found = direct.get(original) if isinstance(direct, dict) else None
                index.routes[definition.name] = (
                    toolset,
                    found if isinstance(found, Tool) else None,
                    original,
                )
                index.definitions.append(definition)
        return index


class _Run:
    """The state of one run; ``events`` drives it."""

    def __init__(
        self,
        agent: Agent,
        adapter: ModelAdapter,
        messages: list[Message],
        settings: ModelSettings,
    ) -> None:
        self.agent = agent
        self.adapter = adapter
        self.model_name = f"{adapter.provider}:{adapter.model_id}"
        self.messages = messages
        self.settings = settings
        self.usage: Usage | None = None
        self.usage_by_model: dict[str, Usage] = {}
        self.warnings: list[RunWarning] = []
        self.tool_failures: dict[str, int] = {}
        self.output_failures = 0
        self.turns = 0

    def error(self, cls: type[RunError], message: str, cause: Any = None) -> RunError:
        return cls(message, messages=self.messages, usage=self.usage, cause=cause)

    def _add_usage(self, response: ModelResponse) -> None:
        usage = response.usage or Usage(requests=1)
        self.usage = usage if self.usage is None else self.usage + usage
        key = f"{response.provider}:{response.model_id}"
        previous = self.usage_by_model.get(key)
        self.usage_by_model[key] = usage if previous is None else previous + usage

    async def events(self, stream: bool) -> AsyncGenerator[RunEvent, None]:
        # Tool sets with a lifetime (MCP connections) are open for exactly this
        # run and closed on every exit path: answer, error or cancellation.
        async with AsyncExitStack() as stack:
            for toolset in self.agent.toolsets:
                if isinstance(toolset, AbstractAsyncContextManager):
                    await stack.enter_async_context(toolset)
            async for event in self._loop(stream):
                yield event

    async def _loop(self, stream: bool) -> AsyncGenerator[RunEvent, None]:
        agent = self.agent
        index = await _ToolIndex.build(agent.toolsets)
        for warning in index.warnings:
            self.warnings.append(warning)
            yield WarningEvent(warning=warning)
        mode = plan_output_mode(agent, self.adapter)
        schema = agent.output_json_schema
        tools = list(index.definitions)
        tool_choice: str | None = None
        if mode == "tool" and schema is not None:
            tools.append(
                ToolDefinition(
                    name=FINAL_RESULT_TOOL,
                    description="Give the final answer. Call this once you have the answer.",
                    input_schema=schema,
                )
            )
            tool_choice = "required"
        elif mode == "prompted" and schema is not None:
            self.messages.insert(
                1 if self.messages and self.messages[0].role == "system" else 0,
                Message.system(_prompted_instructions(schema)),
            )

        while True:
            if self.turns >= agent.max_turns:
                raise self.error(
                    MaxTurnsError,
                    f"the run reached max_turns={agent.max_turns} without a final answer",
                )
            self.turns += 1
            yield TurnStartEvent(turn=self.turns, model=self.model_name)
            request = ModelRequest(
                messages=list(self.messages),
                tools=tools,
                tool_choice=tool_choice,
                output_schema=schema if mode == "native" else None,
                output_name=agent.name,
                settings=self.settings,
            )
            response: ModelResponse | None = None
            try:
                if stream:
                    async for event in self.adapter.stream(request):
                        if isinstance(event, ResponseEndEvent):
                            response = event.response
                        yield event
                else:
                    response = await self.adapter.generate(request)
                    for event in response_events(response):
                        yield event
            except AdapterError as exc:
                raise self.error(ModelCallError, str(exc), exc) from exc
            if response is None:
                raise self.error(
                    ModelCallError, f"{self.model_name}: the stream ended without a response"
                )
            self.messages.append(response.message)
            self._add_usage(response)
            for warning in response.warnings:
                if warning not in self.warnings:
                    self.warnings.append(warning)
                    yield WarningEvent(warning=warning)

            calls = response.message.tool_calls
            if mode == "tool":
                final = next((c for c in calls if c.name == FINAL_RESULT_TOOL), None)
                if final is not None:
                    output = self._accept_output(final.arguments, final)
                    if output is not _RETRY:
                        yield RunEndEvent(result=self._result(output))
                        return
                    continue
            if calls:
                results: list[ToolResultPart] = [error_result("not run")] * len(calls)
                durations = [0.0] * len(calls)
                async with anyio.create_task_group() as group:
                    for i, call in enumerate(calls):
                        group.start_soon(self._call_tool, index, call, results, durations, i)
                self.messages.append(Message(role="tool", parts=list(results)))
                for call, result, duration in zip(calls, results, durations, strict=True):
                    yield ToolResultEvent(call=call, result=result, duration_ms=duration)
                self._check_tool_budget(calls, results)
                continue
            if mode == "tool":
                self._retry_output("answer by calling the final_result tool", None)
                continue
            output = self._final_output(response, mode)
            if output is _RETRY:
                continue
            yield RunEndEvent(result=self._result(output))
            return

    async def _call_tool(
        self,
        index: _ToolIndex,
        call: ToolCallPart,
        results: list[ToolResultPart],
        durations: list[float],
        i: int,
    ) -> None:
        started = time.perf_counter()
        result = await self._execute(index, call)
        durations[i] = (time.perf_counter() - started) * 1000
        results[i] = result.model_copy(update={"call_id": call.id, "name": call.name})

    async def _execute(self, index: _ToolIndex, call: ToolCallPart) -> ToolResultPart:
        if call.raw_arguments is not None:
            return error_result(
                f"The arguments for {call.name} were not a JSON object: {call.raw_arguments!r}. "
                "Call the tool again with a JSON object."
            )
        route = index.routes.get(call.name)
        if route is None:
            names = ", ".join(index.routes) or "none"
            return error_result(f"There is no tool named {call.name!r}. Available tools: {names}.")
        toolset, direct, original = route
        if direct is not None:
            return await direct.run(call.arguments, timeout=self.agent.tool_timeout)
        try:
            with anyio.fail_after(self.agent.tool_timeout):
                return await toolset.call_tool(original, call.arguments)
        except TimeoutError:
            return error_result(f"Tool {call.name} timed out after {self.agent.tool_timeout} s")
        except Exception as exc:
            return error_result(f"Tool {call.name} failed: {type(exc).__name__}: {exc}")

    def _check_tool_budget(self, calls: list[ToolCallPart], results: list[ToolResultPart]) -> None:
        for call, result in zip(calls, results, strict=True):
            if not result.is_error:
                continue
            failures = self.tool_failures.get(call.name, 0) + 1
            self.tool_failures[call.name] = failures
            if failures > self.agent.tool_retries:
                raise self.error(
                    ToolRetriesError,
                    f"tool {call.name} failed {failures} times (budget {self.agent.tool_retries});"
                    f" last error: {result.text}",
                )

    def _final_output(self, response: ModelResponse, mode: OutputMode | None) -> Any:
        text = response.message.text
        if mode is None:
            if response.refusal and not text:
                return response.refusal
            return text
        if response.refusal:
            raise self.error(
                OutputValidationError, f"the model refused to answer: {response.refusal}"
            )
        try:
            data = _parse_json_answer(text)
        except ValueError as exc:
            self._retry_output(f"your answer was not valid JSON ({exc})", None)
            return _RETRY
        return self._accept_output(data, None)

    def _accept_output(self, data: Any, call: ToolCallPart | None) -> Any:
        try:
            output = self.agent.parse_output(data)
        except ValueError as exc:
            self._retry_output(f"your answer did not match the output schema: {exc}", call)
            return _RETRY
        if call is not None:
            # Answer the final_result call so the history stays valid for a next run.
            self.messages.append(
                Message(
                    role="tool",
                    parts=[
                        ToolResultPart(
                            call_id=call.id, name=call.name, content=[TextPart(text="accepted")]
                        )
                    ],
                )
            )
        return output

    def _retry_output(self, problem: str, call: ToolCallPart | None) -> None:
        self.output_failures += 1
        if self.output_failures > self.agent.output_retries:
            raise self.error(
                OutputValidationError,
                f"the final answer did not match the output schema after "
                f"{self.output_failures} tries: {problem}",
            )
        note = f"Please try again: {problem}."
        if call is not None:
            self.messages.append(
                Message(
                    role="tool",
                    parts=[
                        ToolResultPart(
                            call_id=call.id,
                            name=call.name,
                            content=[TextPart(text=note)],
                            is_error=True,
                        )
                    ],
                )
            )
        else:
            self.messages.append(Message.user(note))

    def _result(self, output: Any) -> RunResult:
        return RunResult(
            output=output,
            messages=self.messages,
            usage=self.usage or Usage(requests=0),
            usage_by_model=self.usage_by_model,
            turns=self.turns,
            model=self.model_name,
            warnings=self.warnings,
        )


_RETRY: Any = object()


def _prepare(
    agent: Agent,
    input: Input,
    model: str | ModelAdapter | None,
    history: Sequence[Message] | None,
    settings: ModelSettings | None,
) -> _Run:
    if model is None:
        from ._registry import choose_model

        model = choose_model(None, agent.default_model).model
    adapter = resolve_model(model)
    messages = _input_messages(agent, input, history)
    return _Run(agent, adapter, messages, agent.settings.merged(settings))


async def run_stream(
    agent: Agent,
    input: Input,
    *,
    model: str | ModelAdapter | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
    stream: bool = True,
) -> AsyncIterator[RunEvent]:
    """Run ``agent`` on ``input``, yielding events as they happen.

    The last event is a ``RunEndEvent`` holding the ``RunResult``. To stop
    early, close the iterator (``async with contextlib.aclosing(...)``) so the
    run's connections close in the task that opened them.

    Args:
        agent: The agent to run.
        input: The user's message (text, a ``Message`` or several).
        model: ``provider:model`` or an adapter; see ``choose_model`` when None.
        history: Earlier messages to continue from.
        settings: Settings overriding the agent's.
        stream: Stream from the model (True) or make whole calls (False);
            the events are the same either way, only their timing differs.

    Raises:
        RunError: the run failed; ``messages`` keeps the conversation so far.
        UserError: the agent or model is misconfigured.
    """
    state = _prepare(agent, input, model, history, settings)
    async with aclosing(state.events(stream)) as events:
        async for event in events:
            yield event


async def run(
    agent: Agent,
    input: Input,
    *,
    model: str | ModelAdapter | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
) -> RunResult:
    """Run ``agent`` on ``input`` to a final answer.

    Args:
        agent: The agent to run.
        input: The user's message (text, a ``Message`` or several).
        model: ``provider:model`` or an adapter; see ``choose_model`` when None.
        history: Earlier messages to continue from.
        settings: Settings overriding the agent's.

    Returns:
        The result: output, messages, usage, cost, turns and warnings.

    Raises:
        RunError: the run failed; ``messages`` keeps the conversation so far.
        UserError: the agent or model is misconfigured.
    """
    state = _prepare(agent, input, model, history, settings)
    async with aclosing(state.events(stream=False)) as events:
        async for event in events:
            if isinstance(event, RunEndEvent):
                return event.result
    raise AssertionError("a run always ends with a RunEndEvent or an error")  # pragma: no cover


def run_sync(
    agent: Agent,
    input: Input,
    *,
    model: str | ModelAdapter | None = None,
    history: Sequence[Message] | None = None,
    settings: ModelSettings | None = None,
) -> RunResult:
    """``run`` for code without an event loop; see ``run`` for the arguments."""

    async def main() -> RunResult:
        return await run(agent, input, model=model, history=history, settings=settings)

    return anyio.run(main)
