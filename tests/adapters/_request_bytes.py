"""The request bodies our adapters send, turn by turn, as digests of their exact bytes.

Each recorded answer under ``tests/fixtures/real_traffic`` (every family,
whole JSON and streamed) drives a three-turn conversation through the adapter
of its family: the answer is replayed on every turn, and its message, the
results of its tool calls and a new user turn are added to the conversation
each time, as a run would. Rich conversations (images, audio, resources,
reasoning from another provider, invalid arguments replayed, placeholders for
pictures in tool results, structured output) go through the Chat Completions
converter under each host's quirks, with their warnings.

``scenarios()`` returns, by case, the SHA-256 of every body the adapter sent
(and the warnings of the converter cases): ``test_request_bytes.py`` compares
them with ``REFERENCE``, written from main's code before the request side
was made faster, so a body that differs in one byte fails. When a change to a
body is meant, rewrite the reference and say so in the commit:

    uv run python -m tests.adapters._request_bytes --write
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import httpx2
from agentkit_adapters.openai import OpenAIChatAdapter, OpenAIQuirks, to_openai_request
from agentkit_adapters.openai_compat import preset_adapter

from agentkit import (
    AudioPart,
    ImagePart,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ReasoningPart,
    ResourcePart,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
)
from agentkit.adapter import ResponseEndEvent

from ..properties._traffic import FIXTURES, MakeAdapter, _adapter, _reframed

REFERENCE = Path(__file__).parents[1] / "fixtures" / "request_bytes.json"
TURNS = 3

TOOLS = [
    ToolDefinition(
        name="get_weather",
        description="Get the weather in a city.",
        input_schema={
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city's name."},
                "unit": {"type": "string", "enum": ["C", "F"], "default": "C"},
                "days": {"type": "integer", "minimum": 1},
            },
            "required": ["city"],
        },
    ),
    ToolDefinition(
        name="secret_retrieval_tool",
        title="Secret retrieval",
        input_schema={
            "type": "object",
            "properties": {"password": {"type": "string"}},
            "required": ["password"],
        },
    ),
]


def _make(family: str, case: str) -> MakeAdapter:
    try:
        return _adapter(family, case)
    except KeyError:  # a compatible host the stream cases have no preset for
        assert family == "openai_compatible", case
        return lambda c: OpenAIChatAdapter("m", api_key="sk-test-planted", client=c)


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _answers() -> list[tuple[str, str, str, int, bytes, str]]:
    """Every recorded answer: (id, family, case, status, body, content type)."""
    found = []
    for path in sorted(FIXTURES.glob("*/*/*")):
        family, case, name = path.parent.parent.name, path.parent.name, path.name
        if name.endswith(("response.json", "response_nonstream_429.json")):
            body, kind = path.read_bytes(), "application/json"
        elif name.endswith("response.sse"):
            body, kind = path.read_bytes(), "text/event-stream"
        elif name.endswith("response.chunks.jsonl"):
            body, kind = _reframed(family, path), "text/event-stream"
        elif name.endswith("response.ndjson"):
            body, kind = path.read_bytes(), "application/x-ndjson"
        else:
            continue
        prefix = name.split("response")[0]
        meta = path.parent / f"{prefix}meta.json"
        status = json.loads(meta.read_text()).get("status", 200) if meta.exists() else 200
        if "429" in name:
            status = 429
        found.append((f"{family}/{case}/{name}", family, case, status, body, kind))
    return found


def _follow_up(messages: list[Message], response: ModelResponse, turn: int) -> list[Message]:
    """The conversation after one answer: its message, its tool results, a new user turn."""
    results = [
        ToolResultPart(
            call_id=call.id,
            name=call.name,
            content=[TextPart(text=f"result {turn} of {call.name}: 21°C ✓")],
        )
        for call in response.message.tool_calls
    ]
    more = [Message(role="tool", parts=results)] if results else []
    return [*messages, response.message, *more, Message.user(f"And turn {turn + 1}? «ü»")]


async def _conversation(family: str, case: str, status: int, body: bytes, kind: str) -> list[str]:
    sent: list[bytes] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.content)
        return httpx2.Response(status, headers={"content-type": kind}, content=body)

    messages = [Message.system("Be brief. ☀"), Message.user("Weather in Paris? «é»")]
    settings = ModelSettings(temperature=0.0, max_tokens=200)
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as client:
        adapter = _make(family, case)(client)
        for turn in range(TURNS):
            request = ModelRequest(messages=messages, tools=TOOLS, settings=settings)
            response: ModelResponse | None = None
            try:
                if kind == "application/json":
                    response = await adapter.generate(request)
                else:
                    async for event in adapter.stream(request):
                        if isinstance(event, ResponseEndEvent):
                            response = event.response
            except Exception:  # an error answer: the request was sent all the same
                response = None
            if response is None:
                break
            messages = _follow_up(messages, response, turn)
    return [_digest(content) for content in sent]


def _rich_conversation() -> list[Message]:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    return [
        Message.system("You help with weather. ☀"),
        Message(
            role="user",
            parts=[
                TextPart(text="What is in these?"),
                ImagePart(url="https://example.com/cloud.png"),
                ImagePart(data=png, media_type="image/png"),
                AudioPart(data=b"RIFF0000WAVE", media_type="audio/wav"),
                ResourcePart(uri="file:///notes.txt", text="It rained «yesterday»."),
                ResourcePart(uri="file:///map.bin"),
            ],
        ),
        Message(
            role="assistant",
            parts=[
                ReasoningPart(text="They want weather.", provider="deepseek", model="r1"),
                ReasoningPart(text="Someone else's thought.", provider="other"),
                TextPart(text="Let me look. "),
                TextPart(text="One moment."),
                ToolCallPart(id="call_a", name="get_weather", arguments={"city": "Zürich"}),
                ToolCallPart(
                    id="call_b",
                    name="get_weather",
                    arguments={},
                    raw_arguments='{"city": "Par',
                ),
                ToolCallPart(
                    id="call_c",
                    name="secret_retrieval_tool",
                    arguments={"password": "mellon", "nested": {"list": [1, 2.5, None, True]}},
                ),
            ],
        ),
        Message(
            role="tool",
            parts=[
                ToolResultPart(
                    call_id="call_a",
                    content=[
                        TextPart(text="21°C"),
                        ImagePart(url="https://example.com/sun.png"),
                        ResourcePart(uri="file:///r.txt", text="sunny"),
                    ],
                ),
                ToolResultPart(call_id="call_b", content=[], is_error=True),
                ToolResultPart(call_id="call_c", structured_content={"secret": "Welcome ✓"}),
            ],
        ),
        Message(
            role="user",
            parts=[
                ToolResultPart(call_id="call_x", content=[TextPart(text="late result")]),
                TextPart(text="Thanks!"),
            ],
        ),
        Message(role="assistant", parts=[]),
        Message.user(""),
    ]


def _converter_cases() -> dict[str, list[str]]:
    """The Chat Completions converter on rich conversations, under each host's quirks."""
    quirks = {
        "openai": OpenAIQuirks(),
        "plain": OpenAIQuirks(
            supports_strict=False,
            max_tokens_field="max_tokens",
            supports_stream_usage=False,
            unsupported_settings=frozenset({"seed", "parallel_tool_calls"}),
            prompt_cache_fields=False,
        ),
        "deepseek": OpenAIQuirks(reasoning_history_field="reasoning_content"),
    }
    settings = ModelSettings(
        max_tokens=50,
        temperature=0.5,
        top_p=0.9,
        stop=["END"],
        seed=7,
        parallel_tool_calls=False,
        prompt_cache=True,
        extra={"user": "u-1", "temperature": 0.25},
    )
    output = {
        "type": "object",
        "properties": {"summary": {"type": "string"}, "rain": {"type": "boolean"}},
        "required": ["summary"],
    }
    full = _rich_conversation()
    out: dict[str, list[str]] = {}
    for name, quirk in quirks.items():
        provider = "deepseek" if name == "deepseek" else "openai"
        digests: list[str] = []
        # The conversation as it grows, as the calls of one run see it.
        for end in range(2, len(full) + 1):
            for stream in (False, True):
                request = ModelRequest(
                    messages=full[:end],
                    tools=TOOLS,
                    tool_choice="get_weather" if end % 2 else "required",
                    output_schema=output if end > 4 else None,
                    output_name="weather report!",
                    settings=settings,
                    allow_lossy_schemas=True,
                )
                body, warnings = to_openai_request(
                    request, model_id="gpt-x", stream=stream, quirks=quirk, provider=provider
                )
                digests.append(_digest(json.dumps(body).encode()))
                digests.append(_digest(json.dumps([w.model_dump() for w in warnings]).encode()))
        out[f"converter/{name}"] = digests
    return out


def _refusing(sent: list[bytes]) -> Callable[[httpx2.Request], httpx2.Response]:
    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.content)
        return httpx2.Response(400, json={"error": {"message": "no"}})

    return handler


async def _preset_cases() -> dict[str, list[str]]:
    """The rich conversation through compatible hosts' presets, as sent."""
    out: dict[str, list[str]] = {}
    full = _rich_conversation()
    for preset, model in (("deepseek", "deepseek-reasoner"), ("groq", "llama"), ("xai", "grok")):
        sent: list[bytes] = []
        async with httpx2.AsyncClient(transport=httpx2.MockTransport(_refusing(sent))) as client:
            adapter = preset_adapter(preset, model, api_key="sk-test-planted", client=client)
            for end in range(2, len(full) + 1):
                request = ModelRequest(messages=full[:end], tools=TOOLS)
                # The 400 answer, or content this host cannot take.
                with contextlib.suppress(Exception):
                    await adapter.generate(request)
        out[f"preset/{preset}"] = [_digest(content) for content in sent]
    return out


async def _all() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for case_id, family, case, status, body, kind in _answers():
        found[case_id] = await _conversation(family, case, status, body, kind)
    found.update(_converter_cases())
    found.update(await _preset_cases())
    return found


def scenarios() -> dict[str, list[str]]:
    """Case id -> the SHA-256 digests of what was sent, in order."""
    return asyncio.run(_all())


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.adapters._request_bytes --write")
    REFERENCE.write_text(json.dumps(scenarios(), indent=1, sort_keys=True) + "\n")
