"""The token ledger: each call's input split into parts that sum to the reported total."""

from __future__ import annotations

import math
from typing import Any

import pytest

from agentkit import (
    Agent,
    Message,
    ModelRequest,
    ModelResponse,
    ToolCallPart,
    ToolResultPart,
    Usage,
    fold_events,
    run_stream,
    run_sync,
    tool,
)
from agentkit._cost import price_usage
from agentkit._ledger import BYTES_PER_TOKEN, INPUT_PARTS, tool_definition_text
from agentkit.testing import FunctionAdapter, OpenAIChatEmulator, serve_asgi

QUESTION = "What is the weather in Paris?"
INSTRUCTIONS = "Answer in one sentence."


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: The city's name.
    """
    return f"sunny and 21C in {city}"


@tool
def get_tides(port: str, days: int = 1) -> str:
    """Get the tide tables of a port.

    Args:
        port: The port's name.
        days: How many days ahead.
    """
    return "high at noon"


def weather_model(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        return [ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})]
    return "It is sunny in Paris."


def by_bytes(text: str) -> int:
    return math.ceil(len(text.encode()) / BYTES_PER_TOKEN)


def agent(instructions: str = INSTRUCTIONS) -> Agent:
    return Agent(name="weather", instructions=instructions, tools=[get_weather, get_tides])


def input_sum(call: Any) -> int:
    return sum(call.line(part).tokens for part in INPUT_PARTS)


def test_parts_sum_to_the_reported_total_with_the_rest_on_its_own_line() -> None:
    result = run_sync(agent(), QUESTION, model=FunctionAdapter(weather_model))
    ledger = result.ledger
    assert len(ledger.calls) == 2
    for call, response in zip(ledger.calls, (c.response for c in result.calls), strict=True):
        assert response.usage is not None
        assert input_sum(call) == response.usage.input_tokens == call.input_tokens
        estimated = sum(call.line(p).tokens for p in INPUT_PARTS if p != "unattributed")
        assert call.line("unattributed").tokens == response.usage.input_tokens - estimated
        # FunctionAdapter counts only message parts, not tools: the estimates
        # overshoot and the unattributed line is negative, shown, not hidden.
        assert call.line("unattributed").tokens < 0
        assert call.line("output").tokens == response.usage.output_tokens
    assert "bytes / 4" in ledger.calls[0].method


def test_the_split_follows_what_each_call_was_sent() -> None:
    result = run_sync(agent(), QUESTION, model=FunctionAdapter(weather_model))
    first, second = result.ledger.calls
    tools = {t.name: by_bytes(tool_definition_text(t)) for t in result.calls[0].request.tools}  # type: ignore[union-attr]
    assert set(tools) == {"get_weather", "get_tides"}
    for call in (first, second):
        assert call.line("instructions").tokens == by_bytes(INSTRUCTIONS)
        assert call.line("tool_definitions").tokens == sum(tools.values())
        assert call.tools == tools
    # The first call: the question is new input, there is no history yet.
    assert first.line("new_input").tokens == by_bytes(QUESTION)
    assert first.line("history").tokens == 0
    assert first.line("tool_results").tokens == 0
    # The second: question and tool call are history, the result is new.
    call_text = 'get_weather{"city": "Paris"}'
    assert second.line("history").tokens == by_bytes(QUESTION) + by_bytes(call_text)
    assert second.line("tool_results").tokens == by_bytes("sunny and 21C in Paris")
    assert second.line("new_input").tokens == 0
    assert result.ledger.tools_called == {"get_weather"}


def test_unknown_prices_stay_none() -> None:
    result = run_sync(agent(), QUESTION, model=FunctionAdapter(weather_model))
    lines = [line for call in result.ledger.calls for line in call.lines]
    assert lines
    assert all(line.cost_usd is None for line in lines)
    assert all(line.cost_usd is None for line in result.ledger.totals().values())


def test_the_ledger_is_computed_on_first_access_only() -> None:
    result = run_sync(agent(), QUESTION, model=FunctionAdapter(weather_model))
    assert result._ledger is None
    ledger = result.ledger
    assert result.ledger is ledger


def test_a_recorded_stream_has_a_ledger_without_tool_definitions() -> None:
    async def events() -> list[Any]:
        return [
            e async for e in run_stream(agent(), QUESTION, model=FunctionAdapter(weather_model))
        ]

    import anyio

    recorded = anyio.run(events)
    result = fold_events(recorded[:-1])
    assert [c.request for c in result.calls] == [None, None]
    for call in result.ledger.calls:
        assert not call.tools_known
        assert call.line("tool_definitions").tokens == 0
        assert call.input_tokens == call.usage.input_tokens
        assert "not recorded" in call.method
    # The messages each call was sent are still known from the fold.
    assert result.ledger.calls[1].line("tool_results").tokens == by_bytes("sunny and 21C in Paris")


def cached_model(request: ModelRequest) -> Any:
    if not any(m.role == "tool" for m in request.messages):
        message = Message(
            role="assistant",
            parts=[ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})],
        )
        usage = Usage(input_tokens=300, output_tokens=12, cache_creation_input_tokens=0)
        finish = "tool_calls"
    else:
        message = Message.assistant("It is sunny in Paris.")
        usage = Usage(
            input_tokens=420,
            output_tokens=9,
            cache_read_input_tokens=256,
            reasoning_output_tokens=4,
        )
        finish = "stop"
    return ModelResponse(
        message=message, finish_reason=finish, usage=usage, provider="x", model_id="emulated"
    )


@pytest.mark.parametrize("stream", [True, False])
def test_an_emulated_provider_with_cached_tokens_is_split_and_priced(stream: bool) -> None:
    emulator = OpenAIChatEmulator(cached_model)
    with serve_asgi(emulator) as url:

        async def go() -> Any:
            final = None
            async for event in run_stream(
                agent(),
                QUESTION,
                model="openai:gpt-4.1-mini",
                stream=stream,
                model_options={"base_url": f"{url}/v1", "api_key": "sk-test-planted"},
            ):
                final = event
            assert final is not None
            return final.result  # type: ignore[attr-defined]

        import anyio

        result = anyio.run(go)
    first, second = result.ledger.calls
    assert (first.usage.input_tokens, second.usage.input_tokens) == (300, 420)
    assert input_sum(first) == 300
    assert input_sum(second) == 420
    assert second.usage.cache_read_input_tokens == 256
    # Cache reads cover the start of the prompt: instructions, then tools, ...
    cached = {part: second.line(part).cached_tokens for part in INPUT_PARTS}
    assert sum(cached.values()) == 256
    assert cached["instructions"] == second.line("instructions").tokens
    assert cached["tool_definitions"] == second.line("tool_definitions").tokens
    assert second.line("tool_results").tokens == by_bytes("sunny and 21C in Paris")
    # Reasoning is split out of the reported output.
    assert (second.line("output").tokens, second.line("reasoning").tokens) == (5, 4)
    # gpt-4.1-mini has a price: the parts' prices add up to the call's.
    whole = price_usage("openai:gpt-4.1-mini", second.usage.model_copy(update={"output_tokens": 0}))
    parts = sum(second.line(p).cost_usd or 0.0 for p in INPUT_PARTS)
    assert whole.cost_usd is not None
    assert whole.cost_usd > 0
    assert parts == pytest.approx(whole.cost_usd, rel=1e-9)
    # A cached token is cheaper than a fresh one.
    instructions = second.line("instructions")
    fresh = price_usage("openai:gpt-4.1-mini", Usage(input_tokens=instructions.tokens))
    assert instructions.cost_usd is not None
    assert fresh.cost_usd is not None
    assert instructions.cost_usd < fresh.cost_usd


def test_ledger_results_compare_by_outcome() -> None:
    model = FunctionAdapter(weather_model)
    one = run_sync(agent(), QUESTION, model=model)
    two = run_sync(agent(), QUESTION, model=model)
    assert one == two
    assert one.calls[0].request is not two.calls[0].request


def test_tool_results_of_earlier_turns_are_history() -> None:
    def twice(request: ModelRequest) -> Any:
        rounds = sum(m.role == "tool" for m in request.messages)
        if rounds < 2:
            return [ToolCallPart(id=f"c{rounds}", name="get_weather", arguments={"city": "Oslo"})]
        return "done"

    result = run_sync(agent(), QUESTION, model=FunctionAdapter(twice))
    third = result.ledger.calls[2]
    last = result.calls[2].request
    assert last is not None
    earlier = next(m for m in last.messages if m.role == "tool")
    assert isinstance(earlier.parts[0], ToolResultPart)
    assert third.line("tool_results").tokens == by_bytes(earlier.parts[0].text)
    assert third.line("history").tokens > third.line("tool_results").tokens


def test_the_local_model_is_counted_with_its_own_tokenizer() -> None:
    from agentkit._registry import resolve_model

    local = resolve_model("llamacpp:smollm2-135m")
    result = run_sync(agent(), QUESTION, model=local)
    first = result.ledger.calls[0]
    assert "own tokenizer" in first.method
    count = local.count_tokens  # type: ignore[attr-defined]
    assert first.line("instructions").tokens == count(INSTRUCTIONS)
    assert first.line("new_input").tokens == count(QUESTION)
    # The GGUF vocabulary, not bytes: the two disagree on this text.
    assert count(QUESTION) != by_bytes(QUESTION)
    assert first.input_tokens == first.usage.input_tokens
