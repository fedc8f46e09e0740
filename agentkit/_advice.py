"""Advice from token ledgers: what a person could change to spend fewer tokens.

Advice only reads ledgers (``RunResult.ledger``) and says what it saw, with
the tokens at stake; it changes nothing about the agent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

from ._output import FINAL_RESULT_TOOL

if TYPE_CHECKING:
    from ._ledger import CallLedger, TokenLedger
    from ._result import RunResult

__all__ = ["Advice", "advice"]

AdviceKind = Literal["tool_definitions", "unused_tool", "history", "prefix_changes"]


@dataclass(frozen=True)
class Advice:
    """One thing worth changing, found in token ledgers.

    Attributes:
        kind: ``tool_definitions`` (they take most of the fixed prefix),
            ``unused_tool`` (offered, never called), ``history`` (re-sent
            conversation past the threshold) or ``prefix_changes`` (the
            prefix differs between calls, so prompt caches miss).
        message: What was seen and what to do, in a sentence or two.
        tokens: The input tokens at stake, summed over the calls seen.
        subject: The tool, model or part concerned.
    """

    kind: AdviceKind
    message: str
    tokens: int
    subject: str = ""


def advice(
    results: RunResult | Iterable[RunResult],
    *,
    tool_share: float = 0.5,
    min_prefix_tokens: int = 100,
    history_threshold: int = 4000,
) -> list[Advice]:
    """Advice from the ledgers of one or many runs, most tokens at stake first.

    Args:
        results: A run's result, or several (say, one agent over a test set).
        tool_share: Warn when tool definitions are at least this share of the
            fixed prefix (instructions plus tool definitions).
        min_prefix_tokens: ... and the prefix at least this many tokens.
        history_threshold: Warn when one call re-sends more conversation
            (history and tool results) than this many tokens.

    Returns:
        The advice; empty when nothing stands out.
    """
    from ._result import RunResult

    runs = [results] if isinstance(results, RunResult) else list(results)
    ledgers = [run.ledger for run in runs]
    calls = [call for ledger in ledgers for call in ledger.calls]
    found = [
        *_heavy_tools(calls, tool_share, min_prefix_tokens),
        *_unused_tools(ledgers),
        *_long_history(calls, history_threshold),
        *_changing_prefix(calls),
    ]
    return sorted(found, key=lambda a: -a.tokens)


def _heavy_tools(calls: list[CallLedger], share: float, minimum: int) -> list[Advice]:
    known = [c for c in calls if c.tools_known]
    if not known:
        return []
    tools = sum(c.line("tool_definitions").tokens for c in known)
    prefix = tools + sum(c.line("instructions").tokens for c in known)
    if prefix == 0 or tools / prefix < share or prefix / len(known) < minimum:
        return []
    sizes: dict[str, int] = {}
    for call in known:
        for name, tokens in call.tools.items():
            sizes[name] = sizes.get(name, 0) + tokens
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:3]
    named = ", ".join(f"{name} ({tokens // len(known)})" for name, tokens in largest)
    return [
        Advice(
            "tool_definitions",
            f"tool definitions are {tools / prefix:.0%} of the fixed prefix "
            f"({tools // len(known)} of {prefix // len(known)} tokens a call); the largest: "
            f"{named}. Shorter descriptions and schemas, or fewer tools on offer, cut every call.",
            tools,
        )
    ]


def _unused_tools(ledgers: list[TokenLedger]) -> list[Advice]:
    called = frozenset().union(*(ledger.tools_called for ledger in ledgers))
    offered: dict[str, tuple[int, int]] = {}
    for ledger in ledgers:
        for call in ledger.calls:
            for name, tokens in call.tools.items():
                seen, total = offered.get(name, (0, 0))
                offered[name] = (seen + 1, total + tokens)
    runs = "run" if len(ledgers) == 1 else f"{len(ledgers)} runs"
    return [
        Advice(
            "unused_tool",
            f"tool {name} was offered in {seen} calls and never called in {runs}; its "
            f"definition cost {total} input tokens. Leave it out where the task does not need it.",
            total,
            name,
        )
        for name, (seen, total) in offered.items()
        if name not in called and name != FINAL_RESULT_TOOL
    ]


def _long_history(calls: list[CallLedger], threshold: int) -> list[Advice]:
    heavy = [
        (c, c.line("history").tokens + c.line("tool_results").tokens)
        for c in calls
        if c.line("history").tokens + c.line("tool_results").tokens > threshold
    ]
    if not heavy:
        return []
    worst, most = max(heavy, key=lambda item: item[1])
    return [
        Advice(
            "history",
            f"{len(heavy)} calls re-sent more than {threshold} tokens of conversation "
            f"(the most: {most} at call {worst.turn} of {worst.model}); trim or summarise "
            "old turns and large tool results, or start a fresh history for a new task.",
            sum(tokens for _, tokens in heavy),
            "history",
        )
    ]


def _changing_prefix(calls: list[CallLedger]) -> list[Advice]:
    by_model: dict[str, list[CallLedger]] = {}
    for call in calls:
        by_model.setdefault(call.model, []).append(call)
    found = []
    for model, seen in by_model.items():
        changed_instructions = sum(
            a.instructions_digest != b.instructions_digest for a, b in pairwise(seen)
        )
        changed_tools = sum(
            a.tools_known and b.tools_known and a.tools_digest != b.tools_digest
            for a, b in pairwise(seen)
        )
        if not changed_instructions and not changed_tools:
            continue
        what = " and ".join(
            part
            for part, n in (("instructions", changed_instructions), ("tools", changed_tools))
            if n
        )
        tokens = sum(
            c.line("instructions").tokens + c.line("tool_definitions").tokens for c in seen[1:]
        )
        found.append(
            Advice(
                "prefix_changes",
                f"the fixed prefix sent to {model} changed between calls "
                f"({what}: {max(changed_instructions, changed_tools)} of {len(seen) - 1} "
                "changes); a provider's prompt cache reuses only an identical beginning, so "
                "keep dates, ids and other varying text out of instructions and tool lists.",
                tokens,
                model,
            )
        )
    return found
