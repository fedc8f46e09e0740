"""openai-agents: Agent and Runner on its chat-completions model, tracing off."""

import sys
import time
from pathlib import Path

started = time.perf_counter()
from agents import (  # noqa: E402
    Agent,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from openai import AsyncOpenAI  # noqa: E402

import_ms = (time.perf_counter() - started) * 1000
sys.path.insert(0, str(Path(__file__).parent))
from _harness import get_weather, main  # noqa: E402


def make(base_url: str):  # type: ignore[no-untyped-def]
    set_tracing_disabled(True)
    model = OpenAIChatCompletionsModel(
        model="gpt-4.1-mini", openai_client=AsyncOpenAI(base_url=base_url, api_key="k")
    )
    agent = Agent(
        name="weather", instructions="Be brief.", model=model, tools=[function_tool(get_weather)]
    )

    async def one() -> str:
        return str((await Runner.run(agent, "Weather in Paris?")).final_output)

    async def streamed() -> str:
        result = Runner.run_streamed(agent, "Weather in Paris?")
        async for _ in result.stream_events():
            pass
        return str(result.final_output)

    return one, streamed


main(make, import_ms)
