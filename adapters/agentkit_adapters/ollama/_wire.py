"""The Ollama native wire format (``POST /api/chat``), as TypedDicts.

Only the fields agentkit reads or writes. Differences from OpenAI Chat that
the rest of the package is built around:

- tool-call ``arguments`` are a JSON *object*, not a string, and a call
  carries no ``id`` before Ollama 0.12.10 (the documented example
  ``ollama/tool_call_stream_docs_example``, which is not a recording);
- a tool result names its tool (``tool_name``) rather than a call id;
- images ride on a message as a list of base64 strings;
- ``think`` sits at the top level of the request (inside ``options`` it is
  silently ignored) and reasoning comes back as ``message.thinking``;
- the stream is NDJSON (case ``ollama/chat_stream_ndjson_gemma3``) and ends
  with a ``done: true`` object carrying ``done_reason`` and the token counts.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

__all__ = [
    "OllamaChatRequest",
    "OllamaChatResponse",
    "OllamaFunction",
    "OllamaFunctionCall",
    "OllamaMessage",
    "OllamaTool",
    "OllamaToolCall",
    "ThinkValue",
]

#: ``think``: on/off, or a level (``gpt-oss`` models; other thinking models read a level as on).
ThinkValue = bool | Literal["low", "medium", "high"]


class OllamaFunctionCall(TypedDict, total=False):
    """``{"name", "arguments"}``: ``arguments`` is an object; ``index`` is set when streaming."""

    name: str
    arguments: dict[str, Any]
    index: int


class OllamaToolCall(TypedDict, total=False):
    """An assistant tool call. ``id`` only from Ollama 0.12.10 on."""

    id: str
    function: OllamaFunctionCall


class OllamaMessage(TypedDict, total=False):
    """A message of any role, in a request or a response."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    thinking: str
    images: list[str]
    tool_calls: list[OllamaToolCall]
    tool_name: str
    tool_call_id: str


class OllamaFunction(TypedDict, total=False):
    """A tool's function, in the OpenAI function shape."""

    name: str
    description: str
    parameters: dict[str, Any]


class OllamaTool(TypedDict):
    """``{"type": "function", "function": {...}}``."""

    type: Literal["function"]
    function: OllamaFunction


class OllamaChatRequest(TypedDict, total=False):
    """The body of ``POST /api/chat`` (``extra`` settings may add keys).

    ``stream`` defaults to true on the server: a request that leaves it out
    gets NDJSON (case ``ollama/chat_format_json``), so it is always sent.
    """

    model: str
    messages: list[OllamaMessage]
    tools: list[OllamaTool]
    format: str | dict[str, Any]
    options: dict[str, Any]
    stream: bool
    think: ThinkValue
    keep_alive: str | int


class OllamaChatResponse(TypedDict, total=False):
    """A whole answer, or one NDJSON line of a stream (``done: false`` until the last).

    Durations are nanoseconds. ``prompt_eval_count`` is left out when the
    whole prompt came from the cache; an ``error`` line may replace any of them.
    """

    model: str
    created_at: str
    message: OllamaMessage
    done: bool
    done_reason: str
    total_duration: int
    load_duration: int
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int
    error: str
