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
from ._profile import is_openai_reasoning_model, openai_settings
from ._strict import compile_openai_schema, tools_with_added_nulls

__all__ = [
    "DEFAULT_BASE_URL",
    "OpenAIChatAdapter",
    "OpenAIChunkReader",
    "OpenAIQuirks",
    "compile_openai_schema",
    "create_chat_adapter",
    "from_openai_response",
    "from_openai_usage",
    "is_openai_reasoning_model",
    "map_openai_finish_reason",
    "openai_settings",
    "to_openai_messages",
    "to_openai_request",
    "to_openai_tools",
    "tools_with_added_nulls",
]
