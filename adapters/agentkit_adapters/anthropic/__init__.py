"""Anthropic (the Messages API): the adapter and its pure wire conversion.

``AnthropicAdapter`` is the transport; ``to_anthropic_request`` and
``from_anthropic_response`` / ``AnthropicStreamReader`` are the pure
functions it uses, public so other hosts of Claude reuse them: Claude on
Vertex AI takes the same body with ``include_model=False`` and
``anthropic_version=VERTEX_ANTHROPIC_VERSION``, and answers in the same format.
"""

from ._adapter import (
    DEFAULT_BASE_URL,
    AnthropicAdapter,
    anthropic_capabilities,
    create_anthropic_adapter,
)
from ._convert import (
    ANTHROPIC_VERSION,
    THINKING_BUDGETS,
    VERTEX_ANTHROPIC_VERSION,
    to_anthropic_messages,
    to_anthropic_request,
)
from ._parse import (
    AnthropicStreamReader,
    from_anthropic_response,
    from_anthropic_usage,
    map_anthropic_error,
    map_anthropic_stop_reason,
)
from ._profile import ClaudeProfile, claude_profile
from ._schemas import to_anthropic_output_schema, to_anthropic_tools

__all__ = [
    "ANTHROPIC_VERSION",
    "DEFAULT_BASE_URL",
    "THINKING_BUDGETS",
    "VERTEX_ANTHROPIC_VERSION",
    "AnthropicAdapter",
    "AnthropicStreamReader",
    "ClaudeProfile",
    "anthropic_capabilities",
    "claude_profile",
    "create_anthropic_adapter",
    "from_anthropic_response",
    "from_anthropic_usage",
    "map_anthropic_error",
    "map_anthropic_stop_reason",
    "to_anthropic_messages",
    "to_anthropic_output_schema",
    "to_anthropic_request",
    "to_anthropic_tools",
]
