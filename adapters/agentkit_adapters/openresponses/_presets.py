"""Any Open Responses server, and the hosts recorded serving ``/responses``, as data.

The Open Responses specification is OpenAI's Responses API as an open
standard; ``OpenAIResponsesAdapter`` speaks it unchanged. The deviations
seen in ``tests/fixtures/real_traffic/open_responses`` are all tolerated by
its one parser, for every host alike, so a preset here is only a base URL,
a key variable and a provider name:

- DeepSeek serves ``https://api.deepseek.com/responses`` (no ``/v1``), uses
  bare UUID ids, raw ``reasoning_text`` (items and
  ``response.reasoning_text.delta``) and ``phase: "final_answer"``;
- Bedrock (``bedrock-mantle.REGION.api.aws/v1``) sends a float
  ``created_at`` and a reasoning item with a ``msg_`` id and ``reasoning_text``;
- OpenRouter (``openrouter.ai/api/v1``) adds ``cost``, ``is_byok`` and
  ``cache_write_tokens`` to usage.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx2

from agentkit.exceptions import UserError

from ..openai_compat._presets import lookup_preset, preset_entry_point, preset_key
from ..openai_responses import OpenAIResponsesAdapter

__all__ = [
    "RESPONSES_PRESETS",
    "ResponsesPreset",
    "responses_preset_adapter",
    "responses_preset_factory",
]


@dataclass(frozen=True, slots=True)
class ResponsesPreset:
    """One host serving the Responses API.

    Attributes:
        name: Entry-point and provider name.
        base_url: The root ``/responses`` is appended to; ``{region}`` is
            filled from ``region_variable``. Empty: the user must give one.
        url_variable: An environment variable overriding ``base_url``.
        key_variable: The environment variable holding the key.
        key_required: A missing key is an error (hosted APIs).
        key_help: Where to get a key.
        region_variable: Fills ``{region}`` in ``base_url``.
        default_region: The region when that variable is unset.
    """

    name: str
    base_url: str
    url_variable: str | None = None
    key_variable: str | None = None
    key_required: bool = False
    key_help: str = ""
    region_variable: str | None = None
    default_region: str = ""

    def resolve_base_url(self, env: Mapping[str, str]) -> str:
        """The base URL: ``url_variable`` when set, else the default (region filled in)."""
        value = env.get(self.url_variable) if self.url_variable else None
        if value:
            return value.rstrip("/")
        region = env.get(self.region_variable or "", "") or self.default_region
        return self.base_url.format(region=region)


#: Every Responses preset, by entry-point name.
RESPONSES_PRESETS: dict[str, ResponsesPreset] = {
    p.name: p
    for p in (
        # Any server implementing the spec: the base URL is the user's to give.
        ResponsesPreset(
            "openresponses",
            "",
            url_variable="OPENRESPONSES_BASE_URL",
            key_variable="OPENRESPONSES_API_KEY",
        ),
        ResponsesPreset(
            "openrouter-responses",
            "https://openrouter.ai/api/v1",
            url_variable="OPENROUTER_BASE_URL",
            key_variable="OPENROUTER_API_KEY",
            key_required=True,
            key_help="https://openrouter.ai/keys",
        ),
        # No /v1: case deepseek_text_json posts to https://api.deepseek.com/responses.
        ResponsesPreset(
            "deepseek-responses",
            "https://api.deepseek.com",
            # Not DEEPSEEK_BASE_URL: the chat preset's root ends in /v1.
            url_variable="DEEPSEEK_RESPONSES_BASE_URL",
            key_variable="DEEPSEEK_API_KEY",
            key_required=True,
            key_help="https://platform.deepseek.com/api_keys",
        ),
        # Bedrock's OpenAI-compatible endpoint takes a Bedrock API key as the bearer.
        ResponsesPreset(
            "bedrock-responses",
            "https://bedrock-mantle.{region}.api.aws/v1",
            url_variable="BEDROCK_RESPONSES_BASE_URL",
            key_variable="AWS_BEARER_TOKEN_BEDROCK",
            key_required=True,
            key_help="the Bedrock console's API keys page",
            region_variable="AWS_REGION",
            default_region="us-east-1",
        ),
    )
}


def responses_preset_adapter(
    name: str,
    model_id: str,
    *,
    env: Mapping[str, str] | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    client: httpx2.AsyncClient | None = None,
) -> OpenAIResponsesAdapter:
    """An ``OpenAIResponsesAdapter`` configured by preset ``name``.

    Raises:
        UserError: unknown preset, no model, no base URL for ``openresponses``,
            or a hosted API's key variable is not set.
    """
    preset = lookup_preset(RESPONSES_PRESETS, name, "Responses", model_id)
    variables = os.environ if env is None else env
    root = base_url or preset.resolve_base_url(variables)
    if not root:
        raise UserError(
            f"{name}:{model_id} needs the server's address: pass --base-url "
            f"(the root that /responses is appended to) or set {preset.url_variable}"
        )
    return OpenAIResponsesAdapter(
        model_id,
        api_key=preset_key(preset, name, model_id, api_key, variables),
        base_url=root,
        provider=name,
        key_variable=preset.key_variable,
        headers=headers,
        client=client,
        # The specification has prompt_cache_key but no retention field.
        cache_retention=False,
    )


def responses_preset_factory(name: str) -> Callable[..., OpenAIResponsesAdapter]:
    """The entry-point factory ``(model_id, **options) -> adapter`` for preset ``name``."""
    lookup_preset(RESPONSES_PRESETS, name, "Responses")
    return preset_entry_point(name, responses_preset_adapter, "openai-responses")
