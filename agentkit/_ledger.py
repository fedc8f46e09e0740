"""Where the tokens go: each model call's input split into its parts, priced.

The provider reports one input total per call; what it is made of is
estimated here from what the call was sent (``RunResult.calls``):
instructions (system messages), tool definitions, conversation history (what
earlier calls already sent or answered), tool results and new user input
(what this call adds after the last answer). Estimates use the model's own
tokenizer when its adapter offers one offline (``adapter.count_tokens``, as
the in-process llama.cpp adapter does with the GGUF file's vocabulary), and
otherwise bytes at ``BYTES_PER_TOKEN``. Whatever the estimates do not cover
(message framing, chat templates, images, a provider's hidden tool prompt) is
the ``unattributed`` line: reported minus estimated, negative when the
estimates overshoot, never hidden. Prices come from ``_cost.price_usage``; an
unknown price stays None. Each call and the run have a prompt-cache hit rate
(cached input over input, as reported) and the tokens a history compaction
policy kept out (``compacted_tokens``: the whole conversation minus what was sent).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, assert_never

from ._messages import (
    AudioPart,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    ResourcePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from ._model import ToolDefinition

if TYPE_CHECKING:
    from ._cascade import CascadeSaving
    from ._result import CallRecord, RunResult

__all__ = [
    "BYTES_PER_TOKEN",
    "CallLedger",
    "LedgerLine",
    "TokenLedger",
    "format_ledger",
    "token_ledger",
    "tool_definition_text",
]

#: The byte estimate: UTF-8 bytes per token. Four is OpenAI's rule of thumb
#: for English text; JSON schemas and code tokenize denser, so byte estimates
#: of tool definitions lean low and the rest lands in ``unattributed``.
BYTES_PER_TOKEN = 4.0

#: The parts of a call's input, in the order a prompt is laid out (the order
#: a provider's prompt cache covers them in).
InputPart = Literal[
    "instructions", "tool_definitions", "history", "tool_results", "new_input", "unattributed"
]
INPUT_PARTS: tuple[InputPart, ...] = (
    "instructions",
    "tool_definitions",
    "history",
    "tool_results",
    "new_input",
    "unattributed",
)

Counter = Callable[[str], int]


@dataclass(frozen=True)
class LedgerLine:
    """One part of one call.

    Attributes:
        part: ``instructions``, ``tool_definitions``, ``history``,
            ``tool_results``, ``new_input``, ``unattributed`` (input), or
            ``output`` and ``reasoning`` (output; reasoning is inside the
            reported output and split out of it).
        tokens: Tokens of this part (estimated, except ``unattributed``,
            ``output`` and ``reasoning``, which are the provider's numbers).
        cached_tokens: Input tokens of this part read from the provider's
            prompt cache (allocated from the start of the prompt).
        cache_write_tokens: Input tokens of this part written to the cache.
        cost_usd: Its price, or None when the model's price is unknown.
    """

    part: str
    tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None


@dataclass(frozen=True)
class CallLedger:
    """The ledger of one model call.

    Attributes:
        turn: The call's number in the run (1 for the first).
        model: ``provider:model`` that answered.
        method: How the parts were estimated, in words.
        usage: What the provider reported for this call.
        lines: The input parts in prompt order, then ``output`` and ``reasoning``.
        tools: Tokens of each tool definition offered, by name (empty when
            the request was not recorded).
        instructions_digest: A digest of the instructions sent, and
        tools_digest: of the tool definitions: equal digests, identical
            text, so a change between calls shows (it defeats prompt caches).
        tools_known: Whether the request, hence the tool definitions, was recorded.
        compacted_tokens: Conversation tokens (estimated) that history
            compaction kept out of this call: the whole conversation minus
            what was sent; 0 without a compaction policy.
    """

    turn: int
    model: str
    method: str
    usage: Usage
    lines: tuple[LedgerLine, ...]
    tools: dict[str, int] = field(default_factory=dict)
    instructions_digest: str = ""
    tools_digest: str = ""
    tools_known: bool = True
    compacted_tokens: int = 0

    @property
    def hit_rate(self) -> float | None:
        """Cached input tokens / input tokens, as the provider reported; None without input."""
        if self.usage.input_tokens <= 0:
            return None
        return self.usage.cache_read_input_tokens / self.usage.input_tokens

    def line(self, part: str) -> LedgerLine:
        """The line of ``part`` (zero tokens when the call has none)."""
        for line in self.lines:
            if line.part == part:
                return line
        return LedgerLine(part, 0)

    @property
    def input_tokens(self) -> int:
        """The input lines' sum: the reported input total, by construction."""
        return sum(line.tokens for line in self.lines if line.part in INPUT_PARTS)


@dataclass(frozen=True)
class TokenLedger:
    """Where a run's tokens went: one ``CallLedger`` per model call.

    Attributes:
        calls: The calls, in order.
        tools_called: Names of the tools the model called during the run.
        cascade: What the run's cascade saved, estimated against its last
            model (None when the run had no cascade).
    """

    calls: tuple[CallLedger, ...]
    tools_called: frozenset[str] = frozenset()
    cascade: CascadeSaving | None = None

    @property
    def hit_rate(self) -> float | None:
        """The run's prompt-cache hit rate: cached input over input, all calls summed."""
        total = sum(c.usage.input_tokens for c in self.calls)
        if total <= 0:
            return None
        return sum(c.usage.cache_read_input_tokens for c in self.calls) / total

    @property
    def compacted_tokens(self) -> int:
        """Input tokens history compaction kept out of the run's calls (estimated)."""
        return sum(c.compacted_tokens for c in self.calls)

    def totals(self) -> dict[str, LedgerLine]:
        """Each part summed over the calls (a cost is None when any call's is)."""
        sums: dict[str, LedgerLine] = {}
        for call in self.calls:
            for line in call.lines:
                old = sums.get(line.part)
                if old is None:
                    sums[line.part] = line
                    continue
                cost = (
                    None
                    if old.cost_usd is None or line.cost_usd is None
                    else old.cost_usd + line.cost_usd
                )
                sums[line.part] = LedgerLine(
                    line.part,
                    old.tokens + line.tokens,
                    old.cached_tokens + line.cached_tokens,
                    old.cache_write_tokens + line.cache_write_tokens,
                    cost,
                )
        return sums


def tool_definition_text(tool: ToolDefinition) -> str:
    """The neutral text of a tool definition that estimates count: name, description, schema."""
    data: dict[str, Any] = {"name": tool.name, "parameters": tool.input_schema}
    if tool.description:
        data["description"] = tool.description
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _part_text(part: Part) -> str:
    match part:
        case TextPart():
            return part.text
        case ToolCallPart():
            arguments = part.raw_arguments or json.dumps(part.arguments, ensure_ascii=False)
            return f"{part.name}{arguments}"
        case ToolResultPart():
            text = part.text
            if part.structured_content is not None and not text:
                text = json.dumps(part.structured_content, ensure_ascii=False)
            return text
        case ReasoningPart():
            return part.text or ""
        case ResourcePart():
            return part.text or ""
        case ImagePart() | AudioPart():
            # Providers price media by size or duration, not by bytes of
            # base64: left to the unattributed line rather than guessed.
            return ""
        case _:
            assert_never(part)


def _message_text(message: Message) -> str:
    return "".join(_part_text(p) for p in message.parts)


def _byte_counter(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN) if text else 0


def _counter(adapter: Any) -> tuple[Counter, str]:
    """The adapter's own offline tokenizer when it has one, else bytes; and the method."""
    count = getattr(adapter, "count_tokens", None)
    if callable(count):
        name = f"{adapter.provider}:{adapter.model_id}"
        return count, f"{name}'s own tokenizer (offline)"
    return _byte_counter, f"UTF-8 bytes / {BYTES_PER_TOKEN:g} per token"


def _split(messages: Sequence[Message]) -> dict[str, list[Message]]:
    """Messages by part: system, earlier conversation, new tool results, new user input."""
    last_answer = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=-1)
    parts: dict[str, list[Message]] = {
        "instructions": [],
        "history": [],
        "tool_results": [],
        "new_input": [],
    }
    for i, message in enumerate(messages):
        if message.role == "system":
            parts["instructions"].append(message)
        elif i <= last_answer:
            parts["history"].append(message)
        elif message.role == "tool":
            parts["tool_results"].append(message)
        else:
            parts["new_input"].append(message)
    return parts


def _digest(texts: Iterable[str]) -> str:
    """A short digest of texts in order; equal digests mean identical texts."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def _price(model: str, usage: Usage) -> float | None:
    from ._cost import price_usage

    return price_usage(model, usage).cost_usd


def _call_ledger(turn: int, call: CallRecord, messages: Sequence[Message]) -> CallLedger:
    response = call.response
    model = f"{response.provider}:{response.model_id}"
    usage = response.usage or Usage()
    count, method = _counter(call.adapter)
    request = call.request
    sent = request.messages if request is not None else messages[: call.sent]
    split = _split(sent)
    estimates: dict[str, int] = {
        name: sum(count(_message_text(m)) for m in group) for name, group in split.items()
    }
    tools: dict[str, int] = {}
    if request is not None:
        tools = {t.name: count(tool_definition_text(t)) for t in request.tools}
        method += "; tool definitions as neutral JSON (name, description, schema)"
    else:
        method += "; the request was not recorded, so tool definitions are in unattributed"
    compacted = 0
    if request is not None:
        # The whole conversation so far against what was sent: equal unless a
        # compaction policy shortened it (system messages are the prefix, not history).
        whole = sum(count(_message_text(m)) for m in messages[: call.sent] if m.role != "system")
        sent_history = sum(count(_message_text(m)) for m in sent if m.role != "system")
        compacted = max(0, whole - sent_history)
    estimates["tool_definitions"] = sum(tools.values())
    estimated = sum(estimates.values())
    estimates["unattributed"] = usage.input_tokens - estimated
    lines = _priced_input(model, usage, estimates)
    reasoning = min(usage.reasoning_output_tokens, usage.output_tokens)
    visible = usage.output_tokens - reasoning
    lines.append(LedgerLine("output", visible, cost_usd=_price(model, _out(visible))))
    lines.append(LedgerLine("reasoning", reasoning, cost_usd=_price(model, _out(reasoning))))
    return CallLedger(
        turn=turn,
        model=model,
        method=method,
        usage=usage,
        lines=tuple(lines),
        tools=tools,
        instructions_digest=_digest(_message_text(m) for m in split["instructions"]),
        tools_digest=_digest(tool_definition_text(t) for t in request.tools) if request else "",
        tools_known=request is not None,
        compacted_tokens=compacted,
    )


def _out(tokens: int) -> Usage:
    return Usage(input_tokens=0, output_tokens=tokens)


def _priced_input(model: str, usage: Usage, estimates: dict[str, int]) -> list[LedgerLine]:
    """Input lines in prompt order, the cached tokens allocated from the start.

    A provider's prompt cache covers the longest unchanged beginning of the
    prompt, so cache reads are given to the first parts, then cache writes.
    """
    read_left = usage.cache_read_input_tokens
    write_left = usage.cache_creation_input_tokens
    lines: list[LedgerLine] = []
    for part in INPUT_PARTS:
        tokens = estimates[part]
        if tokens < 0:
            # The estimates overshot the reported total: this line takes the
            # excess back, tokens and price alike.
            cost = _price(model, Usage(input_tokens=-tokens, output_tokens=0))
            lines.append(LedgerLine(part, tokens, cost_usd=None if cost is None else -cost))
            continue
        # Every positive part together is at least the reported total, which
        # holds the cached tokens, so the allocation always runs out here.
        read = min(read_left, tokens)
        write = min(write_left, tokens - read)
        read_left, write_left = read_left - read, write_left - write
        priced = Usage(
            input_tokens=tokens,
            output_tokens=0,
            cache_read_input_tokens=read,
            cache_creation_input_tokens=write,
        )
        lines.append(LedgerLine(part, tokens, read, write, _price(model, priced)))
    return lines


def token_ledger(result: RunResult) -> TokenLedger:
    """The token ledger of a run: every model call's input split and priced.

    Args:
        result: A finished run (``run()``'s result, or ``fold_events``' of a
            recorded stream, whose tool definitions are then unknown).

    Returns:
        One ``CallLedger`` per model call; each call's input lines sum to
        the reported input total exactly, ``unattributed`` holding the rest.
    """
    messages = result.messages
    calls = tuple(_call_ledger(n, call, messages) for n, call in enumerate(result.calls, 1))
    called = frozenset(
        part.name
        for message in messages
        if message.role == "assistant"
        for part in message.parts
        if isinstance(part, ToolCallPart)
    )
    from ._cascade import cascade_saving

    return TokenLedger(calls=calls, tools_called=called, cascade=cascade_saving(result))


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.6f}"


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def format_ledger(ledger: TokenLedger) -> str:
    """The ledger as a plain-text table: one row per part, one column per call, a total."""
    if not ledger.calls:
        return "no model calls"
    names = [*INPUT_PARTS, "output", "reasoning"]
    headers = ["part"] + [f"call {c.turn}" for c in ledger.calls] + ["total", "cached", "cost"]
    totals = ledger.totals()
    rows = [headers]
    for name in names:
        total = totals.get(name, LedgerLine(name, 0))
        rows.append(
            [name.replace("_", " ")]
            + [str(c.line(name).tokens) for c in ledger.calls]
            + [str(total.tokens), str(total.cached_tokens), _money(total.cost_usd)]
        )
    reported = [str(c.usage.input_tokens) for c in ledger.calls]
    rows.append(
        ["reported input", *reported, str(sum(c.usage.input_tokens for c in ledger.calls)), "", ""]
    )
    rows.append(
        [
            "cache hit rate",
            *(_rate(c.hit_rate) for c in ledger.calls),
            _rate(ledger.hit_rate),
            "",
            "",
        ]
    )
    if ledger.compacted_tokens:
        saved = [str(c.compacted_tokens) for c in ledger.calls]
        rows.append(["compaction saved", *saved, str(ledger.compacted_tokens), "", ""])
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    methods = sorted({f"{c.model}: {c.method}" for c in ledger.calls})
    lines += ["estimated with " + m for m in methods]
    if ledger.cascade is not None:
        from ._cascade import format_saving

        lines.append(format_saving(ledger.cascade))
    return "\n".join(lines)
