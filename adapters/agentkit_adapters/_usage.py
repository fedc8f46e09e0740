"""Token counts from a provider's usage object, as the non-negative ints ``Usage`` holds.

Every family's usage parser builds its ``Usage`` with ``unchecked()``, which
trusts the caller to pass ints >= 0, so each count goes through one of the
two readings here first. Both turn a missing count (``None``) into 0. They
differ in what else they accept, because the families differ in who speaks
their wire:

- ``lenient_count`` (OpenAI Chat Completions, Ollama): these two wires are
  spoken by many servers besides the vendor's (vLLM, llama.cpp's server, LM
  Studio, proxies and gateways), whose JSON writers do not all keep an
  integer an integer. No recording in ``tests/fixtures/real_traffic`` sends
  anything but JSON integers (every count in it is one), so this guards
  against what a lax host may send, not against a case seen: a float such as
  ``12.0`` (a JavaScript or Go float64 writer), a numeric string, or
  ``1e999``, which ``json.loads`` reads as infinity.
- ``exact_count`` (OpenAI Responses, Gemini, Anthropic): these wires come
  from the vendor itself or from hosts that copy it closely (Azure, Vertex,
  the Responses API of OpenRouter, DeepSeek and Bedrock), and their counts
  are always integers in the recordings. Anything else is a malformed
  answer, and it counts as zero, as a missing count does, rather than being
  guessed at.
"""

from __future__ import annotations

from typing import Any

__all__ = ["exact_count", "lenient_count"]


def exact_count(value: Any) -> int:
    """``value`` if it is an int >= 0, else 0 (a bool, a float, a string, null).

    Args:
        value: A count as the wire sent it.

    Returns:
        The count.
    """
    # type() rather than isinstance(): a bool is an int subclass but no count.
    return value if type(value) is int and value >= 0 else 0


def lenient_count(value: Any) -> int:
    """``value`` as ``int()`` reads it, floored at 0; 0 for what it cannot read.

    A float is truncated (``3.7`` counts 3), a numeric string is parsed
    (``"12"``, ``" 12 "``, even ``"1_000"``), a bool counts as 0 or 1, and
    whatever ``int()`` refuses (``"12.5"``, a list, NaN, infinity) counts 0.

    Args:
        value: A count as the wire sent it.

    Returns:
        The count.
    """
    if type(value) is int and value >= 0:  # the usual case, without a try
        return value
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e999 parses as inf
        return 0
