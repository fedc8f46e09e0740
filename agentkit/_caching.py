"""Prompt caching: one setting, read the same way by every adapter.

``ModelSettings.prompt_cache`` asks for caching (``True``, or a
``PromptCache`` with a key or a lifetime); each adapter turns it into its
provider's mechanism:

- OpenAI Chat and Responses (and Azure on the v1 and modern dated APIs):
  ``prompt_cache_key`` (``PromptCache.key``, else ``prefix_key`` of the
  request, so every call of one agent lands on the same cache) and
  ``prompt_cache_retention: "24h"`` when ``ttl`` asks for more than an hour.
- Anthropic (and Claude on Vertex): ``cache_control`` breakpoints on the
  stable prefix, ``ttl: "1h"`` when ``ttl`` asks for more than five minutes.
- Gemini: implicit caching needs nothing sent; a fixed prefix of at least
  ``explicit_min_tokens`` goes into an explicit ``cachedContents`` resource
  with ``ttl``, created once per prefix and reused.
- Any adapter that does not declare ``prompt_cache`` in its capabilities
  gets the runner's ``unsupported_setting`` warning: the setting is never
  dropped silently.

The functions here are pure and shared, so a third party's adapter derives
the same key from the same prefix.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ._model import ModelRequest, ModelSettings

__all__ = ["PromptCache", "prefix_key", "prompt_cache_of"]


class PromptCache(BaseModel):
    """How to cache the stable prefix of every call (``ModelSettings.prompt_cache``).

    Attributes:
        key: Routes calls that share a prefix to one cache (OpenAI's
            ``prompt_cache_key``); by default derived from the agent's
            instructions, tools and output schema (``prefix_key``).
        ttl: Seconds the cached prefix should live. Providers offer a few
            lifetimes: OpenAI in memory (minutes) or 24 hours, Anthropic five
            minutes or one hour, Gemini's explicit caches any number of
            seconds. The shortest offered lifetime that covers ``ttl`` is asked
            for, capped at the longest one.
        explicit_min_tokens: Gemini only: create an explicit cached content
            when the fixed prefix (instructions and tools) is estimated at
            this many tokens or more; shorter prefixes rely on implicit caching.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    key: str | None = Field(default=None, min_length=1, max_length=64)
    ttl: int | None = Field(default=None, gt=0, description="seconds the cache should live")
    explicit_min_tokens: int = Field(
        default=4096,
        ge=1,
        description="Gemini: the fixed prefix's estimated size from which an explicit "
        "cachedContents resource is created",
    )


def prompt_cache_of(settings: ModelSettings) -> PromptCache | None:
    """The caching asked for by ``settings``, or None when none is."""
    value = settings.prompt_cache
    if value is None or value is False:
        return None
    if value is True:
        return PromptCache()
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def prefix_key(request: ModelRequest) -> str:
    """A stable key for the fixed prefix of ``request``: instructions, tools, output schema.

    Equal for every call of one agent (the conversation is not part of it),
    different when the instructions or any tool definition change. 24
    characters, well inside OpenAI's limit of 64.
    """
    # hashlib loads OpenSSL (~7 ms): only runs that cache a prefix pay it.
    import hashlib

    digest = hashlib.sha256()
    for message in request.messages:
        if message.role == "system":
            digest.update(_dump(message.model_dump(mode="json")).encode())
    for tool in request.tools:
        digest.update(_dump(tool.model_dump(mode="json", by_alias=True)).encode())
    if request.output_schema is not None:
        digest.update(_dump(request.output_schema).encode())
    return "agentkit-" + digest.hexdigest()[:15]
