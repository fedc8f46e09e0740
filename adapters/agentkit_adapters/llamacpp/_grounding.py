"""Is a small model's tool call about what the user said? Its free-text arguments tell.

SmolLM2-135M cannot tell a question that needs a tool from one that does not:
left free it answers "How cold is it in Dublin?" from memory, and offered a
tool it calls ``get_weather(city="Paris")`` for "Hello!". But it copies well:
asked about Dublin it writes ``city="Dublin"``. A call whose free-text
arguments come from nowhere in the user's messages ("Paris" for "Hello!",
"El Diablo" for "Translate 'good morning' into Spanish") is the model filling
a form it should not have picked, so the adapter drops that draft and lets the
model answer instead.

Only free text counts as evidence: an enum, a const, a number or a boolean
could be a default the model chose well. A call with no free text at all is
kept, since nothing says it is wrong. Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from agentkit import Message

__all__ = ["grounded", "user_text"]

_WORD = re.compile(r"\w+")

#: A copied word may be misspelt ("Athos" for "Athens"): one that shares its
#: first letters with a word of the user's still counts as copied.
_PREFIX = 3


def user_text(messages: Sequence[Message]) -> str:
    """The text of every user message in the conversation, lower-cased."""
    return "\n".join(m.text for m in messages if m.role == "user").lower()


def _free_text(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    if "enum" in schema or "const" in schema:
        return False
    types = schema.get("type")
    return types == "string" or (isinstance(types, list) and "string" in types)


def _word_grounded(word: str, text: str, words: set[str]) -> bool:
    if word in text:
        return True
    return len(word) > _PREFIX and any(
        len(w) > _PREFIX and w[:_PREFIX] == word[:_PREFIX] for w in words
    )


def grounded(arguments: Mapping[str, Any], schema: Mapping[str, Any], text: str) -> bool:
    """Whether the call's free-text arguments are taken from ``text`` (the user's words).

    Args:
        arguments: The call's arguments.
        schema: The tool's argument schema (its ``properties`` say which are free text).
        text: What the user said, lower-cased (see ``user_text``).

    Returns:
        False when some free-text argument holds a word the user never wrote;
        True otherwise, including when the call has no free text to judge.
    """
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return True
    words = set(_WORD.findall(text))
    for name, value in arguments.items():
        if not isinstance(value, str) or not _free_text(properties.get(name)):
            continue
        for word in _WORD.findall(value.lower()):
            if not _word_grounded(word, text, words):
                return False
    return True
