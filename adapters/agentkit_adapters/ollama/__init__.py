"""Ollama's native chat API (``/api/chat``): the adapter and its pure wire conversion.

For Ollama's OpenAI-compatible ``/v1`` endpoint, use the ``ollama-openai``
preset in ``agentkit_adapters.openai_compat`` instead.
"""

from ._adapter import (
    DEFAULT_HOST,
    OLLAMA_CAPABILITIES,
    OllamaAdapter,
    create_ollama_adapter,
    resolve_ollama_host,
)
from ._convert import OPTION_NAMES, to_ollama_messages, to_ollama_request, to_ollama_tools
from ._parse import (
    OllamaChunkReader,
    from_ollama_response,
    from_ollama_usage,
    map_ollama_error,
    map_ollama_finish_reason,
    ollama_call_id,
)

__all__ = [
    "DEFAULT_HOST",
    "OLLAMA_CAPABILITIES",
    "OPTION_NAMES",
    "OllamaAdapter",
    "OllamaChunkReader",
    "create_ollama_adapter",
    "from_ollama_response",
    "from_ollama_usage",
    "map_ollama_error",
    "map_ollama_finish_reason",
    "ollama_call_id",
    "resolve_ollama_host",
    "to_ollama_messages",
    "to_ollama_request",
    "to_ollama_tools",
]
