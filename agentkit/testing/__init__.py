"""Test doubles and loopback provider emulators for agentkit users.

``FunctionAdapter`` lets a Python function play the model. The emulators are
ASGI apps that speak a provider's wire protocol on a loopback port, so an
adapter's real HTTP path can be exercised without a key or a network:
``OpenAIChatEmulator`` speaks Chat Completions, ``AzureOpenAIEmulator`` adds
Azure's URLs, auth and content filter fields to it, ``VertexEmulator`` puts
Vertex AI's URLs and auth in front of the Gemini and Anthropic emulators, and
``serve_asgi`` runs any ASGI app on a free 127.0.0.1 port. ``FaultServer``
puts a queue of planned ``Fault`` s (error statuses, stalls, cut streams, bad
bytes...) in front of any of them.
"""

from ._anthropic_emulator import AnthropicEmulator, anthropic_error, parse_anthropic_request
from ._asgi import serve_asgi
from ._azure_emulator import SAFE_FILTER_RESULTS, AzureOpenAIEmulator
from ._faults import Fault, FaultServer
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
from ._vertex_emulator import VertexEmulator

__all__ = [
    "SAFE_FILTER_RESULTS",
    "AnthropicEmulator",
    "AzureOpenAIEmulator",
    "Fault",
    "FaultServer",
    "FunctionAdapter",
    "GeminiEmulator",
    "ModelFunction",
    "OllamaEmulator",
    "OpenAIChatEmulator",
    "OpenAIResponsesEmulator",
    "ScriptedHTTPError",
    "ScriptedResponseFailure",
    "ScriptedStreamError",
    "VertexEmulator",
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
