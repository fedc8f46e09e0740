"""The Chat Completions hand loop of the openai SDK and litellm peers, written once.

Both peers drive the same weather-agent loop over a client whose answers
have the openai SDK's shape (``choices[0].message``, stream chunks with
``delta``); only the call differs. They run in their own venvs without
agentkit, and load this sibling module by path as they load ``_harness``:
standard library only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any

from _harness import get_weather

#: The weather tool as Chat Completions tools JSON.
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]

Messages = list[dict[str, Any]]


def _start() -> Messages:
    return [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
    ]


def _result(call_id: str, arguments: str) -> dict[str, Any]:
    return {
        "role": "tool",
        "tool_call_id": call_id,
        "content": get_weather(**json.loads(arguments)),
    }


async def whole_loop(
    create: Callable[[Messages], Awaitable[Any]], echo: Callable[[Any], dict[str, Any]]
) -> str:
    """One run on whole answers: ``create(messages)`` asks, ``echo`` turns the
    assistant's message back into a request message."""
    messages = _start()
    while True:
        message = (await create(messages)).choices[0].message
        if not message.tool_calls:
            return str(message.content)
        messages.append(echo(message))
        for call in message.tool_calls:
            messages.append(_result(call.id, call.function.arguments))


async def streamed_loop(open_stream: Callable[[Messages], Awaitable[AsyncIterable[Any]]]) -> str:
    """One run on streamed answers: ``open_stream(messages)`` asks for a stream of chunks."""
    messages = _start()
    while True:
        stream = await open_stream(messages)
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
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
            messages.append(_result(c["id"], c["args"]))
