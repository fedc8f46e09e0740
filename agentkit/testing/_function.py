"""``FunctionAdapter``: a Python function plays the model.

For tests and examples: the function sees each ``ModelRequest`` and answers
with text, a message, a list of parts or a whole ``ModelResponse``. It goes
through the same runner path as a real provider, streaming included.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Literal

from .._messages import Message, Part, TextPart, ToolCallPart, Usage
from .._model import Capabilities, FinishReason, ModelRequest, ModelResponse, StreamEvent
from .._stream import StreamAccumulator

__all__ = ["FunctionAdapter", "ModelFunction"]

Answer = str | Message | Sequence[Part] | ModelResponse

#: What a ``FunctionAdapter`` calls: sync or async, request in, answer out.
ModelFunction = Callable[[ModelRequest], Answer | Awaitable[Answer]]


def _estimate_tokens(text: str) -> int:
    # About four characters a token: a stand-in, so usage is never missing.
    return max(1, len(text) // 4) if text else 0


def _request_tokens(request: ModelRequest) -> int:
    return sum(_estimate_tokens(p.model_dump_json()) for m in request.messages for p in m.parts)


class FunctionAdapter:
    """An adapter whose answers come from a Python function.

    Args:
        function: Called with each ``ModelRequest``.
        model_id: The name it reports.
        capabilities: What it claims (all on by default).
        chunk_size: Characters per text delta when streaming.
    """

    spec_version: Literal["1"] = "1"
    provider = "function"

    def __init__(
        self,
        function: ModelFunction,
        *,
        model_id: str = "function",
        capabilities: Capabilities | None = None,
        chunk_size: int = 8,
    ) -> None:
        self.function = function
        self.model_id = model_id
        # Tool calls are streamed whole (one arguments delta), so no fragment streaming.
        self.capabilities = capabilities or Capabilities(
            image_input=True, reasoning=True, tool_call_streaming=False
        )
        self.chunk_size = chunk_size
        self.calls: list[ModelRequest] = []

    async def _answer(self, request: ModelRequest) -> ModelResponse:
        self.calls.append(request)
        answer = self.function(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, ModelResponse):
            return answer
        if isinstance(answer, str):
            message = Message.assistant(answer)
        elif isinstance(answer, Message):
            message = answer
        else:
            message = Message(role="assistant", parts=list(answer))
        finish: FinishReason = (
            "tool_calls" if any(isinstance(p, ToolCallPart) for p in message.parts) else "stop"
        )
        output = sum(_estimate_tokens(p.model_dump_json()) for p in message.parts)
        return ModelResponse(
            message=message,
            finish_reason=finish,
            usage=Usage(input_tokens=_request_tokens(request), output_tokens=output),
            provider=self.provider,
            model_id=self.model_id,
        )

    async def generate(self, request: ModelRequest) -> ModelResponse:
        """Ask the function for one whole answer."""
        return await self._answer(request)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """The function's answer, streamed in ``chunk_size`` pieces."""
        response = await self._answer(request)
        acc = StreamAccumulator(self.provider, self.model_id)
        yield acc.start(response.response_id)
        index = 0
        for part in response.message.parts:
            if isinstance(part, TextPart):
                for i in range(0, len(part.text), self.chunk_size):
                    for event in acc.add_text(part.text[i : i + self.chunk_size]):
                        yield event
            elif isinstance(part, ToolCallPart):
                for event in acc.whole_call(
                    index, part.id, part.name, part.raw_arguments or part.arguments
                ):
                    yield event
                index += 1
            else:
                acc.add_part(part)
        if response.refusal:
            for event in acc.add_refusal(response.refusal):
                yield event
        for event in acc.finish(
            response.finish_reason,
            raw_finish_reason=response.raw_finish_reason,
            usage=response.usage,
            warnings=list(response.warnings),
        ):
            yield event
