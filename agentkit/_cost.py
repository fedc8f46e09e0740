"""Prices: the ``genai-prices`` table, with a local override file.

Loaded only when a cost is asked for: the table takes most of a second to
import, which no run should pay for unless it wants a price. An unknown price
is None, never zero.

Override file (``AGENTKIT_PRICES`` or ``~/.config/agentkit/prices.json``)::

    {"openai:gpt-4.1-mini": {"input": 0.4, "output": 1.6, "cache_read": 0.1}}

Prices are US dollars per million tokens.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from ._messages import Usage
from .exceptions import UserError

__all__ = ["price_usage"]

#: Our provider names that ``genai-prices`` spells differently.
_PROVIDER_IDS = {
    "gemini": "google",
    # genai-prices files Vertex AI's Gemini and Claude prices under "google".
    "vertex": "google",
    "openai-responses": "openai",
    "xai": "x-ai",
    "meta-llama": "meta",
    # The same hosts' Responses API entry points price like their chat ones.
    "azure-responses": "azure",
    "openrouter-responses": "openrouter",
    "deepseek-responses": "deepseek",
    "bedrock-responses": "aws",
}


def _override_path() -> Path:
    configured = os.environ.get("AGENTKIT_PRICES")
    if configured:
        return Path(configured)
    return Path.home() / ".config" / "agentkit" / "prices.json"


@cache
def _overrides(path: Path) -> dict[str, dict[str, float]]:
    if not path.is_file():
        return {}
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read price overrides {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"price overrides {path}: expected an object of provider:model keys")
    return data


def _from_override(prices: dict[str, float], usage: Usage) -> float:
    cached = usage.cache_read_input_tokens
    written = usage.cache_creation_input_tokens
    fresh = usage.input_tokens - cached - written
    per_token = {k: v / 1_000_000 for k, v in prices.items()}
    return (
        fresh * per_token.get("input", 0.0)
        + cached * per_token.get("cache_read", per_token.get("input", 0.0))
        + written * per_token.get("cache_write", per_token.get("input", 0.0))
        + usage.output_tokens * per_token.get("output", 0.0)
    )


#: Providers that run on the user's own machine: tokens cost nothing.
_FREE = frozenset({"llamacpp"})


def price_usage(model: str, usage: Usage) -> Usage:
    """``usage`` with ``cost_usd`` set, from the overrides or the price table.

    Args:
        model: ``provider:model``.
        usage: Tokens used by that model.
    """
    override = _overrides(_override_path()).get(model)
    if override is not None:
        return usage.model_copy(update={"cost_usd": _from_override(override, usage)})
    provider, _, model_id = model.partition(":")
    if provider in _FREE:
        return usage.model_copy(update={"cost_usd": 0.0})
    try:
        import genai_prices
    except ImportError:  # pragma: no cover - it is a dependency, but stay honest without it
        return usage.model_copy(update={"cost_usd": None})
    counted = genai_prices.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens,
        cache_write_tokens=usage.cache_creation_input_tokens,
    )
    try:
        price = genai_prices.calc_price(
            counted, model_id, provider_id=_PROVIDER_IDS.get(provider, provider)
        )
    except LookupError:
        return usage.model_copy(update={"cost_usd": None})
    return usage.model_copy(update={"cost_usd": float(price.total_price)})
