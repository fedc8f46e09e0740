"""Gemini's explicit context cache, as pure functions: which prefix, what to send.

Gemini caches implicitly (2.5 models and later): a request whose beginning
matches a recent one is billed at the cached rate with nothing sent for it,
so ``prompt_cache`` needs no field for that. A long fixed prefix can also be
stored once as a ``cachedContents`` resource with a TTL and named in later
requests (``cachedContent``), which makes the discount certain rather than
likely. A request that names a cached content must not carry its own
``systemInstruction``, ``tools`` or ``toolConfig`` (the API refuses it), so
those move into the resource and out of the request.

The adapter keeps the names it created, by ``prefix_digest``; everything
here is pure.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CACHED_FIELDS",
    "DEFAULT_TTL",
    "cached_content_body",
    "fixed_prefix",
    "prefix_digest",
    "prefix_tokens",
    "with_cached_content",
]

#: The request fields that a cached content holds instead of the request.
CACHED_FIELDS = ("systemInstruction", "tools", "toolConfig")
#: Gemini's own default lifetime of a cached content, in seconds.
DEFAULT_TTL = 3600


def fixed_prefix(body: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a ``generateContent`` body that every call of an agent repeats."""
    return {name: body[name] for name in CACHED_FIELDS if name in body}


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def prefix_tokens(prefix: Mapping[str, Any]) -> int:
    """The prefix's size in tokens, estimated at four bytes a token."""
    return math.ceil(len(_dump(prefix).encode()) / 4)


def prefix_digest(model_id: str, prefix: Mapping[str, Any]) -> str:
    """A digest naming one model's prefix: equal digests, one cached content."""
    return hashlib.sha256(f"{model_id}\0{_dump(prefix)}".encode()).hexdigest()[:24]


def cached_content_body(model_id: str, prefix: Mapping[str, Any], ttl: int) -> dict[str, Any]:
    """The body of ``POST /v1beta/cachedContents`` storing ``prefix`` for ``ttl`` seconds."""
    return {"model": f"models/{model_id}", **prefix, "ttl": f"{ttl}s"}


def with_cached_content(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``body`` naming the cached content ``name`` in place of the fields it holds."""
    rest = {key: value for key, value in body.items() if key not in CACHED_FIELDS}
    return {**rest, "cachedContent": name}
