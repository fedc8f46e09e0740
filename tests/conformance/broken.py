"""Deliberately broken adapters: each wraps a working one and breaks one promise.

The conformance kit must fail every one of them, on the right scenario, with
a message that says what is wrong (see test_broken_adapters.py).
"""

from __future__ import annotations

import asyncio
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
)
from agentkit.exceptions import RateLimitError


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


def cancel_leaked_tasks() -> None:
    """Stop what LeavesTaskOnCancel left behind (test hygiene)."""
    for task in _leaked:
        task.cancel()
    _leaked.clear()
