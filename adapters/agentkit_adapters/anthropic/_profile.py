"""What a Claude model can do, looked up from its id: a profile, not a request.

Model ids come in two spellings, both seen in the recordings:
``claude-sonnet-4-20250514`` / ``claude-sonnet-4-0`` / ``claude-opus-4-5`` (family
first, since Claude 4) and ``claude-3-7-sonnet-20250219`` (version first); on
Vertex the date follows an ``@`` (``claude-3-7-sonnet@20250219``) and on
Bedrock the id has a vendor prefix (``anthropic.claude-...``). An id we cannot
read gets the most conservative profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ClaudeProfile", "claude_profile"]

# A minor version is one or two digits; the eight-digit date that can follow
# the major version ("claude-sonnet-4-20250514") is not one.
_FAMILY_FIRST = re.compile(r"claude-(opus|sonnet|haiku)-(\d+)(?:[-.](\d{1,2}))?(?!\d)")
_VERSION_FIRST = re.compile(r"claude-(\d+)(?:[-.](\d{1,2}))?-(opus|sonnet|haiku)")


@dataclass(frozen=True, slots=True)
class ClaudeProfile:
    """What one Claude model id supports.

    Attributes:
        version: ``(major, minor)``, or None for an id we cannot read.
        default_max_tokens: ``max_tokens`` sent when the settings give none
            (the API requires it): 4096 for Claude 3 and unknown ids, 8192 for
            Claude 3.5, 16000 from Claude 3.7 on (below every such model's
            ceiling: Opus 4 stops at 32000, the others at 64000 or more).
        native_output: Structured outputs (``output_config.format``), which
            the API offers from Claude 4.5 on (Haiku, Sonnet and Opus 4.5,
            4.6 and later); older models get the runner's forced tool.
        thinking: Extended thinking (``thinking.budget_tokens``), from Claude 3.7.
    """

    version: tuple[int, int] | None
    default_max_tokens: int
    native_output: bool
    thinking: bool


def _version(model_id: str) -> tuple[int, int] | None:
    found = _FAMILY_FIRST.search(model_id)
    if found:
        return int(found[2]), int(found[3] or 0)
    found = _VERSION_FIRST.search(model_id)
    if found:
        return int(found[1]), int(found[2] or 0)
    return None


def claude_profile(model_id: str) -> ClaudeProfile:
    """The profile of ``model_id`` (see ``ClaudeProfile`` for the rules).

    Args:
        model_id: A Claude model id, in any of the spellings above.

    Returns:
        The profile; an unreadable id gets 4096 tokens and no native output or thinking.
    """
    version = _version(model_id.lower())
    if version is None:
        return ClaudeProfile(None, 4096, native_output=False, thinking=False)
    if version < (3, 5):
        default = 4096
    elif version < (3, 7):
        default = 8192
    else:
        default = 16000
    return ClaudeProfile(
        version, default, native_output=version >= (4, 5), thinking=version >= (3, 7)
    )
