"""Gemini (the Gemini API's ``generateContent``): the adapter and its pure wire conversion.

``GeminiAdapter`` is the transport; ``to_gemini_request`` and
``from_gemini_response`` / ``GeminiChunkReader`` are the pure functions it
uses, public so other hosts speaking the same format can reuse them.
"""

from ._adapter import DEFAULT_BASE_URL, GeminiAdapter, create_gemini_adapter
from ._convert import GENERATED_ID_PREFIX, to_gemini_contents, to_gemini_request
from ._parse import (
    GeminiChunkReader,
    from_gemini_response,
    from_gemini_usage,
    map_gemini_finish_reason,
)
from ._profile import gemini_capabilities
from ._schemas import compile_gemini_schema, to_gemini_tool_config, to_gemini_tools

__all__ = [
    "DEFAULT_BASE_URL",
    "GENERATED_ID_PREFIX",
    "GeminiAdapter",
    "GeminiChunkReader",
    "compile_gemini_schema",
    "create_gemini_adapter",
    "from_gemini_response",
    "from_gemini_usage",
    "gemini_capabilities",
    "map_gemini_finish_reason",
    "to_gemini_contents",
    "to_gemini_request",
    "to_gemini_tool_config",
    "to_gemini_tools",
]
