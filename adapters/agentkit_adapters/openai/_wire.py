"""The OpenAI Chat Completions wire format, as TypedDicts.

Only the fields agentkit reads or writes. Every response type is
``total=False``: OpenAI-compatible hosts leave fields out (Ollama ``/v1``
sends no ``refusal``, Groq no ``content`` beside tool calls) or add their own
(Together's top-level ``prompt``, DeepSeek's ``reasoning_content``), as the
real-traffic cases ``openai_compatible/*`` show.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "ChatChoice",
    "ChatChunk",
    "ChatChunkChoice",
    "ChatCompletion",
    "ChatContentPart",
    "ChatDelta",
    "ChatMessage",
    "ChatRequest",
    "ChatResponseMessage",
    "ChatTool",
    "ChatToolCall",
    "ChatToolCallDelta",
    "ChatUsage",
    "FunctionCall",
    "FunctionDefinition",
]


# -- request --------------------------------------------------------------------------------


class FunctionCall(TypedDict, total=False):
    """``{"name", "arguments"}``: arguments are a JSON *string*; in a delta, a fragment."""

    name: str
    arguments: str


class ChatToolCall(TypedDict):
    """An assistant tool call, as sent back in the history."""

    id: str
    type: Literal["function"]
    function: FunctionCall


class ChatContentPart(TypedDict, total=False):
    """A user content part: ``text``, ``image_url`` or ``input_audio``."""

    type: Literal["text", "image_url", "input_audio"]
    text: str
    image_url: dict[str, str]
    input_audio: dict[str, str]


class ChatMessage(TypedDict, total=False):
    """A request message of any role."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ChatContentPart] | None
    tool_calls: list[ChatToolCall]
    tool_call_id: str
    name: str


class FunctionDefinition(TypedDict, total=False):
    """A tool's function: ``strict`` only when the schema meets the strict rules."""

    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool


class ChatTool(TypedDict):
    """``{"type": "function", "function": {...}}``."""

    type: Literal["function"]
    function: FunctionDefinition


class ChatRequest(TypedDict, total=False):
    """The body of ``POST /chat/completions`` (``extra`` settings may add keys)."""

    model: str
    messages: list[ChatMessage]
    tools: list[ChatTool]
    tool_choice: str | dict[str, Any]
    parallel_tool_calls: bool
    response_format: dict[str, Any]
    max_completion_tokens: int
    max_tokens: int
    temperature: float
    top_p: float
    stop: list[str]
    seed: int
    reasoning_effort: str
    prompt_cache_key: str
    prompt_cache_retention: str
    stream: bool
    stream_options: dict[str, bool]


# -- response -------------------------------------------------------------------------------


class ChatUsage(TypedDict, total=False):
    """Token counts; the ``*_details`` objects and host extras may be absent or null."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, Any] | None
    completion_tokens_details: dict[str, Any] | None
    cached_tokens: int  # Together, at the top level of usage
    prompt_cache_hit_tokens: int  # DeepSeek


class ChatResponseMessage(TypedDict, total=False):
    """``choices[].message`` of a whole response."""

    role: str
    content: str | list[dict[str, Any]] | None
    refusal: str | None
    tool_calls: list[ChatToolCall]
    reasoning_content: str | None  # DeepSeek, xAI
    reasoning: str | None  # vLLM, OpenRouter


class ChatChoice(TypedDict, total=False):
    """One choice of a whole response."""

    index: int
    message: ChatResponseMessage
    finish_reason: str | None


class ChatCompletion(TypedDict, total=False):
    """A whole response (``object: "chat.completion"``)."""

    id: str
    model: str
    choices: list[ChatChoice]
    usage: ChatUsage | None
    error: dict[str, Any]


class ChatToolCallDelta(TypedDict, total=False):
    """A streamed tool-call fragment: only the first for an ``index`` has ``id`` and name."""

    index: int
    id: str
    type: str
    function: FunctionCall


class ChatDelta(TypedDict, total=False):
    """``choices[].delta`` of a stream chunk."""

    role: str
    content: str | None
    refusal: str | None
    reasoning_content: str | None
    reasoning: str | None
    tool_calls: list[ChatToolCallDelta]


class ChatChunkChoice(TypedDict, total=False):
    """One choice of a stream chunk."""

    index: int
    delta: ChatDelta
    finish_reason: str | None


class ChatChunk(TypedDict, total=False):
    """One ``data:`` payload of a stream (``object: "chat.completion.chunk"``)."""

    id: str
    model: str
    choices: list[ChatChunkChoice]
    usage: ChatUsage | None
    error: dict[str, Any]
