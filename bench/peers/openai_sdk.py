"""The official openai SDK, hand loop (what a developer writes on the SDK alone)."""

import json
import sys
import time
from pathlib import Path

started = time.perf_counter()
from openai import AsyncOpenAI  # noqa: E402

import_ms = (time.perf_counter() - started) * 1000
sys.path.insert(0, str(Path(__file__).parent))
from _harness import get_weather, main  # noqa: E402
from openai_sdk_tools import TOOLS  # noqa: E402


def make(base_url: str):  # type: ignore[no-untyped-def]
    client = AsyncOpenAI(base_url=base_url, api_key="k")

    def start() -> list:
        return [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
        ]

    async def one() -> str:
        messages = start()
        while True:
            response = await client.chat.completions.create(
                model="gpt-4.1-mini", messages=messages, tools=TOOLS
            )
            message = response.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            if not message.tool_calls:
                return str(message.content)
            for call in message.tool_calls:
                args = json.loads(call.function.arguments)
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": get_weather(**args)}
                )

    async def streamed() -> str:
        messages = start()
        while True:
            stream = await client.chat.completions.create(
                model="gpt-4.1-mini", messages=messages, tools=TOOLS, stream=True
            )
            text, calls = [], {}
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        text.append(choice.delta.content)
                    for part in choice.delta.tool_calls or ():
                        call = calls.setdefault(part.index, {"id": "", "name": "", "args": ""})
                        call["id"] = part.id or call["id"]
                        if part.function:
                            call["name"] = part.function.name or call["name"]
                            call["args"] += part.function.arguments or ""
            if not calls:
                return "".join(text)
            messages.append(
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": c["id"],
                            "type": "function",
                            "function": {"name": c["name"], "arguments": c["args"]},
                        }
                        for c in calls.values()
                    ],
                }
            )
            for c in calls.values():
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": c["id"],
                        "content": get_weather(**json.loads(c["args"])),
                    }
                )

    return one, streamed


main(make, import_ms)
