"""How each family's parser turns a wire token count into an int, pinned as a table.

OpenAI Chat Completions and Ollama coerce what a lax host might send (a
float, a numeric string); OpenAI Responses, Gemini and Anthropic take only
a non-negative int and count anything else as zero. The table was written
against main before the five copies of ``_count`` became one module, and
the parsers must keep answering it the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from agentkit_adapters.anthropic import from_anthropic_usage
from agentkit_adapters.gemini import from_gemini_usage
from agentkit_adapters.ollama import from_ollama_usage
from agentkit_adapters.openai import from_openai_usage
from agentkit_adapters.openai_responses import from_responses_usage

from agentkit import Usage

# (wire value, count where coerced, count where only ints are taken)
VALUES: list[tuple[Any, int, int]] = [
    (3, 3, 3),
    (0, 0, 0),
    (10**20, 10**20, 10**20),
    (-1, 0, 0),
    (True, 1, 0),
    (False, 0, 0),
    (3.0, 3, 0),
    (3.7, 3, 0),
    (0.5, 0, 0),
    (-2.5, 0, 0),
    (1e20, 10**20, 0),
    (math.inf, 0, 0),  # json.loads reads 1e999 as inf
    (-math.inf, 0, 0),
    (math.nan, 0, 0),  # json.loads reads NaN
    ("12", 12, 0),
    (" 12 ", 12, 0),
    ("1_000", 1000, 0),  # int() takes the underscores of Python literals
    ("12.5", 0, 0),
    ("-4", 0, 0),
    ("0x10", 0, 0),
    ("", 0, 0),
    ("many", 0, 0),
    (None, 0, 0),
    ([], 0, 0),
    ([3], 0, 0),
    ({}, 0, 0),
    ({"n": 1}, 0, 0),
]


def _wire(path: str, **others: Any) -> Callable[[Any], dict[str, Any]]:
    """The usage object holding ``value`` at ``path`` ("a.b": nested), beside ``others``."""
    outer, _, inner = path.partition(".")
    return lambda value: {outer: {inner: value} if inner else value, **others}


PARSERS: dict[str, Callable[[Any], Usage | None]] = {
    "openai": from_openai_usage,
    "ollama": from_ollama_usage,
    "responses": from_responses_usage,
    "gemini": from_gemini_usage,
    "anthropic": from_anthropic_usage,
}
COERCING = {"openai", "ollama"}

# (family, where the count travels, the Usage field it lands in)
FIELDS: list[tuple[str, Callable[[Any], dict[str, Any]], str]] = [
    ("openai", _wire("prompt_tokens"), "input_tokens"),
    ("openai", _wire("completion_tokens"), "output_tokens"),
    ("openai", _wire("prompt_tokens_details.cached_tokens"), "cache_read_input_tokens"),
    ("openai", _wire("cached_tokens"), "cache_read_input_tokens"),
    ("openai", _wire("prompt_cache_hit_tokens"), "cache_read_input_tokens"),
    ("openai", _wire("completion_tokens_details.reasoning_tokens"), "reasoning_output_tokens"),
    ("ollama", _wire("prompt_eval_count", eval_count=1), "input_tokens"),
    ("ollama", _wire("eval_count", prompt_eval_count=1), "output_tokens"),
    ("responses", _wire("input_tokens"), "input_tokens"),
    ("responses", _wire("output_tokens"), "output_tokens"),
    ("responses", _wire("input_tokens_details.cached_tokens"), "cache_read_input_tokens"),
    ("responses", _wire("input_tokens_details.cache_write_tokens"), "cache_creation_input_tokens"),
    ("responses", _wire("output_tokens_details.reasoning_tokens"), "reasoning_output_tokens"),
    ("gemini", _wire("promptTokenCount"), "input_tokens"),
    ("gemini", _wire("toolUsePromptTokenCount"), "input_tokens"),
    ("gemini", _wire("candidatesTokenCount"), "output_tokens"),
    ("gemini", _wire("cachedContentTokenCount"), "cache_read_input_tokens"),
    ("gemini", _wire("thoughtsTokenCount"), "reasoning_output_tokens"),
    ("anthropic", _wire("input_tokens"), "input_tokens"),
    ("anthropic", _wire("output_tokens"), "output_tokens"),
    ("anthropic", _wire("cache_read_input_tokens"), "cache_read_input_tokens"),
    ("anthropic", _wire("cache_creation_input_tokens"), "cache_creation_input_tokens"),
]


@pytest.mark.parametrize(
    ("family", "wire", "field"),
    [pytest.param(*row, id=f"{row[0]}-{row[2]}-{i}") for i, row in enumerate(FIELDS)],
)
def test_each_family_counts_every_wire_value_as_pinned(
    family: str, wire: Callable[[Any], dict[str, Any]], field: str
) -> None:
    got: dict[str, object] = {}
    want: dict[str, object] = {}
    for value, coerced, strict in VALUES:
        usage = PARSERS[family](wire(value))
        assert usage is not None
        count = getattr(usage, field)
        # The type too: never a bool or a float that happens to compare equal.
        got[repr(value)] = (type(count).__name__, count)
        want[repr(value)] = ("int", coerced if family in COERCING else strict)
    assert got == want
