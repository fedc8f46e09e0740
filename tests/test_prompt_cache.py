"""Prompt caching is one setting: each adapter sends its provider's fields, or says it cannot.

Wire fields checked against the recordings in ``tests/fixtures`` / the shared
real traffic: Anthropic's ``cache_control: {"type": "ephemeral"}`` (case
``anthropic/prompt_cache_write_then_read_system``), the ``prompt_cache_key``
and ``prompt_cache_retention`` fields echoed by the Responses API (case
``azure_openai/v1_responses_json_content_filters``), Gemini's
``cachedContentTokenCount``.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from agentkit_adapters.anthropic import to_anthropic_request
from agentkit_adapters.gemini import create_gemini_adapter
from agentkit_adapters.openai import OpenAIQuirks, to_openai_request
from agentkit_adapters.openai_compat import preset_adapter
from agentkit_adapters.openai_responses._convert import to_responses_request

from agentkit import (
    Agent,
    Capabilities,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    PromptCache,
    ToolCallPart,
    ToolDefinition,
    Usage,
    run,
    tool,
)
from agentkit._policy import check_capabilities
from agentkit.adapter import prefix_key
from agentkit.testing import FunctionAdapter, GeminiEmulator, serve_asgi

TOOL = ToolDefinition(
    name="get_weather",
    description="Weather for a city.",
    inputSchema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


def request(cache: bool | PromptCache | None, *, instructions: str = "Be brief.") -> ModelRequest:
    return ModelRequest(
        messages=[Message.system(instructions), Message.user("Weather in Paris?")],
        tools=[TOOL],
        settings=ModelSettings(prompt_cache=cache),
    )


def test_the_prefix_key_is_stable_per_agent_and_changes_with_its_prefix() -> None:
    first = request(True)
    later = ModelRequest(
        messages=[*first.messages, Message.assistant("Sunny."), Message.user("And Rome?")],
        tools=[TOOL],
    )
    assert prefix_key(first) == prefix_key(later)
    assert prefix_key(first) != prefix_key(request(True, instructions="Be verbose."))
    assert len(prefix_key(first)) <= 64  # OpenAI's limit


def test_openai_chat_sends_the_key_and_extended_retention() -> None:
    body, warnings = to_openai_request(request(True), model_id="gpt-4.1-mini", stream=False)
    assert body["prompt_cache_key"] == prefix_key(request(True))
    assert "prompt_cache_retention" not in body
    assert warnings == []
    long = PromptCache(key="my-agent", ttl=86400)
    body, _ = to_openai_request(request(long), model_id="gpt-4.1-mini", stream=False)
    assert (body["prompt_cache_key"], body["prompt_cache_retention"]) == ("my-agent", "24h")
    plain, _ = to_openai_request(request(None), model_id="gpt-4.1-mini", stream=False)
    assert "prompt_cache_key" not in plain


def test_a_host_without_the_fields_gets_a_warning_not_a_field() -> None:
    quirks = OpenAIQuirks(prompt_cache_fields=False)
    body, warnings = to_openai_request(request(True), model_id="m", stream=False, quirks=quirks)
    assert "prompt_cache_key" not in body
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "prompt_cache")]


def test_responses_sends_the_key_and_an_open_responses_host_no_retention() -> None:
    long = request(PromptCache(ttl=7200))
    body = to_responses_request(long, model_id="gpt-5-mini", stream=False).body
    assert body["prompt_cache_key"] == prefix_key(long)
    assert body["prompt_cache_retention"] == "24h"
    prepared = to_responses_request(long, model_id="m", stream=False, cache_retention=False)
    assert "prompt_cache_retention" not in prepared.body
    assert prepared.body["prompt_cache_key"] == prefix_key(long)
    assert [w.feature for w in prepared.warnings] == ["prompt_cache.ttl"]


def test_anthropic_marks_the_stable_prefix_from_the_setting() -> None:
    body, _ = to_anthropic_request(request(True), model_id="claude-sonnet-4-5", stream=False)
    ephemeral = {"type": "ephemeral"}
    assert body["tools"][-1]["cache_control"] == ephemeral
    assert body["system"][-1]["cache_control"] == ephemeral
    assert body["messages"][-1]["content"][-1]["cache_control"] == ephemeral
    hour, _ = to_anthropic_request(
        request(PromptCache(ttl=3600)), model_id="claude-sonnet-4-5", stream=False
    )
    assert hour["system"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    plain, _ = to_anthropic_request(request(None), model_id="claude-sonnet-4-5", stream=False)
    assert "cache_control" not in repr(plain)


def test_a_provider_without_caching_says_the_setting_was_not_sent() -> None:
    ollama = preset_adapter("ollama-openai", "llama3.2", base_url="http://127.0.0.1:9/v1")
    checked, warnings = check_capabilities(request(True), ollama)
    assert checked.settings.prompt_cache is None
    assert [(w.kind, w.feature) for w in warnings] == [("unsupported_setting", "prompt_cache")]
    # prompt_cache: false asks for nothing, so nothing is said.
    _, quiet = check_capabilities(request(False), ollama)
    assert quiet == []


def test_a_run_with_caching_on_every_call_sends_the_setting() -> None:
    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return f"sunny in {city}"

    seen: list[Any] = []

    def model(req: ModelRequest) -> Any:
        seen.append(req.settings.prompt_cache)
        if not any(m.role == "tool" for m in req.messages):
            return [ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})]
        return "Sunny."

    agent = Agent(
        name="w",
        instructions="Be brief.",
        tools=[get_weather],
        settings=ModelSettings(prompt_cache=True),
    )
    caching = Capabilities(settings=Capabilities().settings | {"prompt_cache"})
    adapter = FunctionAdapter(model, capabilities=caching)
    result = anyio.run(lambda: run(agent, "Weather in Paris?", model=adapter))
    assert result.output == "Sunny."
    assert seen == [True, True]
    assert result.warnings == []
    # An adapter that does not declare the setting gets none, and the run says so once.
    seen.clear()
    result = anyio.run(lambda: run(agent, "Weather in Paris?", model=FunctionAdapter(model)))
    assert seen == [None, None]
    assert [(w.kind, w.feature) for w in result.warnings] == [
        ("unsupported_setting", "prompt_cache")
    ]


def cached_usage(req: ModelRequest) -> Any:
    """Answers with usage, so the emulator can report the cached part of it."""
    return ModelResponse(
        message=Message.assistant("Sunny."),
        finish_reason="stop",
        usage=Usage(input_tokens=5000, output_tokens=3),
        provider="x",
        model_id="emulated",
    )


LONG = "You are a weather assistant. " + "Always cite the station and the hour. " * 500


@pytest.mark.parametrize("stream", [False, True])
def test_gemini_stores_a_long_prefix_once_and_names_it_after(stream: bool) -> None:
    emulator = GeminiEmulator(cached_usage)
    with serve_asgi(emulator) as url:
        adapter = create_gemini_adapter("gemini-2.5-flash", base_url=url, api_key="k")

        async def call() -> ModelResponse:
            req = request(PromptCache(ttl=600), instructions=LONG)
            if not stream:
                return await adapter.generate(req)
            final = None
            async for event in adapter.stream(req):
                final = event
            return final.response  # type: ignore[union-attr]

        first = anyio.run(call)
        second = anyio.run(call)
    assert len(emulator.cached_contents) == 1  # created once, reused
    ((name, stored),) = emulator.cached_contents.items()
    assert stored["systemInstruction"]["parts"][0]["text"] == LONG
    assert [r["cachedContent"] for r in emulator.requests] == [name, name]
    # The request names the cache instead of carrying what it holds.
    assert not any("systemInstruction" in r or "tools" in r for r in emulator.requests)
    assert [w.feature for w in first.warnings] == ["prompt_cache"]
    assert name in first.warnings[0].message
    assert second.warnings == []
    assert second.usage is not None
    assert 0 < second.usage.cache_read_input_tokens <= 5000


def test_gemini_leaves_a_short_prefix_to_implicit_caching() -> None:
    emulator = GeminiEmulator(cached_usage)
    with serve_asgi(emulator) as url:
        adapter = create_gemini_adapter("gemini-2.5-flash", base_url=url, api_key="k")
        response = anyio.run(adapter.generate, request(True))
    assert emulator.cached_contents == {}
    assert "cachedContent" not in emulator.requests[0]
    assert emulator.requests[0]["systemInstruction"]["parts"][0]["text"] == "Be brief."
    assert response.warnings == []


def test_hit_rate_per_call_and_per_run() -> None:
    usages = iter(
        [
            Usage(input_tokens=1000, output_tokens=5),
            Usage(input_tokens=1200, output_tokens=5, cache_read_input_tokens=900),
        ]
    )

    def model(req: ModelRequest) -> Any:
        usage = next(usages)
        if usage.cache_read_input_tokens == 0:
            message = Message(
                role="assistant",
                parts=[ToolCallPart(id="c1", name="get_weather", arguments={"city": "Paris"})],
            )
        else:
            message = Message.assistant("Sunny.")
        return ModelResponse(
            message=message, finish_reason="stop", usage=usage, provider="f", model_id="m"
        )

    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    agent = Agent(name="w", instructions="Be brief.", tools=[get_weather])
    result = anyio.run(lambda: run(agent, "Weather?", model=FunctionAdapter(model)))
    first, second = result.ledger.calls
    assert (first.hit_rate, second.hit_rate) == (0.0, 0.75)
    assert result.ledger.hit_rate == pytest.approx(900 / 2200)
    from agentkit import format_ledger

    row = next(line for line in format_ledger(result.ledger).splitlines() if "hit rate" in line)
    assert row.split()[-3:] == ["0%", "75%", "41%"]


def test_hosts_are_configured_for_what_they_take() -> None:
    from agentkit._prefix import prefix_adapter

    long = request(PromptCache(ttl=7200))
    openrouter = prefix_adapter("openrouter-responses:openai/gpt-5-mini").request_body(long)
    assert "prompt_cache_key" in openrouter
    assert "prompt_cache_retention" not in openrouter
    azure = prefix_adapter("azure-responses:gpt-4.1-mini").request_body(long)
    assert azure["prompt_cache_retention"] == "24h"
    groq = prefix_adapter("groq:llama-3.3-70b").request_body(long)
    assert "prompt_cache_key" not in groq
    assert "prompt_cache" not in prefix_adapter("groq:llama-3.3-70b").capabilities.settings


def test_old_azure_api_versions_take_no_cache_key() -> None:
    from agentkit_adapters.azure import azure_chat_quirks

    assert azure_chat_quirks(None).prompt_cache_fields
    assert azure_chat_quirks("2024-10-21").prompt_cache_fields
    assert not azure_chat_quirks("2024-06-01").prompt_cache_fields
