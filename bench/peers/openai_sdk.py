"""The official openai SDK, hand loop (what a developer writes on the SDK alone)."""

import sys
import time
from pathlib import Path

started = time.perf_counter()
from openai import AsyncOpenAI  # noqa: E402

import_ms = (time.perf_counter() - started) * 1000
sys.path.insert(0, str(Path(__file__).parent))
from _hand_loop import TOOLS, streamed_loop, whole_loop  # noqa: E402
from _harness import main  # noqa: E402


def make(base_url: str):  # type: ignore[no-untyped-def]
    client = AsyncOpenAI(base_url=base_url, api_key="k")

    def create(messages: list, **stream: bool):  # type: ignore[no-untyped-def]
        return client.chat.completions.create(
            model="gpt-4.1-mini", messages=messages, tools=TOOLS, **stream
        )

    async def one() -> str:
        return await whole_loop(create, lambda message: message.model_dump(exclude_none=True))

    async def streamed() -> str:
        return await streamed_loop(lambda messages: create(messages, stream=True))

    return one, streamed


main(make, import_ms)
