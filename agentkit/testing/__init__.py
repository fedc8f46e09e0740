"""Test doubles and loopback provider emulators for agentkit users.

``FunctionAdapter`` lets a Python function play the model. The emulators are
ASGI apps that speak a provider's wire protocol on a loopback port, so an
adapter's real HTTP path can be exercised without a key or a network:
``OpenAIChatEmulator`` speaks Chat Completions, and ``serve_asgi`` runs any
ASGI app on a free 127.0.0.1 port.
"""

from ._function import FunctionAdapter, ModelFunction
from ._openai_emulator import (
    OpenAIChatEmulator,
    ScriptedHTTPError,
    openai_error,
    parse_chat_request,
    serve_asgi,
)

__all__ = [
    "FunctionAdapter",
    "ModelFunction",
    "OpenAIChatEmulator",
    "ScriptedHTTPError",
    "openai_error",
    "parse_chat_request",
    "serve_asgi",
]
