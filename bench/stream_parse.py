"""Streaming parsers: each adapter family reads a 1 MB stream of small deltas.

For each wire (OpenAI Chat, OpenAI Responses, Anthropic, Gemini: server-sent
events; Ollama: newline-delimited JSON) the package's loopback emulator
writes one long answer in 8-character deltas; the bytes are recorded once,
then replayed from memory through an ``httpx2`` transport into the adapter's
``stream()`` (framing, JSON, its chunk reader, the events). The floor is a
loop that only splits the same bytes into lines and calls ``json.loads`` on
each frame. Goal: every adapter at least 0.8x the floor's throughput.
Attempts alternate adapter and floor; medians of MB/s.

    uv run python bench/stream_parse.py [--repeat 15] [--megabytes 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx2

from agentkit import Message, ModelAdapter, ModelRequest, resolve_model
from agentkit.testing import (
    AnthropicEmulator,
    GeminiEmulator,
    OllamaEmulator,
    OpenAIChatEmulator,
    OpenAIResponsesEmulator,
)

GOAL = 0.8
CHUNK = 65536  # bytes per read, as a socket would hand them over

#: provider -> (emulator class, base URL the factory takes, framing)
FAMILIES: dict[str, tuple[Callable[..., Any], str, str]] = {
    "openai": (OpenAIChatEmulator, "http://emulator/v1", "sse"),
    "openai-responses": (OpenAIResponsesEmulator, "http://emulator/v1", "sse"),
    "anthropic": (AnthropicEmulator, "http://emulator", "sse"),
    "gemini": (GeminiEmulator, "http://emulator", "sse"),
    "ollama": (OllamaEmulator, "http://emulator", "ndjson"),
}

REQUEST = ModelRequest(messages=[Message.user("Tell me a long story.")])


class _Replay(httpx2.AsyncBaseTransport):
    """Answers every request with the recorded body, in socket-sized pieces."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body = body
        self.content_type = content_type

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": self.content_type}, stream=_Pieces(self.body)
        )


class _Pieces(httpx2.AsyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), CHUNK):
            yield self.body[start : start + CHUNK]


def _adapter(provider: str, base_url: str, transport: httpx2.AsyncBaseTransport) -> ModelAdapter:
    return resolve_model(
        f"{provider}:bench-model",
        base_url=base_url,
        api_key="sk-test-bench",
        http_client=httpx2.AsyncClient(transport=transport),
    )


async def record(provider: str, megabytes: float) -> tuple[bytes, str]:
    """The emulator's streamed answer of about ``megabytes`` MB, and its content type."""
    # Each wire wraps an 8-character delta in its own envelope: measure it on a
    # short answer, then size the text to the target.
    sample, _ = await _record(provider, 1000)
    return await _record(provider, int(megabytes * 1_000_000 * 1000 / len(sample)))


async def _record(provider: str, deltas: int) -> tuple[bytes, str]:
    emulator_class, base_url, _ = FAMILIES[provider]
    text = "lorem ip" * deltas
    emulator = emulator_class(lambda request: text, chunk_size=8)
    recorded: dict[str, Any] = {}

    class Recording(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            inner = httpx2.ASGITransport(app=emulator)
            response = await inner.handle_async_request(request)
            body = b"".join([piece async for piece in response.stream])  # type: ignore[union-attr]
            recorded["body"] = body
            recorded["type"] = response.headers.get("content-type", "")
            return httpx2.Response(response.status_code, headers=response.headers, content=body)

    adapter = _adapter(provider, base_url, Recording())
    async for _ in adapter.stream(REQUEST):  # type: ignore[attr-defined]
        pass
    return recorded["body"], recorded["type"]


async def parse_with_adapter(provider: str, body: bytes, content_type: str) -> float:
    """Seconds for the adapter to turn ``body`` into events."""
    adapter = _adapter(provider, FAMILIES[provider][1], _Replay(body, content_type))
    started = time.perf_counter()
    events = 0
    async for _ in adapter.stream(REQUEST):  # type: ignore[attr-defined]
        events += 1
    elapsed = time.perf_counter() - started
    assert events > 1000, events
    return elapsed


def parse_floor(body: bytes, framing: str) -> float:
    """Seconds for the floor: split lines, ``json.loads`` each frame's JSON."""
    started = time.perf_counter()
    buffer = b""
    for start in range(0, len(body), CHUNK):
        buffer += body[start : start + CHUNK]
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if framing == "ndjson":
                if line:
                    json.loads(line)
            elif line.startswith(b"data: ") and line != b"data: [DONE]":
                json.loads(line[6:])
    return time.perf_counter() - started


async def main_async(repeat: int, megabytes: float) -> None:
    print(f"{'adapter':<18} {'MB':>5} {'adapter MB/s':>13} {'floor MB/s':>11} {'ratio':>6}")
    for provider, (_, _, framing) in FAMILIES.items():
        body, content_type = await record(provider, megabytes)
        ours: list[float] = []
        floor: list[float] = []
        for _ in range(repeat):
            ours.append(await parse_with_adapter(provider, body, content_type))
            floor.append(parse_floor(body, framing))
        mb = len(body) / 1_000_000
        ours_rate = mb / statistics.median(ours)
        floor_rate = mb / statistics.median(floor)
        ratio = ours_rate / floor_rate
        verdict = "ok" if ratio >= GOAL else "UNDER"
        print(
            f"{provider:<18} {mb:>5.2f} {ours_rate:>13.1f} {floor_rate:>11.1f} {ratio:>5.2f}x"
            f"  (goal {GOAL}x: {verdict})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--megabytes", type=float, default=1.0)
    args = parser.parse_args()
    anyio.run(main_async, args.repeat, args.megabytes)


if __name__ == "__main__":
    main()
