"""What an OpenAI model accepts, looked up by its id (a profile, as Vercel keeps one).

Vercel's ``getOpenAILanguageModelCapabilities(modelId)`` reads the same from an id.

The settings the runner may send depend on the model, on both OpenAI APIs:

- Reasoning models (the o-series, and GPT-5 except its ``gpt-5-chat`` models)
  answer 400 "Unsupported value: 'temperature' does not support 0.2 with
  this model. Only the default (1) value is supported", and likewise for
  ``top_p``: they are not declared, so the runner leaves them out with a
  warning instead of failing the call.
- Models that do not reason (GPT-4o, GPT-4.1, GPT-3.5, ``gpt-5-chat``) do not
  take ``reasoning_effort``.

An id this table does not know (a fine-tune, another host's model behind
``OPENAI_BASE_URL``) keeps every setting: the host is the judge.
"""

from __future__ import annotations

import re

__all__ = ["is_openai_reasoning_model", "openai_settings"]

_REASONING = re.compile(r"^(o\d|gpt-5(?!-chat))")
_NOT_REASONING = re.compile(r"^(gpt-4|gpt-3\.5|gpt-5-chat|chatgpt-4o)")

_SAMPLING = frozenset({"temperature", "top_p"})


def is_openai_reasoning_model(model_id: str) -> bool | None:
    """Whether ``model_id`` is a reasoning model; None when the id does not say."""
    if _REASONING.match(model_id):
        return True
    if _NOT_REASONING.match(model_id):
        return False
    return None


def openai_settings(model_id: str, settings: frozenset[str]) -> frozenset[str]:
    """The settings of ``settings`` that ``model_id`` accepts.

    Args:
        model_id: The model asked, e.g. ``gpt-5-mini``.
        settings: What the API (and host) take at all.

    Returns:
        ``settings`` without what this model rejects.
    """
    reasoning = is_openai_reasoning_model(model_id)
    if reasoning is True:
        return settings - _SAMPLING
    if reasoning is False:
        return settings - {"reasoning_effort"}
    return settings
