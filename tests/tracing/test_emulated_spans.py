"""Spans of runs against the wire emulators: what the provider put on the wire reaches the span."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from agentkit import Agent, Message, ModelRequest, ModelResponse, ToolCallPart, Usage, run
from agentkit import tool as make_tool
from agentkit.testing import AnthropicEmulator, OpenAIChatEmulator, serve_asgi

from .conftest import Spans

pytestmark = pytest.mark.anyio


@make_tool
def get_weather(city: str) -> str:
    """Weather in a city.

    Args:
        city: City name.
    """
    return f"{city}: 21C, sunny"


AGENT = Agent(name="weather", tools=[get_weather])


def cached_model(request: ModelRequest) -> Any:
    """Asks for the weather, then answers; each answer reports cached prompt tokens."""
    if request.messages[-1].role == "user":
        message = Message(
            role="assistant",
            parts=[ToolCallPart(id="call_7", name="get_weather", arguments={"city": "Oslo"})],
        )
        finish = "tool_calls"
    else:
        message, finish = Message.assistant("Mild in Oslo."), "stop"
    return ModelResponse(
        message=message,
        finish_reason=finish,
        usage=Usage(
            input_tokens=1200,
            output_tokens=30,
            cache_read_input_tokens=1024,
            cache_creation_input_tokens=100,
        ),
        provider="emulated",
        model_id="emulated",
        response_id=f"resp-{len(request.messages)}",
    )


@pytest.mark.parametrize("stream", [False, True])
async def test_openai_wire_cached_tokens_reach_the_chat_span(spans: Spans, stream: bool) -> None:
    emulator = OpenAIChatEmulator(cached_model)
    with serve_asgi(emulator) as url:
        options = {"base_url": f"{url}/v1", "api_key": "sk-test-planted"}
        if stream:
            from agentkit import run_stream

            async for _ in run_stream(
                AGENT, "Oslo?", model="openai:gpt-4.1-mini", model_options=options
            ):
                pass
        else:
            await run(AGENT, "Oslo?", model="openai:gpt-4.1-mini", model_options=options)

    chats = sorted(spans.named("chat gpt-4.1-mini"), key=lambda s: s.start_time or 0)
    assert len(chats) == 2
    first = chats[0].attributes or {}
    assert chats[0].kind is SpanKind.CLIENT
    assert first["gen_ai.provider.name"] == "openai"
    assert first["gen_ai.request.model"] == "gpt-4.1-mini"
    assert first["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert first["gen_ai.response.id"]
    assert first["gen_ai.usage.input_tokens"] == 1200
    assert first["gen_ai.usage.output_tokens"] == 30
    # OpenAI's wire has cached reads (prompt_tokens_details.cached_tokens), no cache writes.
    assert first["gen_ai.usage.cache_read.input_tokens"] == 1024
    assert "gen_ai.usage.cache_creation.input_tokens" not in first
    tool_span = spans.one("execute_tool get_weather").attributes or {}
    assert tool_span["gen_ai.tool.call.id"] == "call_7"
    root = spans.one("invoke_agent weather").attributes or {}
    assert root["gen_ai.usage.cache_read.input_tokens"] == 2048


async def test_anthropic_wire_cache_writes_reach_the_chat_span(spans: Spans) -> None:
    emulator = AnthropicEmulator(cached_model)
    with serve_asgi(emulator) as url:
        options = {"base_url": url, "api_key": "sk-test-planted"}
        await run(AGENT, "Oslo?", model="anthropic:claude-sonnet-4-5", model_options=options)

    chats = sorted(spans.named("chat claude-sonnet-4-5"), key=lambda s: s.start_time or 0)
    first = chats[0].attributes or {}
    assert first["gen_ai.provider.name"] == "anthropic"
    assert first["gen_ai.usage.cache_read.input_tokens"] == 1024
    assert first["gen_ai.usage.cache_creation.input_tokens"] == 100
    assert (
        first["gen_ai.usage.input_tokens"] == 1200
    )  # cached ones included, as the conventions say
