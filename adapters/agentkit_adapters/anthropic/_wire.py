"""The Anthropic Messages API wire format (``POST /v1/messages``), as TypedDicts.

Only the fields agentkit reads or writes. Answer types are ``total=False``:
the API adds fields over time (``caller`` on ``tool_use`` blocks,
``inference_geo`` and ``service_tier`` in ``usage``) and Claude on Vertex
leaves some out (no ``cache_creation``, a ``message_delta.usage`` with only
``output_tokens``), as the real-traffic cases under
``tests/fixtures/real_traffic/anthropic`` and ``.../vertex`` show.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "CacheControl",
    "ContentBlock",
    "ImageSource",
    "MessageParam",
    "MessagesRequest",
    "MessagesResponse",
    "OutputConfig",
    "StreamPayload",
    "TextBlock",
    "ThinkingConfig",
    "ToolChoice",
    "ToolParam",
    "WireUsage",
]


class CacheControl(TypedDict, total=False):
    """A prompt-cache breakpoint: everything up to and including the block is cached.

    ``ttl`` is ``"5m"`` (the default) or ``"1h"``.
    """

    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"]


class TextBlock(TypedDict, total=False):
    """``{"type": "text", "text"}``; ``cache_control`` marks a cache breakpoint."""

    type: Literal["text"]
    text: str
    cache_control: CacheControl


class ImageSource(TypedDict, total=False):
    """``base64`` (``media_type`` + ``data``) or ``url``."""

    type: Literal["base64", "url"]
    media_type: str
    data: str
    url: str


#: A content block, in a request or an answer. A plain dict: the block kinds
#: (text, image, tool_use, tool_result, thinking, redacted_thinking and the
#: server-tool ones) share one ``type`` key and mypy cannot narrow a union of
#: TypedDicts on it, so the converters build them as literals.
ContentBlock = dict[str, Any]


class MessageParam(TypedDict):
    """One turn: ``user`` or ``assistant`` (tool results travel in ``user`` turns)."""

    role: Literal["user", "assistant"]
    content: list[ContentBlock]


class ToolParam(TypedDict, total=False):
    """A client tool: ``input_schema`` is a JSON Schema object."""

    name: str
    description: str
    input_schema: dict[str, Any]
    cache_control: CacheControl


class ToolChoice(TypedDict, total=False):
    """``auto``, ``any`` (some tool), ``tool`` (the one named) or ``none``."""

    type: Literal["auto", "any", "tool", "none"]
    name: str
    disable_parallel_tool_use: bool


class ThinkingConfig(TypedDict, total=False):
    """Extended thinking: ``{"type": "enabled", "budget_tokens": N}`` (N >= 1024, < max_tokens)."""

    type: Literal["enabled", "disabled"]
    budget_tokens: int


class OutputConfig(TypedDict, total=False):
    """``{"format": {"type": "json_schema", "schema": {...}}}``: native structured output."""

    format: dict[str, Any]


class MessagesRequest(TypedDict, total=False):
    """The request body. ``model`` is absent and ``anthropic_version`` present on Vertex."""

    model: str
    anthropic_version: str
    max_tokens: int
    messages: list[MessageParam]
    system: list[TextBlock]
    tools: list[ToolParam]
    tool_choice: ToolChoice
    thinking: ThinkingConfig
    output_config: OutputConfig
    temperature: float
    top_p: float
    stop_sequences: list[str]
    stream: bool


class WireUsage(TypedDict, total=False):
    """Token counts. ``input_tokens`` leaves out the cached and cache-written ones."""

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    cache_creation: dict[str, int]
    service_tier: str


class MessagesResponse(TypedDict, total=False):
    """A whole answer (``type: "message"``), or ``{"type": "error", "error": {...}}``."""

    id: str
    type: str
    role: str
    model: str
    content: list[ContentBlock]
    stop_reason: str | None
    stop_sequence: str | None
    usage: WireUsage
    error: dict[str, Any]


class StreamPayload(TypedDict, total=False):
    """The ``data:`` of one stream event; ``type`` repeats the SSE ``event:`` name."""

    type: str
    message: MessagesResponse
    index: int
    content_block: ContentBlock
    delta: dict[str, Any]
    usage: WireUsage
    error: dict[str, Any]
