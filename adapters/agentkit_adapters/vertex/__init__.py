"""Vertex AI: Gemini and Claude models on Google Cloud, with Google credentials or an express key.

``create_vertex_adapter`` is the ``vertex`` entry point. The wire formats are
the Gemini and Anthropic adapters' own (their converters and readers, reused);
what is Vertex's is here: the URLs (``vertex_model_url``), Application Default
Credentials as per-call bearer headers (``GoogleAuth``, through google-auth:
``agentkit-interop-adapters[vertex]``), and express-mode keys.
"""

from ._adapter import VertexAdapter, VertexClaudeAdapter, VertexGeminiAdapter
from ._auth import CLOUD_PLATFORM_SCOPE, GoogleAuth
from ._endpoint import (
    CLAUDE_API_VERSION,
    GEMINI_API_VERSION,
    split_publisher,
    vertex_host,
    vertex_model_url,
)
from ._factory import SERVICE_TIER_HEADER, create_vertex_adapter

__all__ = [
    "CLAUDE_API_VERSION",
    "CLOUD_PLATFORM_SCOPE",
    "GEMINI_API_VERSION",
    "SERVICE_TIER_HEADER",
    "GoogleAuth",
    "VertexAdapter",
    "VertexClaudeAdapter",
    "VertexGeminiAdapter",
    "create_vertex_adapter",
    "split_publisher",
    "vertex_host",
    "vertex_model_url",
]
