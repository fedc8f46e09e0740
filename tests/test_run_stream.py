"""``run_stream``'s iterator: lazy, closable, and nothing left for the loop to finalize.

A consumer that stops reading at ``run_end`` (as most do: ``return`` inside
``async for``) must not leave a suspended async generator behind: asyncio
would finalize it later through its self-pipe and a new task, once per run.
"""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing, contextmanager
from typing import Any

import pytest

from agentkit import (
    Agent,
    ModelRequest,
    ResponseEndEvent,
    ResponseStartEvent,
    RetryPolicy,
    RunEndEvent,
    StreamEvent,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
    run_stream,
    tool,
)
from agentkit.exceptions import AuthenticationError, ModelCallError, ServerError, UserError
from agentkit.testing import FunctionAdapter


@tool(blocking=False)
def get_weather(city: str) -> str:
    """Weather in a city.

    Args:
        city: City name.
    """
    return f"{city}: 21C, sunny"


def weather_model(request: ModelRequest) -> Any:
    last = request.messages[-1]
    if last.role == "user":
        return [ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})]
    return f"It is {last.parts[0].text}"  # type: ignore[union-attr]


AGENT = Agent(name="weather", instructions="Be brief.", tools=[get_weather])


class _Lived:
    """A tool set with a lifetime (as an MCP connection has)."""

    def __init__(self) -> None:
        self.entered = 0
        self.exited = 0

    async def __aenter__(self) -> _Lived:
        self.entered += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.exited += 1

    async def list_tools(self) -> list[ToolDefinition]:
        return [ToolDefinition(name="get_weather", input_schema={"type": "object"})]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        return ToolResultPart(call_id="", content=[TextPart(text="Paris: 21C, sunny")])


@contextmanager
def _watched() -> Iterator[tuple[list[weakref.ref[AsyncGenerator[Any, Any]]], list[str]]]:
    """Every async generator first iterated inside, and the names of those finalized.

    The loop's own hooks still run after ours: a generator left suspended is
    finalized as it would be without the watch.
    """
    firstiter, finalizer = sys.get_asyncgen_hooks()
    started: list[weakref.ref[AsyncGenerator[Any, Any]]] = []
    finalized: list[str] = []

    def first(agen: AsyncGenerator[Any, Any]) -> None:
        started.append(weakref.ref(agen))
        if firstiter is not None:
            firstiter(agen)

    def final(agen: AsyncGenerator[Any, Any]) -> None:
        finalized.append(agen.__qualname__)
        if finalizer is not None:
            finalizer(agen)

    sys.set_asyncgen_hooks(first, final)
    try:
        yield started, finalized
    finally:
        sys.set_asyncgen_hooks(firstiter, finalizer)


def _suspended(started: list[weakref.ref[AsyncGenerator[Any, Any]]]) -> list[str]:
    alive = [ref() for ref in started]
    return [g.__qualname__ for g in alive if g is not None and g.ag_frame is not None]


async def _answer(agent: Agent, model: Any, stream: bool) -> str:
    # The common consumer: it stops at run_end and never closes the iterator.
    async for event in run_stream(agent, "Weather in Paris?", model=model, stream=stream):
        if isinstance(event, RunEndEvent):
            return str(event.result.output)
    raise AssertionError("no run_end")


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("lived", [False, True])
async def test_stopping_at_run_end_leaves_no_generator_to_finalize(
    stream: bool, lived: bool
) -> None:
    agent = Agent(name="w", tools=[_Lived()]) if lived else AGENT
    with _watched() as (started, finalized):
        answer = await _answer(agent, FunctionAdapter(weather_model), stream)
        assert _suspended(started) == []
        gc.collect()
    assert answer == "It is Paris: 21C, sunny"
    assert started  # the watch saw the run's generators
    assert finalized == []


@pytest.mark.anyio
async def test_nothing_starts_before_the_first_pull() -> None:
    model = FunctionAdapter(weather_model)
    lived = _Lived()
    events = run_stream(Agent(name="w", tools=[lived]), "Weather?", model=model)
    assert (model.calls, lived.entered) == ([], 0)
    first = await anext(events)
    assert first.type == "run_start"
    assert lived.entered == 1
    assert model.calls == []
    await events.aclose()
    assert lived.exited == 1


@pytest.mark.anyio
async def test_a_misconfigured_run_fails_on_the_first_pull() -> None:
    events = run_stream(AGENT, "Weather?", model=[])  # no model: a UserError, but not yet
    with pytest.raises(UserError, match="no model given"):
        await anext(events)
    with pytest.raises(StopAsyncIteration):
        await anext(events)


@pytest.mark.anyio
async def test_closing_before_the_first_pull_runs_nothing() -> None:
    model = FunctionAdapter(weather_model)
    events = run_stream(AGENT, "Weather?", model=model)
    await events.aclose()
    with pytest.raises(StopAsyncIteration):
        await anext(events)
    assert model.calls == []


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
async def test_the_stream_ends_after_run_end(stream: bool) -> None:
    events = run_stream(AGENT, "Weather?", model=FunctionAdapter(weather_model), stream=stream)
    seen = [e async for e in events]
    assert seen[-1].type == "run_end"
    assert [e.type for e in seen].count("run_end") == 1
    with pytest.raises(StopAsyncIteration):
        await anext(events)
    await events.aclose()  # closing a finished stream is a no-op


@pytest.mark.anyio
async def test_closing_mid_run_closes_the_tool_sets() -> None:
    lived = _Lived()
    agent = Agent(name="w", tools=[lived])
    async with aclosing(run_stream(agent, "go", model=FunctionAdapter(weather_model))) as events:
        async for event in events:
            if event.type == "tool_call_delta":
                break
    assert (lived.entered, lived.exited) == (1, 1)
    with pytest.raises(StopAsyncIteration):
        await anext(events)


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [True, False])
async def test_a_failed_run_raises_with_the_conversation_so_far(stream: bool) -> None:
    lived = _Lived()

    def model(request: ModelRequest) -> Any:
        if request.messages[-1].role == "user":
            return [ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})]
        raise AuthenticationError("bad key", provider="x", status_code=401)

    events = run_stream(
        Agent(name="w", instructions="Be brief.", tools=[lived]),
        "Weather?",
        model=FunctionAdapter(model),
        stream=stream,
    )
    kinds: list[str] = []

    async def read() -> None:
        async for event in events:
            kinds.append(event.type)

    with pytest.raises(ModelCallError) as info:
        await read()
    assert "tool_result" in kinds
    assert "run_end" not in kinds
    assert [m.role for m in info.value.messages] == ["system", "user", "assistant", "tool"]
    assert (lived.entered, lived.exited) == (1, 1)
    with pytest.raises(StopAsyncIteration):
        await anext(events)


class _OwnStart(ResponseStartEvent):
    """An adapter's own kinds of the stock events (the loops tell them by isinstance)."""


class _OwnEnd(ResponseEndEvent):
    pass


class _OwnEventsAdapter(FunctionAdapter):
    """Yields its own kinds of start and end; its first attempt fails right after the start."""

    failed = False

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        async for event in super().stream(request):
            if type(event) is ResponseStartEvent:
                yield _OwnStart(**dict(event))
                if not self.failed:
                    self.failed = True
                    raise ServerError("try again", provider="function", status_code=503)
            elif type(event) is ResponseEndEvent:
                yield _OwnEnd(response=event.response)
            else:
                yield event


async def _no_wait(seconds: float) -> None:
    pass


@pytest.mark.anyio
async def test_subclasses_of_the_response_events_are_still_recognised() -> None:
    model = _OwnEventsAdapter(weather_model)
    retry = RetryPolicy(sleep=_no_wait)
    events = [e async for e in run_stream(AGENT, "Weather?", model=model, retry=retry)]
    kinds = [e.type for e in events]
    # The failed attempt's start was held back, so the retry is invisible but
    # for its event; each of the two answers' own end event ended its turn.
    assert kinds.count("retry") == 1
    assert [type(e) for e in events if e.type == "response_start"] == [_OwnStart, _OwnStart]
    assert [type(e) for e in events if e.type == "response_end"] == [_OwnEnd, _OwnEnd]
    final = events[-1]
    assert isinstance(final, RunEndEvent)
    assert final.result.output == "It is Paris: 21C, sunny"
    assert final.result.turns == 2
    # Folded as the stock events they are: both answers are in the conversation.
    assert [m.role for m in final.result.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert final.result.usage.requests == 2
