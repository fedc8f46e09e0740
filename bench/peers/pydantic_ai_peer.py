"""pydantic-ai: an Agent on its OpenAI chat model, the tool as a plain function."""

import sys
import time
from pathlib import Path

started = time.perf_counter()
from pydantic_ai import Agent  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402

import_ms = (time.perf_counter() - started) * 1000
sys.path.insert(0, str(Path(__file__).parent))
from _harness import get_weather, main  # noqa: E402


def make(base_url: str):  # type: ignore[no-untyped-def]
    model = OpenAIChatModel("gpt-4.1-mini", provider=OpenAIProvider(base_url=base_url, api_key="k"))
    agent = Agent(model, instructions="Be brief.", tools=[get_weather])

    async def one() -> str:
        return str((await agent.run("Weather in Paris?")).output)

    async def streamed() -> str:
        output = None
        async with agent.run_stream_events("Weather in Paris?") as events:
            async for event in events:
                output = getattr(event, "result", None) or output
        return str(output.output) if output is not None else ""

    return one, streamed


main(make, import_ms)
