"""OpenAI Responses (``POST /v1/responses``): the adapter and its pure wire conversion.

Registered as the ``openai-responses`` provider: ``openai-responses:gpt-5-mini``.
Stateless by default (``store: false``); reasoning travels back to OpenAI as
encrypted ``reasoning`` items.
"""

from ._adapter import (
    DEFAULT_BASE_URL,
    OpenAIResponsesAdapter,
    create_responses_adapter,
)
from ._convert import to_responses_input, to_responses_request, to_responses_tools
from ._parse import (
    ResponsesEventReader,
    from_responses_response,
    from_responses_usage,
    map_responses_status,
    responses_error,
)
from ._wire import PreparedRequest

__all__ = [
    "DEFAULT_BASE_URL",
    "OpenAIResponsesAdapter",
    "PreparedRequest",
    "ResponsesEventReader",
    "create_responses_adapter",
    "from_responses_response",
    "from_responses_usage",
    "map_responses_status",
    "responses_error",
    "to_responses_input",
    "to_responses_request",
    "to_responses_tools",
]
