"""OpenAI Chat Completions: the adapter, its quirk flags and the pure wire conversion.

OpenAI-compatible hosts (Ollama ``/v1``, vLLM, Groq, Together, DeepSeek, xAI)
use the same adapter with another base URL, key variable and ``OpenAIQuirks``.
"""

from ._adapter import DEFAULT_BASE_URL, OpenAIChatAdapter, create_chat_adapter
from ._convert import (
    OpenAIQuirks,
    to_openai_messages,
    to_openai_request,
    to_openai_tools,
)
from ._parse import (
    OpenAIChunkReader,
    from_openai_response,
    from_openai_usage,
    map_openai_finish_reason,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "OpenAIChatAdapter",
    "OpenAIChunkReader",
    "OpenAIQuirks",
    "create_chat_adapter",
    "from_openai_response",
    "from_openai_usage",
    "map_openai_finish_reason",
    "to_openai_messages",
    "to_openai_request",
    "to_openai_tools",
]
