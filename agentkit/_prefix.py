"""What an agent's fixed prefix costs on a provider, measured without calling the model.

The fixed prefix is what every call of a run sends before the conversation:
the instructions and the tool definitions (with the output schema, as the
output mode plans it). It is measured on the request body the provider's own
adapter would send (``adapter.request_body``), so each dialect's schema
compilation counts: OpenAI's strict schemas, Gemini's subset, Anthropic's
``input_schema``. A part's size is the body's size with it minus without it.
"""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from ._ledger import BYTES_PER_TOKEN, Counter, _byte_counter, tool_definition_text
from ._messages import Message, Usage

if TYPE_CHECKING:
    from ._agent import Agent
    from ._model import ModelAdapter, ModelRequest

__all__ = ["PrefixCost", "measure_prefix", "prefix_adapter"]

#: Where a measuring adapter would send requests, if it ever did: a closed port.
_NOWHERE = "http://127.0.0.1:9"


@dataclass(frozen=True)
class PrefixCost:
    """The fixed prefix of an agent on one model.

    Attributes:
        model: ``provider:model``.
        instructions: Tokens of the instructions (and a prompted output schema).
        tools: Tokens of the tool definitions (and an output tool).
        method: How the tokens were estimated.
        cost_usd: The prefix's price per call, uncached, or None when unknown.
        cached_cost_usd: The same when read from the provider's prompt cache.
    """

    model: str
    instructions: int
    tools: int
    method: str
    cost_usd: float | None
    cached_cost_usd: float | None

    @property
    def tokens(self) -> int:
        """The whole prefix."""
        return self.instructions + self.tools


def prefix_adapter(model: str) -> ModelAdapter:
    """The adapter of ``model``, built to measure requests: a placeholder key, a closed port.

    In-process adapters, which take no connection options, are built without them.
    """
    from ._registry import resolve_model, wire_protocol

    provider = model.partition(":")[0]
    if wire_protocol(provider) is None and provider == "llamacpp":
        return resolve_model(model)
    return resolve_model(model, api_key="placeholder", base_url=_NOWHERE)


def _body_size(adapter: ModelAdapter, request: ModelRequest, count: Counter) -> int:
    body = getattr(adapter, "request_body", None)
    if callable(body):
        data: Any = body(request)
    else:
        # An adapter without the hook: the neutral request, as a stand-in.
        data = {
            "messages": [m.model_dump(mode="json") for m in request.messages],
            "tools": [tool_definition_text(t) for t in request.tools],
        }
    return count(json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str))


async def measure_prefix(agent: Agent, model: str) -> PrefixCost:
    """Measure ``agent``'s fixed prefix on ``model`` without calling it.

    Raises:
        UserError: the model or the agent's tools cannot be set up.
    """
    from ._cost import price_usage
    from ._modelcall import ModelCalls
    from ._output import plan_output_mode
    from ._policy import check_capabilities
    from ._toolindex import ToolIndex

    adapter = prefix_adapter(model)
    async with AsyncExitStack() as stack:
        for toolset in agent.toolsets:
            if isinstance(toolset, AbstractAsyncContextManager):
                await stack.enter_async_context(toolset)
        index = await ToolIndex.build(agent.toolsets)

    def request(*, instructions: bool, tools: bool) -> ModelRequest:
        messages = (
            [Message.system(agent.instructions)] if instructions and agent.instructions else []
        )
        messages.append(Message.user("."))
        # The runner's own request builder, so output modes shape it the same way.
        state = SimpleNamespace(
            agent=agent,
            fold=SimpleNamespace(messages=messages),
            index=index if tools else ToolIndex(),
            settings=agent.settings,
        )
        built: ModelRequest = ModelCalls._request(
            cast(Any, state), plan_output_mode(agent, adapter)
        )
        if not tools:
            built = replace(built, tools=[], tool_choice=None)
        return check_capabilities(built, adapter)[0]

    count_tokens = getattr(adapter, "count_tokens", None)
    count: Counter = count_tokens if callable(count_tokens) else _byte_counter
    method = (
        f"{model}'s own tokenizer on the request body"
        if callable(count_tokens)
        else f"request body bytes / {BYTES_PER_TOKEN:g}"
    )
    full = _body_size(adapter, request(instructions=True, tools=True), count)
    no_tools = _body_size(adapter, request(instructions=True, tools=False), count)
    bare = _body_size(adapter, request(instructions=False, tools=False), count)
    instructions, tools = max(no_tools - bare, 0), max(full - no_tools, 0)
    total = instructions + tools
    cost = price_usage(model, Usage(input_tokens=total, output_tokens=0)).cost_usd
    cached = price_usage(
        model, Usage(input_tokens=total, output_tokens=0, cache_read_input_tokens=total)
    ).cost_usd
    return PrefixCost(model, instructions, tools, method, cost, cached)


def format_prefixes(costs: list[PrefixCost]) -> str:
    """Prefix costs side by side, one row per model."""
    header = ["model", "instructions", "tools", "prefix", "$/call", "$/call cached", "method"]
    rows = [header]
    for c in costs:
        rows.append(
            [
                c.model,
                str(c.instructions),
                str(c.tools),
                str(c.tokens),
                "unknown" if c.cost_usd is None else f"{c.cost_usd:.6f}",
                "unknown" if c.cached_cost_usd is None else f"{c.cached_cost_usd:.6f}",
                c.method,
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i in (0, 6) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )
