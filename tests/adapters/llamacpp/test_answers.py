"""What the real local model does with a choice and with a tool's result.

SmolLM2-135M at temperature 0 through llama-cpp-python. Greedy output can
change with what llama.cpp's prefix cache holds from the previous call, so
each test clears the model's context first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from agentkit_adapters.llamacpp import LlamaCppAdapter

from agentkit import Message, ModelRequest, ModelSettings, ToolDefinition, load_agent, run

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

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


def _fresh(adapter: LlamaCppAdapter) -> LlamaCppAdapter:
    adapter.model().llama.reset()  # no prefix cache from an earlier test
    return adapter


async def test_free_choice_answers_a_question_that_needs_no_tool() -> None:
    # The grammar offers both a call and an answer; the model picks the answer.
    local = _fresh(LlamaCppAdapter("smollm2-135m", tools_first=False))
    response = await local.generate(
        ModelRequest(
            messages=[Message.user("What is 2+2?")],
            tools=[WEATHER],
            settings=ModelSettings(max_tokens=48),
        )
    )
    assert response.message.tool_calls == []
    assert response.finish_reason in ("stop", "length")
    assert response.message.text.strip()


async def test_the_answer_after_a_weather_result_states_its_values() -> None:
    local = _fresh(LlamaCppAdapter("smollm2-135m"))
    result = await run(load_agent(EXAMPLE), "What's the weather in Paris?", model=local)
    call = result.messages[2].tool_calls[0]
    assert call.name == "get_weather"
    assert call.arguments["city"].lower() == "paris"
    # examples/weather/weather_tools.py gives Paris 20 °C and windy.
    assert "20" in result.output
    assert "windy" in result.output.lower()


async def test_the_bundled_model_answers_a_greeting_instead_of_calling_a_tool() -> None:
    # Its draft call (get_weather for some city) has no support in "Hello!",
    # so the example agent answers without touching its tool.
    local = _fresh(LlamaCppAdapter("smollm2-135m"))
    result = await run(load_agent(EXAMPLE), "Hello!", model=local)
    assert [m.role for m in result.messages] == ["system", "user", "assistant"]
    assert result.messages[2].tool_calls == []
    assert isinstance(result.output, str)
    assert result.output.strip()
