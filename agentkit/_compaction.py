"""History compaction: send a shorter conversation, keep the whole one.

An opt-in policy (``Agent(compaction=...)``, ``compaction:`` in agent.yaml)
that changes only what a model call is sent; ``RunResult.messages`` always
keeps every message. Two independent rules:

- ``keep_last_turns``: the conversation is cut into turns (a user message;
  an assistant message together with the tool results that answer it, so a
  tool call is never split from its result). At least the last K turns are
  sent; older ones, in steps of K/2 turns, are summarised by
  ``summarize_with`` (a cheap model) or, without one, left out; either way
  one user message says so where they were.
- ``max_tool_result_tokens``: a tool result of an earlier turn larger than
  this (estimated) is replaced by a one-line placeholder. The latest turn's
  results always go whole: the model has not read them yet.

Both rules are deterministic, so from the call where a message is first
compacted on, the compacted form is byte-identical between calls and
prompt caches keep hitting. The ledger shows the saving (``compacted``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ._messages import Message, TextPart, ToolResultPart
from ._model import ModelRequest, ModelSettings, RunWarning

if TYPE_CHECKING:
    from ._model import ModelAdapter

__all__ = ["Compaction", "Compactor", "compact_messages", "split_turns"]


class Compaction(BaseModel):
    """How to shorten the conversation a model call is sent (``Agent.compaction``).

    Attributes:
        keep_last_turns: Send at least the last K turns as they are; older
            turns are summarised (``summarize_with``) or left out, K/2 turns
            at a time. None keeps every turn.
        summarize_with: ``provider:model`` that summarises the older turns
            (choose a cheap one); None leaves them out with a note.
        summary_max_tokens: The summary's ``max_tokens``.
        max_tool_result_tokens: Replace tool results of earlier turns larger
            than this many tokens (four bytes a token) with a placeholder.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    keep_last_turns: int | None = Field(default=None, ge=1)
    summarize_with: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.\-]*:.+$")
    summary_max_tokens: int = Field(default=512, gt=0)
    max_tool_result_tokens: int | None = Field(default=None, ge=1)


def _tokens(text: str) -> int:
    return -(-len(text.encode("utf-8")) // 4)


def split_turns(messages: Sequence[Message]) -> list[list[Message]]:
    """Non-system messages in turns: a user message, or an assistant message and its results."""
    turns: list[list[Message]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool" and turns:
            turns[-1].append(message)  # answers the assistant turn before it
        else:
            turns.append([message])
    return turns


def _result_text(part: ToolResultPart) -> str:
    if part.text:
        return part.text
    if part.structured_content is not None:
        return json.dumps(part.structured_content, ensure_ascii=False)
    return ""


def _shrink_results(turn: list[Message], limit: int) -> list[Message]:
    out = []
    for message in turn:
        if message.role != "tool":
            out.append(message)
            continue
        parts = []
        for part in message.parts:
            size = _tokens(_result_text(part)) if isinstance(part, ToolResultPart) else 0
            if isinstance(part, ToolResultPart) and size > limit:
                note = f"[result of {part.name or 'the tool'} left out to save tokens: {size}]"
                part = part.model_copy(
                    update={"content": [TextPart(text=note)], "structured_content": None}
                )
            parts.append(part)
        out.append(message.model_copy(update={"parts": parts}))
    return out


def _transcript(turns: Sequence[list[Message]]) -> str:
    lines = []
    for turn in turns:
        for message in turn:
            for part in message.parts:
                if isinstance(part, TextPart) and part.text:
                    lines.append(f"{message.role}: {part.text}")
                elif isinstance(part, ToolResultPart):
                    lines.append(f"tool result ({part.name}): {_result_text(part)}")
                elif part.type == "tool_call":
                    lines.append(f"assistant called {part.name}({json.dumps(part.arguments)})")
    return "\n".join(lines)


def compact_messages(
    messages: Sequence[Message], policy: Compaction, summary: str | None = None
) -> tuple[list[Message], list[list[Message]]]:
    """The messages to send under ``policy``, and the turns left out of them.

    Args:
        messages: The whole conversation, system messages included (kept first).
        policy: The compaction policy.
        summary: A summary of the left-out turns, to send in their place.

    Returns:
        The compacted messages, and the turns older than the last K (empty
        when nothing was left out).
    """
    system = [m for m in messages if m.role == "system"]
    turns = split_turns(messages)
    older: list[list[Message]] = []
    keep = policy.keep_last_turns
    if keep is not None and len(turns) > keep:
        # Older turns go in steps of half the window, not one a call: what is
        # sent then stays byte-identical for several calls, so caches hit.
        step = max(1, keep // 2)
        cut = (len(turns) - keep) // step * step
        older, turns = turns[:cut], turns[cut:]
    limit = policy.max_tool_result_tokens
    if limit is not None:
        turns = [
            _shrink_results(t, limit) if i < len(turns) - 1 else t for i, t in enumerate(turns)
        ]
    kept: list[Message] = [*system]
    if older:
        count = sum(len(t) for t in older)
        earlier = f"{count} earlier message{'' if count == 1 else 's'}"
        note = (
            f"Summary of the {earlier} of this conversation: {summary}"
            if summary
            else f"[{earlier} of this conversation left out to save tokens]"
        )
        kept.append(Message.user(note))
    kept.extend(m for turn in turns for m in turn)
    return kept, older


class Compactor:
    """One run's compaction: the policy, and the summaries made so far (made once each).

    Args:
        policy: The agent's policy.
        model_options: Options for the summarising model's factory.
    """

    def __init__(self, policy: Compaction, model_options: Mapping[str, Any] | None = None) -> None:
        self.policy = policy
        self.model_options = dict(model_options or {})
        self._summaries: dict[int, str] = {}

    async def compact(self, request: ModelRequest) -> tuple[ModelRequest, list[RunWarning]]:
        """``request`` with its messages compacted, and warnings about the summary's cost."""
        messages, older = compact_messages(request.messages, self.policy)
        warnings: list[RunWarning] = []
        if older and self.policy.summarize_with is not None:
            count = sum(len(t) for t in older)
            summary = self._summaries.get(count)
            if summary is None:
                summary, warning = await self._summarise(older)
                warnings.append(warning)
                if summary is not None:
                    self._summaries[count] = summary
            if summary is not None:
                messages, _ = compact_messages(request.messages, self.policy, summary)
        if len(messages) == len(request.messages) and messages == request.messages:
            return request, warnings
        return replace(request, messages=messages), warnings

    async def _summarise(self, older: list[list[Message]]) -> tuple[str | None, RunWarning]:
        from ._registry import cached_model
        from .exceptions import AgentkitError

        model = self.policy.summarize_with
        assert model is not None
        adapter: ModelAdapter = cached_model(model, self.model_options)
        request = ModelRequest(
            messages=[
                Message.system(
                    "Summarise this conversation between a user and an assistant that uses "
                    "tools. Keep every fact, number, name and decision the assistant may still "
                    "need; leave out small talk. Answer with the summary only."
                ),
                Message.user(_transcript(older)),
            ],
            settings=ModelSettings(max_tokens=self.policy.summary_max_tokens),
        )
        try:
            response = await adapter.generate(request)
        except AgentkitError as exc:
            return None, RunWarning(
                kind="other",
                feature="compaction",
                message=f"the older turns could not be summarised by {model} ({exc}); "
                "they were left out instead",
            )
        usage = response.usage
        spent = (
            f"{usage.input_tokens} input and {usage.output_tokens} output tokens"
            if usage is not None
            else "usage not reported"
        )
        return response.message.text, RunWarning(
            kind="other",
            feature="compaction",
            message=f"{sum(len(t) for t in older)} older messages were summarised by {model} "
            f"({spent}; not counted in the run's usage)",
        )
