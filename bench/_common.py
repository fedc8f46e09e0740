"""What the benchmarks share: the loopback server, the weather tool and the floor.

The floor is what a careful developer writes without a framework: a loop on
raw httpx2 that posts the conversation, runs the tool calls and stops at
the first answer without any (``hand_loop``, ``hand_loop_stream``).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

HERE = Path(__file__).parent
POOL = 25  # connections, as the adapters' shared client


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city's name.
    """
    return f"{city}: 21C, sunny"


TOOLS_JSON = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city's name."}},
                "required": ["city"],
            },
        },
    }
]
ANSWER = "It is sunny in Paris, 21C."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fast_server(python: str = sys.executable) -> Iterator[str]:
    """``_fast_openai.py`` in another process; yields its base URL (``.../v1``)."""
    port = free_port()
    server = subprocess.Popen(
        [python, str(HERE / "_fast_openai.py"), str(port)],
        stdin=subprocess.PIPE,  # its end closing tells the server to stop (_exit_with_parent)
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait()


def client(pool: int = POOL) -> httpx2.AsyncClient:
    limits = httpx2.Limits(max_connections=pool, max_keepalive_connections=pool)
    return httpx2.AsyncClient(limits=limits, timeout=60)


def _start() -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
    ]


async def hand_loop(http: httpx2.AsyncClient, base_url: str) -> str:
    """The floor: two calls and one tool call on raw httpx2, whole answers."""
    messages = _start()
    url = f"{base_url}/chat/completions"
    while True:
        body = {"model": "gpt-4.1-mini", "messages": messages, "tools": TOOLS_JSON}
        response = await http.post(url, json=body, headers={"authorization": "Bearer k"})
        response.raise_for_status()
        message = response.json()["choices"][0]["message"]
        messages.append(message)
        calls = message.get("tool_calls")
        if not calls:
            return str(message["content"])
        for call in calls:
            arguments = json.loads(call["function"]["arguments"])
            messages.append(
                {"role": "tool", "tool_call_id": call["id"], "content": get_weather(**arguments)}
            )


async def hand_loop_stream(http: httpx2.AsyncClient, base_url: str) -> str:
    """The floor, streamed: server-sent events read line by line, deltas joined."""
    messages = _start()
    url = f"{base_url}/chat/completions"
    while True:
        body = {"model": "gpt-4.1-mini", "messages": messages, "tools": TOOLS_JSON, "stream": True}
        text: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        headers = {"authorization": "Bearer k"}
        async with http.stream("POST", url, json=body, headers=headers) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                for choice in chunk["choices"]:
                    delta = choice["delta"]
                    if delta.get("content"):
                        text.append(delta["content"])
                    for part in delta.get("tool_calls") or ():
                        call = calls.setdefault(part["index"], {"arguments": ""})
                        if "id" in part:
                            call["id"] = part["id"]
                        function = part.get("function") or {}
                        if "name" in function:
                            call["name"] = function["name"]
                        call["arguments"] += function.get("arguments") or ""
        if not calls:
            return "".join(text)
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for c in calls.values()
                ],
            }
        )
        for c in calls.values():
            arguments = json.loads(c["arguments"])
            messages.append(
                {"role": "tool", "tool_call_id": c["id"], "content": get_weather(**arguments)}
            )


def spread(values: list[float]) -> str:
    """Median with the 25th and 75th percentiles, for a line of a report."""
    ordered = sorted(values)
    q1, q3 = ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]
    return f"{statistics.median(ordered):8.3f} (p25 {q1:.3f}, p75 {q3:.3f})"


def user_environment() -> None:
    """Let the measured processes use and write bytecode, as a user's do.

    With ``PYTHONDONTWRITEBYTECODE`` set (some shells and sandboxes set it)
    and no ``.pyc`` files, every import compiles its module from source and
    the numbers say nothing about a user's start-up. It was so on the machine
    of step 8's measurements: the three names took 465 ms without bytecode
    against 282 ms with it, in the same minute (load 4). The bytecode goes to
    a cache outside the checkout.
    """
    cache = os.path.join(tempfile.gettempdir(), "agentkit-bench-pycache")
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        print(f"PYTHONDONTWRITEBYTECODE was set: unset for the runs, bytecode cached in {cache}")
    os.environ.setdefault("PYTHONPYCACHEPREFIX", cache)
