"""agentkit: the weather agent with the default @tool, model string and options."""

import sys
import time
from pathlib import Path

started = time.perf_counter()
from agentkit import Agent, RunEndEvent, run, run_stream, tool  # noqa: E402

import_ms = (time.perf_counter() - started) * 1000
sys.path.insert(0, str(Path(__file__).parent))
from _harness import get_weather, main  # noqa: E402


def make(base_url: str):  # type: ignore[no-untyped-def]
    agent = Agent(name="weather", instructions="Be brief.", tools=[tool(get_weather)])
    options = {"base_url": base_url, "api_key": "k"}

    async def one() -> str:
        result = await run(
            agent, "Weather in Paris?", model="openai:gpt-4.1-mini", model_options=options
        )
        return str(result.output)

    async def streamed() -> str:
        async for event in run_stream(
            agent, "Weather in Paris?", model="openai:gpt-4.1-mini", model_options=options
        ):
            if isinstance(event, RunEndEvent):
                return str(event.result.output)
        raise AssertionError("no run_end")

    return one, streamed


main(make, import_ms)
