"""Deliberately broken adapters: each wraps a working one and breaks one promise.

The conformance kit must fail every one of them, on the right scenario, with
a message that says what is wrong (see test_broken_adapters.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Literal

from agentkit import (
    Capabilities,
    Message,
    ModelAdapter,
    ModelRequest,
    ModelResponse,
    ResponseEndEvent,
    StreamEvent,
    TextDeltaEvent,
    ToolCallEndEvent,
    ToolCallPart,
    ToolCallStartEvent,
    ToolResultPart,
    Usage,
)
from agentkit.adapter import unchecked
from agentkit.exceptions import ProviderConnectionError, RateLimitError, ServerError


class _Wrapper:
    """Passes everything through to ``inner``; subclasses break one thing."""

    spec_version: Literal["1"] = "1"

    def __init__(self, inner: ModelAdapter) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.model_id = inner.model_id
        self.capabilities: Capabilities = inner.capabilities

    def fix_request(self, request: ModelRequest) -> ModelRequest:
        return request

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        return response

    async def generate(self, request: ModelRequest) -> ModelResponse:
        return self.fix_response(await self.inner.generate(self.fix_request(request)))

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        async for event in self.inner.stream(self.fix_request(request)):
            if isinstance(event, ResponseEndEvent):
                event = ResponseEndEvent(response=self.fix_response(event.response))
            yield event


class DropsUsage(_Wrapper):
    """Never reports usage, though it claims to."""

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        return response.model_copy(update={"usage": None})


class MergesParallelCalls(_Wrapper):
    """Folds every tool call of an answer into the first one."""

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        calls = response.message.tool_calls
        if len(calls) < 2:
            return response
        merged: dict[str, Any] = {}
        for call in calls:
            merged.update(call.arguments)
        first = calls[0].model_copy(update={"arguments": merged})
        others = [p for p in response.message.parts if not isinstance(p, ToolCallPart)]
        message = Message(role="assistant", parts=[*others, first])
        return response.model_copy(update={"message": message})

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        async for event in super().stream(request):
            if isinstance(event, ToolCallEndEvent) and event.index > 0:
                continue
            yield event


class StringArguments(_Wrapper):
    """Hands tool arguments back as unparsed text."""

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        parts = [
            p.model_copy(update={"arguments": {}, "raw_arguments": str(p.arguments)})
            if isinstance(p, ToolCallPart)
            else p
            for p in response.message.parts
        ]
        message = Message(role="assistant", parts=parts)
        return response.model_copy(update={"message": message})


class LosesLastTextDelta(_Wrapper):
    """Streams every text delta but the last one."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        held: StreamEvent | None = None
        async for event in self.inner.stream(request):
            if isinstance(event, TextDeltaEvent):
                if held is not None:
                    yield held
                held = event
                continue
            yield event


class SwallowsRateLimit(_Wrapper):
    """Turns a 429 into an empty answer."""

    def _empty(self) -> ModelResponse:
        return ModelResponse(
            message=Message(role="assistant", parts=[]),
            finish_reason="stop",
            provider=self.provider,
            model_id=self.model_id,
        )

    async def generate(self, request: ModelRequest) -> ModelResponse:
        try:
            return await self.inner.generate(request)
        except RateLimitError:
            return self._empty()


class LeavesTaskOnCancel(_Wrapper):
    """Starts a keep-alive task when a stream is abandoned, and never stops it."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        try:
            async for event in self.inner.stream(request):
                yield event
        except GeneratorExit:
            _leaked.add(asyncio.get_running_loop().create_task(asyncio.sleep(3600)))
            raise


_leaked: set[asyncio.Task[None]] = set()


class LeavesConnectionOnCancel(_Wrapper):
    """Stops reading when abandoned but never closes the provider's stream."""

    kept: ClassVar[list[AsyncIterator[StreamEvent]]] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        inner = self.inner.stream(request)
        # Holding a reference keeps the garbage collector from closing it for us.
        self.kept.append(inner)
        while True:
            try:
                event = await inner.__anext__()
            except StopAsyncIteration:
                return
            yield event


class DropsToolChoice(_Wrapper):
    """Sends every request with tool_choice left out, and says nothing."""

    def fix_request(self, request: ModelRequest) -> ModelRequest:
        from dataclasses import replace

        return replace(request, tool_choice=None)


class RetriesInternally(_Wrapper):
    """Retries every 429 and 5xx three times before giving up (the runner's job, not its)."""

    async def generate(self, request: ModelRequest) -> ModelResponse:
        for _ in range(3):
            try:
                return await self.inner.generate(request)
            except (RateLimitError, ServerError):
                continue
        return await self.inner.generate(request)


class RetriesRefusedConnection(_Wrapper):
    """Waits and tries again when the server cannot be reached, so failing takes seconds."""

    async def generate(self, request: ModelRequest) -> ModelResponse:
        for _ in range(2):
            try:
                return await self.inner.generate(request)
            except ProviderConnectionError:
                await asyncio.sleep(1.0)
        return await self.inner.generate(request)


class IgnoresTimeout(_Wrapper):
    """Drops ``settings.timeout``, so a stalled server is waited for as long as it takes."""

    def fix_request(self, request: ModelRequest) -> ModelRequest:
        from dataclasses import replace

        settings = request.settings.model_copy(update={"timeout": None})
        return replace(request, settings=settings)


def _with_usage(response: ModelResponse, **changes: int) -> ModelResponse:
    if response.usage is None:
        return response
    return response.model_copy(update={"usage": response.usage.model_copy(update=changes)})


class DropsCachedTokens(_Wrapper):
    """Reads prompt tokens but never the cached part of them."""

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        return _with_usage(response, cache_read_input_tokens=0)


class DropsReasoningTokens(_Wrapper):
    """Reports output without the thinking tokens (Gemini's candidatesTokenCount read alone)."""

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        usage = response.usage
        if usage is None:
            return response
        return _with_usage(
            response,
            output_tokens=usage.output_tokens - usage.reasoning_output_tokens,
            reasoning_output_tokens=0,
        )


class CountsStreamedUsageTwice(_Wrapper):
    """Adds a stream's final usage to the running total it already holds."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        async for event in self.inner.stream(request):
            usage = event.response.usage if isinstance(event, ResponseEndEvent) else None
            if isinstance(event, ResponseEndEvent) and usage is not None:
                response = event.response.model_copy(update={"usage": _twice(usage)})
                event = ResponseEndEvent(response=response)
            yield event


def _twice(usage: Usage) -> Usage:
    doubled = usage + usage
    return doubled.model_copy(update={"requests": 1})


class InventsUsage(_Wrapper):
    """Reports zero tokens when the provider said nothing about usage."""

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        if response.usage is not None:
            return response
        return response.model_copy(update={"usage": Usage(input_tokens=0, output_tokens=0)})


def _renumbered(part: ToolCallPart, n: int) -> ToolCallPart:
    return part.model_copy(update={"id": f"toolu_{n:02d}"})


class RenumbersToolCallIds(_Wrapper):
    """Replaces the provider's call ids with its own numbering, consistently."""

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        n = 0
        parts = []
        for part in response.message.parts:
            if isinstance(part, ToolCallPart):
                part, n = _renumbered(part, n), n + 1
            parts.append(part)
        message = Message(role="assistant", parts=parts)
        return response.model_copy(update={"message": message})

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        async for event in super().stream(request):
            if isinstance(event, ToolCallStartEvent):
                event = event.model_copy(update={"id": f"toolu_{event.index:02d}"})
            elif isinstance(event, ToolCallEndEvent):
                event = event.model_copy(update={"call": _renumbered(event.call, event.index)})
            yield event


class ChangesIdBetweenStartAndEnd(_Wrapper):
    """Announces each streamed call under a placeholder id, then ends it under the real one."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        async for event in self.inner.stream(request):
            if isinstance(event, ToolCallStartEvent):
                event = event.model_copy(update={"id": f"pending_{event.index}"})
            yield event


class RenumbersSentIds(_Wrapper):
    """Sends the history's tool calls and results under ids of its own making."""

    def fix_request(self, request: ModelRequest) -> ModelRequest:
        from dataclasses import replace

        renamed: dict[str, str] = {}

        def new_id(old: str) -> str:
            return renamed.setdefault(old, f"toolu_{len(renamed):02d}")

        messages = []
        for message in request.messages:
            parts = [
                p.model_copy(update={"id": new_id(p.id)})
                if isinstance(p, ToolCallPart)
                else p.model_copy(update={"call_id": new_id(p.call_id)})
                if isinstance(p, ToolResultPart)
                else p
                for p in message.parts
            ]
            messages.append(message.model_copy(update={"parts": parts}))
        return replace(request, messages=messages)


async def _keep_alive() -> None:
    await asyncio.sleep(3600)


class LeaksTaskPerCall(_Wrapper):
    """Starts a keep-alive task on every call and never stops it."""

    async def generate(self, request: ModelRequest) -> ModelResponse:
        loop = asyncio.get_running_loop()
        _leaked.add(loop.create_task(_keep_alive(), name="acme-keepalive"))
        return await super().generate(request)


class BlocksLoopOnCancel(_Wrapper):
    """Closes an abandoned stream with a synchronous wait, freezing the event loop."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        try:
            async for event in self.inner.stream(request):
                yield event
        except GeneratorExit:
            time.sleep(1.5)  # noqa: ASYNC251 - the defect: as a sync socket shutdown would
            raise


# -- unusual but correct: the kit must pass these ------------------------------------------


class ClosesOneTickLate(_Wrapper):
    """Closes the provider's stream in a task scheduled when the stream is abandoned.

    Correct: the connection is closed a loop tick after ``aclose()`` returns,
    which a kit that blocks its loop while waiting for the disconnect never sees.
    """

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        inner = self.inner.stream(request)
        try:
            async for event in inner:
                yield event
        except GeneratorExit:
            close = getattr(inner, "aclose", None)
            if close is not None:
                # As a transport's close does: the work happens on the next loop iteration.
                loop = asyncio.get_running_loop()
                loop.call_soon(lambda: _closing.add(loop.create_task(close())))
            raise


_closing: set[asyncio.Task[None]] = set()


class StartsProcessWorker(_Wrapper):
    """Starts one process-wide background worker on its first call, as some libraries do.

    Correct: the worker lives for the process, not for one call, so no
    scenario (not even the first one) may be blamed for it.
    """

    worker: ClassVar[asyncio.Task[None] | None] = None

    async def generate(self, request: ModelRequest) -> ModelResponse:
        self._start_worker()
        return await super().generate(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        self._start_worker()
        async for event in super().stream(request):
            yield event

    @classmethod
    def _start_worker(cls) -> None:
        if cls.worker is None:
            loop = asyncio.get_running_loop()
            cls.worker = loop.create_task(_keep_alive(), name="acme-telemetry-flusher")


def cancel_leaked_tasks() -> None:
    """Stop what the broken adapters left behind (test hygiene)."""
    for task in _leaked:
        task.cancel()
    _leaked.clear()
    if StartsProcessWorker.worker is not None:
        StartsProcessWorker.worker.cancel()
        StartsProcessWorker.worker = None


class UncheckedCountAsText(_Wrapper):
    """Builds its usage with ``unchecked`` from counts it forgot to make ints."""

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        usage = response.usage or Usage()
        wrong = unchecked(
            Usage,
            input_tokens=str(usage.input_tokens),  # type: ignore[arg-type]
            output_tokens=usage.output_tokens,
        )
        return response.model_copy(update={"usage": wrong})


class UncheckedPartsAsTuple(_Wrapper):
    """Builds its message with ``unchecked`` around a tuple of parts, not a list."""

    def fix_response(self, response: ModelResponse) -> ModelResponse:
        parts = tuple(response.message.parts)
        message = unchecked(Message, role="assistant", parts=parts)  # type: ignore[arg-type]
        return response.model_copy(update={"message": message})


class UncheckedArgumentsInStream(_Wrapper):
    """Ends each streamed tool call with an ``unchecked`` part whose arguments are text."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        async for event in self.inner.stream(request):
            if isinstance(event, ToolCallEndEvent):
                call = event.call
                text = json.dumps(call.arguments)
                wrong = unchecked(ToolCallPart, id=call.id, name=call.name, arguments=text)  # type: ignore[arg-type]
                event = ToolCallEndEvent(index=event.index, call=wrong)
            yield event
