"""The adapter against wire edge cases: hand-made bodies, connection reuse, the factory."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2
import pytest
from agentkit_adapters.openai import OpenAIChatAdapter, create_chat_adapter

from agentkit import Message, ModelRequest, ModelResponse, ResponseEndEvent, StreamEvent
from agentkit.exceptions import ServerError, UnexpectedResponseError, UserError
from agentkit.testing import serve_asgi

KEY = "sk-emulated"


def _ask(text: str = "hi") -> ModelRequest:
    return ModelRequest(messages=[Message.user(text)])


async def _events(adapter: OpenAIChatAdapter, request: ModelRequest) -> list[StreamEvent]:
    return [event async for event in adapter.stream(request)]


def _end(events: list[StreamEvent]) -> ModelResponse:
    assert isinstance(events[-1], ResponseEndEvent)
    return events[-1].response


def _mock(status: int, body: bytes, content_type: str = "text/event-stream") -> OpenAIChatAdapter:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, content=body)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return OpenAIChatAdapter("m", api_key=KEY, provider="groq", client=client)


def _sse(*payloads: Any, tail: bytes = b"data: [DONE]\n\n") -> bytes:
    return b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads) + tail


CHUNK = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
FINISH = {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}


@pytest.mark.anyio
async def test_stream_answered_with_plain_json_is_replayed_as_events() -> None:
    body = {"id": "c", "choices": [{"message": {"content": "whole"}, "finish_reason": "stop"}]}
    adapter = _mock(200, json.dumps(body).encode(), "application/json")
    events = await _events(adapter, _ask())
    assert [e.type for e in events] == ["response_start", "text_delta", "response_end"]
    assert _end(events).message.text == "whole"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        # Groq: "event: error" inside a 200 stream.
        _sse(CHUNK, tail=b'event: error\ndata: {"error": {"message": "overloaded"}}\n\n'),
        # An error object as a chunk.
        _sse(CHUNK, {"error": {"message": "overloaded", "type": "server_error"}}),
    ],
)
async def test_errors_inside_a_200_stream(body: bytes) -> None:
    with pytest.raises(ServerError, match="overloaded") as info:
        await _events(_mock(200, body), _ask())
    assert (info.value.status_code, info.value.provider) == (200, "groq")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "match"),
    [
        (_sse(CHUNK, tail=b""), "ended before the answer was complete"),
        (b"data: [DONE]\n\n", "empty"),
        (b"data: {not json\n\n", "not JSON"),
        (b"data: [1, 2]\n\n", "not an object"),
    ],
)
async def test_malformed_streams(body: bytes, match: str) -> None:
    with pytest.raises(UnexpectedResponseError, match=match):
        await _events(_mock(200, body), _ask())


@pytest.mark.anyio
async def test_stream_without_done_but_with_a_finish_reason_is_complete() -> None:
    events = await _events(_mock(200, _sse(CHUNK, FINISH, tail=b"")), _ask())
    assert _end(events).message.text == "Hi"


@pytest.mark.anyio
async def test_malformed_json_answer() -> None:
    with pytest.raises(UnexpectedResponseError, match="not JSON"):
        await _mock(200, b"<html>", "text/html").generate(_ask())


def test_shared_client_needs_an_asyncio_loop() -> None:
    with pytest.raises(UserError, match="asyncio"):
        _ = OpenAIChatAdapter("m").client


async def _slow_end_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Streams one answer, then ends the body 50 ms after [DONE], as a network may."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    body = _sse(CHUNK, FINISH, tail=b"")
    await send({"type": "http.response.body", "body": body, "more_body": True})
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": True})
    await anyio.sleep(0.05)
    await send({"type": "http.response.body", "body": b""})


@pytest.mark.anyio
async def test_stream_connections_go_back_to_the_pool() -> None:
    with serve_asgi(_slow_end_app) as url:
        adapter = OpenAIChatAdapter("m", base_url=url)
        pool = adapter.client._transport._pool  # type: ignore[attr-defined]
        seen: list[object] = []
        for _ in range(3):
            assert _end(await _events(adapter, _ask())).message.text == "Hi"
            seen += pool.connections
    # One connection, reused: the body is read to its end after [DONE].
    assert len(seen) == 3
    assert all(c is seen[0] for c in seen)


def test_factory_sends_organisation_and_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-1")
    adapter = create_chat_adapter("gpt-test")
    assert adapter._http.headers["OpenAI-Organization"] == "org-1"
    assert adapter._http.headers["OpenAI-Project"] == "proj-1"
    assert adapter.base_url == "https://api.openai.com/v1"
