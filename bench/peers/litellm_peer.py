"""litellm: the same hand loop on litellm.acompletion."""

import sys
import time
from pathlib import Path

started = time.perf_counter()
import litellm  # noqa: E402

import_ms = (time.perf_counter() - started) * 1000
sys.path.insert(0, str(Path(__file__).parent))
from _hand_loop import TOOLS, streamed_loop, whole_loop  # noqa: E402
from _harness import main  # noqa: E402


def _echo(message):  # type: ignore[no-untyped-def]
    return {
        "role": "assistant",
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in message.tool_calls
        ],
    }


def make(base_url: str):  # type: ignore[no-untyped-def]
    litellm.telemetry = False
    options = {"model": "openai/gpt-4.1-mini", "api_base": base_url, "api_key": "k", "tools": TOOLS}

    async def one() -> str:
        return await whole_loop(
            lambda messages: litellm.acompletion(messages=messages, **options), _echo
        )

    async def streamed() -> str:
        return await streamed_loop(
            lambda messages: litellm.acompletion(messages=messages, stream=True, **options)
        )

    return one, streamed


main(make, import_ms)
