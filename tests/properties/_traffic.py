"""Every recorded real-traffic stream body, an adapter to replay it through, and replay helpers.

The per-family real-traffic tests (``tests/adapters/*/test_real_traffic.py``)
each put back the framing of vercel/ai's ``response.chunks.jsonl`` files and
replay bodies through a ``MockTransport``; this module does the same for all
families at once, so the split properties cover every stream we have. The
helpers they share (reading a recording, serving a body in slices, collecting
a stream) are here too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from agentkit_adapters.anthropic import AnthropicAdapter
from agentkit_adapters.azure import create_azure_adapter, create_azure_responses_adapter
from agentkit_adapters.gemini import GeminiAdapter
from agentkit_adapters.ollama import OllamaAdapter
from agentkit_adapters.openai import OpenAIChatAdapter
from agentkit_adapters.openai_compat import preset_adapter
from agentkit_adapters.openai_responses import OpenAIResponsesAdapter
from agentkit_adapters.openresponses import responses_preset_adapter
from agentkit_adapters.vertex import create_vertex_adapter
from google.oauth2.credentials import Credentials

from agentkit import (
    Message,
    ModelAdapter,
    ModelRequest,
    ModelResponse,
    ResponseEndEvent,
    ResponseStartEvent,
    StreamEvent,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real_traffic"
REQUEST = ModelRequest(messages=[Message.user("hi")])

#: The host preset and model each openai_compatible case was recorded from.
_COMPAT = {
    "deepseek": ("deepseek", "deepseek-reasoner"),
    "groq": ("groq", "llama-3.3-70b-versatile"),
    "xai": ("xai", "grok-3-mini"),
}

#: The Open Responses preset and its key variable, by the case's host prefix.
_OPEN_RESPONSES = {
    "deepseek": ("deepseek-responses", "DEEPSEEK_API_KEY"),
    "bedrock": ("bedrock-responses", "AWS_BEARER_TOKEN_BEDROCK"),
    "openrouter": ("openrouter-responses", "OPENROUTER_API_KEY"),
}

MakeAdapter = Callable[[httpx2.AsyncClient], ModelAdapter]
Handler = Callable[[httpx2.Request], httpx2.Response]


def read_json(path: Path) -> Any:
    """A recorded JSON file (meta, request or whole answer)."""
    return json.loads(path.read_text())


def sse_payloads(text: str) -> list[dict[str, Any]]:
    """The JSON ``data:`` payloads of an SSE body (``[DONE]`` left out), read without
    the adapters' decoders."""
    return [
        json.loads(line[6:])
        for line in text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


def sliced_response(
    status: int, content_type: str | None, body: bytes, size: int
) -> httpx2.Response:
    """An answer whose body arrives in ``size``-byte reads (no Content-Type when None)."""

    async def slices() -> AsyncIterator[bytes]:
        for i in range(0, len(body), size):
            yield body[i : i + size]

    headers = {"content-type": content_type} if content_type else {}
    return httpx2.Response(status, headers=headers, content=slices())


def mock_client(handler: Handler) -> httpx2.AsyncClient:
    """A client whose every request ``handler`` answers."""
    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler))


async def stream_events(adapter: ModelAdapter, request: ModelRequest) -> list[StreamEvent]:
    """The events of one streamed call, checked to open with a start and end with one end."""
    events = [event async for event in adapter.stream(request)]
    assert isinstance(events[0], ResponseStartEvent)
    assert isinstance(events[-1], ResponseEndEvent)
    assert sum(isinstance(e, ResponseEndEvent) for e in events) == 1
    return events


def final_response(events: Sequence[StreamEvent]) -> ModelResponse:
    """The response of a stream's ``ResponseEndEvent``, which must be its last event."""
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    return end.response


@dataclass(frozen=True)
class StreamCase:
    """One recorded stream body and how to replay it."""

    id: str
    family: str
    body: bytes
    content_type: str
    framing: str  # "sse" or "ndjson"
    make: MakeAdapter


def _adapter(family: str, case: str) -> MakeAdapter:
    key = "sk-test-planted"
    if family == "openai_chat":
        return lambda c: OpenAIChatAdapter("gpt-4o", api_key=key, client=c)
    if family == "openai_compatible":
        preset, model = _COMPAT[case.split("_")[0]]
        return lambda c: preset_adapter(preset, model, api_key=key, client=c)
    if family == "openai_responses":
        return lambda c: OpenAIResponsesAdapter("gpt-4o", api_key=key, client=c)
    if family == "gemini":
        return lambda c: GeminiAdapter("gemini-2.5-flash", api_key=key, client=c)
    if family == "ollama":
        return lambda c: OllamaAdapter("gemma3:1b", client=c)
    if family == "anthropic" or (family == "vertex" and case.startswith("claude_")):
        return lambda c: AnthropicAdapter("claude-sonnet-4-0", api_key=key, client=c)
    if family == "vertex":
        return lambda c: create_vertex_adapter(
            "gemini-2.5-flash",
            project="p",
            location="us-central1",
            credentials=Credentials(token="ya29.test-planted"),
            http_client=c,
        )
    if family == "azure_openai":
        create = create_azure_responses_adapter if "responses" in case else create_azure_adapter
        return lambda c: create(
            "gpt-4o",
            endpoint="https://example.openai.azure.com",
            api_key=key,
            api_version="v1",
            http_client=c,
        )
    if family == "open_responses":
        host, variable = _OPEN_RESPONSES[case.split("_")[0]]
        return lambda c: responses_preset_adapter(host, "m", env={variable: key}, client=c)
    raise AssertionError(f"no adapter for family {family!r}")


def _reframed(family: str, path: Path) -> bytes:
    """A chunks file's lost SSE framing put back the way each family's host frames it."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if family == "gemini":
        return "".join(f"data: {line}\r\n\r\n" for line in lines).encode()
    body = "".join(f"data: {line}\n\n" for line in lines)
    if family in ("openai_chat", "openai_compatible"):
        body += "data: [DONE]\n\n"
    return body.encode()


def stream_cases() -> list[StreamCase]:
    """Every recorded stream body under ``tests/fixtures/real_traffic``."""
    found: list[StreamCase] = []
    for path in sorted(FIXTURES.glob("*/*/*")):
        name = path.name
        family, case = path.parent.parent.name, path.parent.name
        if name.endswith("response.sse"):
            body, kind, framing = path.read_bytes(), "text/event-stream", "sse"
        elif name.endswith("response.chunks.jsonl"):
            body, kind, framing = _reframed(family, path), "text/event-stream", "sse"
        elif name.endswith("response.ndjson"):
            body, kind, framing = path.read_bytes(), "application/x-ndjson", "ndjson"
        else:
            continue
        make = _adapter(family, case)
        found.append(StreamCase(f"{family}/{case}/{name}", family, body, kind, framing, make))
    return found


Outcome = tuple[list[StreamEvent], str | None]


async def _replay(case: StreamCase, chunks: Sequence[bytes]) -> Outcome:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": case.content_type}, content=body())

    events: list[StreamEvent] = []
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(handler)) as client:
        try:
            async for event in case.make(client).stream(REQUEST):
                events.append(event)
        except Exception as exc:  # the outcome includes how a stream fails
            return events, f"{type(exc).__name__}: {exc}"
    return events, None


def replay(case: StreamCase, chunks: Sequence[bytes]) -> Outcome:
    """The events the adapter yields for ``chunks``, and the error it raised, if any."""
    return asyncio.run(_replay(case, chunks))


def split(body: bytes, points: Sequence[int]) -> list[bytes]:
    """``body`` cut at ``points`` (any order, repeats give empty chunks)."""
    cuts = [0, *sorted(points), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(cuts)]


def awkward_points(body: bytes) -> list[int]:
    """Cut points inside ``\\r\\n``, inside multi-byte UTF-8 characters, between ``\\n\\n``."""
    points = []
    for i in range(1, len(body)):
        before, here = body[i - 1], body[i]
        if (before, here) in ((0x0D, 0x0A), (0x0A, 0x0A)) or 0x80 <= here < 0xC0:
            points.append(i)
    return points


def payloads(case: StreamCase) -> list[Any]:
    """The JSON payloads of the body, read without the adapters' decoders."""
    text = case.body.decode()
    if case.framing == "ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [
        json.loads(line[5:])
        for line in text.splitlines()
        if line.startswith("data:") and line[5:].strip() != "[DONE]"
    ]
