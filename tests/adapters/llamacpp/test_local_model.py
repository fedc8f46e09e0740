"""The real local model (SmolLM2-135M through llama-cpp-python), not a fake.

These load the 98 MB model once per test session and run it on the CPU:
a plain answer, a constrained tool call, the example agent's tool loop to a
final answer, structured output, streaming, and cancellation mid-answer.
"""

from __future__ import annotations

import json
import time
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from agentkit_adapters.llamacpp import LlamaCppAdapter

from agentkit import (
    Agent,
    Message,
    ModelRequest,
    ModelSettings,
    TextDeltaEvent,
    ToolDefinition,
    load_agent,
    run,
    run_stream,
)

pytestmark = pytest.mark.anyio

EXAMPLE = Path(__file__).parents[3] / "examples" / "weather" / "agent.yaml"

WEATHER = ToolDefinition(
    name="get_weather",
    description="Get the current weather in a city.",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city's name"}},
        "required": ["city"],
    },
)


async def _lock_frees_within(adapter: LlamaCppAdapter, seconds: float) -> bool:
    lock = adapter.model().lock
    acquired = await anyio.to_thread.run_sync(lambda: lock.acquire(timeout=seconds))
    if acquired:
        lock.release()
    return bool(acquired)


@pytest.fixture(scope="module")
def local() -> LlamaCppAdapter:
    return LlamaCppAdapter("smollm2-135m")


async def test_plain_answer(local: LlamaCppAdapter) -> None:
    request = ModelRequest(
        messages=[Message.user("What is the capital of France? Answer in one sentence.")],
        settings=ModelSettings(max_tokens=48),
    )
    response = await local.generate(request)
    assert "Paris" in response.message.text
    assert response.finish_reason in ("stop", "length")
    assert response.usage is not None
    assert response.usage.input_tokens > 10
    assert 0 < response.usage.output_tokens <= 48
    assert response.provider == "llamacpp"


async def test_constrained_tool_call(local: LlamaCppAdapter) -> None:
    request = ModelRequest(
        messages=[Message.user("What's the weather in Paris?")],
        tools=[WEATHER],
        settings=ModelSettings(max_tokens=64),
    )
    response = await local.generate(request)
    [call] = response.message.tool_calls
    assert call.name == "get_weather"
    assert call.raw_arguments is None
    assert isinstance(call.arguments["city"], str)
    assert "paris" in call.arguments["city"].lower()
    assert response.finish_reason == "tool_calls"


async def test_example_agent_tool_loop_reaches_a_final_answer(local: LlamaCppAdapter) -> None:
    agent = load_agent(EXAMPLE)
    result = await run(agent, "What's the weather in Paris?", model=local)
    roles = [m.role for m in result.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    call = result.messages[2].tool_calls[0]
    assert call.name == "get_weather"
    tool_result = result.messages[3].parts[0]
    assert not tool_result.is_error  # type: ignore[union-attr]
    assert isinstance(result.output, str)
    assert result.output.strip()
    assert result.turns == 2
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0


async def test_structured_output_matches_the_schema(local: LlamaCppAdapter) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "country": {"type": "string"},
            "population_millions": {"type": "number"},
        },
        "required": ["city", "country", "population_millions"],
        "additionalProperties": False,
    }
    agent = Agent(
        name="facts",
        instructions="You answer with facts about cities.",
        output_schema=schema,
        settings=ModelSettings(max_tokens=96),
    )
    result = await run(agent, "Give facts about Paris.", model=local)
    assert set(result.output) == {"city", "country", "population_millions"}
    assert isinstance(result.output["population_millions"], int | float)
    from jsonschema import Draft202012Validator

    Draft202012Validator(schema).validate(result.output)


async def test_streaming_deltas_make_the_answer(local: LlamaCppAdapter) -> None:
    agent = Agent(name="s", instructions="Answer briefly.", settings=ModelSettings(max_tokens=60))
    events = [e async for e in run_stream(agent, "Describe the sea in two sentences.", model=local)]
    deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
    assert len(deltas) > 2  # the answer arrived in pieces, not at the end
    final = events[-1]
    assert final.type == "run_end"
    assert "".join(deltas) == final.result.output  # type: ignore[union-attr]
    assert not final.result.output.startswith("{")  # type: ignore[union-attr]  # protocol hidden


async def test_cancellation_stops_generation_and_frees_the_model(local: LlamaCppAdapter) -> None:
    request = ModelRequest(
        messages=[Message.user("Write a long story about a lighthouse keeper.")],
        settings=ModelSettings(max_tokens=400),
    )
    received = 0
    started = time.perf_counter()
    async with aclosing(local.stream(request)) as events:  # type: ignore[type-var]
        async for event in events:
            if event.type == "text_delta":
                received += 1
                if received == 3:
                    break
    stopped = time.perf_counter() - started
    # The worker lets go of the model at the next token, not after 400 of them.
    assert await _lock_frees_within(local, 5)
    assert received == 3
    # And the model answers the next call normally.
    follow = await local.generate(
        ModelRequest(messages=[Message.user("Say hi.")], settings=ModelSettings(max_tokens=8))
    )
    assert follow.usage is not None
    assert follow.usage.output_tokens <= 8
    assert stopped < 60


async def test_cancel_scope_cancels_a_run(local: LlamaCppAdapter) -> None:
    agent = Agent(name="c", settings=ModelSettings(max_tokens=400))
    with anyio.move_on_after(0.5) as scope:
        await run(agent, "Write a long essay about the sea.", model=local)
    assert scope.cancelled_caught
    assert await _lock_frees_within(local, 5)


async def test_concurrent_runs_share_one_model(local: LlamaCppAdapter) -> None:
    from agentkit_adapters.llamacpp import _runtime

    agent = Agent(name="p", settings=ModelSettings(max_tokens=12))
    results: list[Any] = []

    async def one(question: str) -> None:
        results.append(await run(agent, question, model=local))

    async with anyio.create_task_group() as group:
        for question in ("Say one.", "Say two.", "Say three."):
            group.start_soon(one, question)
    assert len(results) == 3
    assert len({id(m) for m in _runtime._models.values()}) == len(_runtime._models) == 1
    assert all(json.dumps(r.output) for r in results)


async def test_a_prompt_over_the_context_window_is_a_context_length_error(
    local: LlamaCppAdapter,
) -> None:
    from agentkit.exceptions import ContextLengthError

    long = "word " * (local.n_ctx + 500)
    started = time.perf_counter()
    with pytest.raises(ContextLengthError, match=r"the window 4096") as info:
        async for _ in local.stream(ModelRequest(messages=[Message.user(long)])):
            pass
    assert time.perf_counter() - started < 10  # refused before any generation
    assert info.value.body["context_window"] == local.n_ctx
    assert info.value.body["prompt_tokens"] > local.n_ctx
    assert f"the prompt is {info.value.body['prompt_tokens']} tokens" in str(info.value)
    # The model is free again for the next call.
    assert await _lock_frees_within(local, 5)
