"""Test doubles and loopback provider emulators for agentkit users.

``FunctionAdapter`` lets a Python function play the model. The emulators are
ASGI apps that speak a provider's wire protocol on a loopback port, so an
adapter's real HTTP path can be exercised without a key or a network:
``OpenAIChatEmulator`` speaks Chat Completions, ``AzureOpenAIEmulator`` adds
Azure's URLs, auth and content filter fields to it, and ``serve_asgi`` runs any
ASGI app on a free 127.0.0.1 port.
"""

from ._anthropic_emulator import AnthropicEmulator, anthropic_error, parse_anthropic_request
from ._asgi import serve_asgi
from ._azure_emulator import SAFE_FILTER_RESULTS, AzureOpenAIEmulator
from ._function import FunctionAdapter, ModelFunction
from ._gemini_emulator import GeminiEmulator, gemini_error, parse_gemini_request
from ._ollama_emulator import (
    OllamaEmulator,
    ScriptedStreamError,
    ollama_error,
    parse_ollama_request,
)
from ._openai_emulator import (
    OpenAIChatEmulator,
    ScriptedHTTPError,
    openai_error,
    parse_chat_request,
)
from ._responses_emulator import (
    OpenAIResponsesEmulator,
    ScriptedResponseFailure,
    parse_responses_request,
)

__all__ = [
    "SAFE_FILTER_RESULTS",
    "AnthropicEmulator",
    "AzureOpenAIEmulator",
    "FunctionAdapter",
    "GeminiEmulator",
    "ModelFunction",
    "OllamaEmulator",
    "OpenAIChatEmulator",
    "OpenAIResponsesEmulator",
    "ScriptedHTTPError",
    "ScriptedResponseFailure",
    "ScriptedStreamError",
    "anthropic_error",
    "gemini_error",
    "ollama_error",
    "openai_error",
    "parse_anthropic_request",
    "parse_chat_request",
    "parse_gemini_request",
    "parse_ollama_request",
    "parse_responses_request",
    "serve_asgi",
]
