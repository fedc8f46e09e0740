"""The stream plan of an adapter whose chunk reader takes each frame's JSON object.

Anthropic, Gemini, Ollama and both Vertex adapters read a stream the same
way: every frame's ``data`` goes to the reader's ``feed``, and the reader's
``finish`` closes the answer (or raises for a stream cut short). One builder
keeps that wiring in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from agentkit.adapter import ModelResponse, StreamEvent

from ._exchange import StreamPlan

__all__ = ["ChunkReader", "reader_plan"]


class ChunkReader(Protocol):
    """A pure stream reader: payloads in, neutral events out."""

    def feed(self, payload: Mapping[str, Any], /) -> list[StreamEvent]: ...

    def finish(self) -> list[StreamEvent]: ...


def reader_plan(
    body: Mapping[str, object],
    reader: ChunkReader,
    whole: Callable[[Any], ModelResponse],
    ended: Callable[[], bool] | None = None,
) -> StreamPlan:
    """The ``StreamPlan`` that feeds ``reader`` each frame's object and ends with its ``finish``.

    Args:
        body: The request body.
        reader: The adapter's chunk reader for this call.
        whole: Parses a whole JSON answer (a host that ignored ``stream``).
        ended: Whether the reader has seen the end of the answer; None: the
            body's end is the end.
    """
    return StreamPlan(
        body,
        feed=lambda frame: reader.feed(frame.data),
        finish=lambda _done: reader.finish(),
        whole=whole,
        ended=ended,
    )
