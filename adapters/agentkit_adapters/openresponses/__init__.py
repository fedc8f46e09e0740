"""Open Responses: the Responses API on any server that implements the specification.

``openresponses:MODEL`` with ``--base-url`` (or ``OPENRESPONSES_BASE_URL``)
reaches any such server; ``openrouter-responses:``, ``deepseek-responses:``
and ``bedrock-responses:`` are presets for the hosts recorded serving it.
Each is an ``OpenAIResponsesAdapter`` configured by data (``RESPONSES_PRESETS``).
"""

from ._presets import (
    RESPONSES_PRESETS,
    ResponsesPreset,
    responses_preset_adapter,
    responses_preset_factory,
)

__all__ = [
    "RESPONSES_PRESETS",
    "ResponsesPreset",
    "create_bedrock_responses_adapter",
    "create_deepseek_responses_adapter",
    "create_openresponses_adapter",
    "create_openrouter_responses_adapter",
    "responses_preset_adapter",
    "responses_preset_factory",
]

# One callable per entry point (adapters/pyproject.toml names them).
create_openresponses_adapter = responses_preset_factory("openresponses")
create_openrouter_responses_adapter = responses_preset_factory("openrouter-responses")
create_deepseek_responses_adapter = responses_preset_factory("deepseek-responses")
create_bedrock_responses_adapter = responses_preset_factory("bedrock-responses")
