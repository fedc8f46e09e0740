"""The one HTTP exchange under every HTTP adapter: posting, error mapping, stream framing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import httpx2
import pytest
from agentkit_adapters._exchange import Frame, Framing, HTTPExchange, StreamPlan

from agentkit import Message, ModelResponse, StreamEvent, TextDeltaEvent
from agentkit.exceptions import (
    AdapterError,
    AuthenticationError,
    BadRequestError,
    ProviderConnectionError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)

pytestmark = pytest.mark.anyio

URL = "http://127.0.0.1:9/v1/x"


class Body:
    """A streamed response body that counts the chunks read from it."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk


def _exchange(
    status: int,
    body: bytes | Body,
    content_type: str = "text/event-stream",
    seen: list[httpx2.Request] | None = None,
    **options: Any,
) -> HTTPExchange:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if seen is not None:
            seen.append(request)
        content = body if isinstance(body, bytes) else body.__aiter__()
        return httpx2.Response(status, headers={"content-type": content_type}, content=content)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    options.setdefault("headers", {})
    return HTTPExchange("acme", "m-1", "http://127.0.0.1:9/v1", client=client, **options)


class Reader:
    """A reader that turns each frame into one text delta of its ``t`` field."""

    def __init__(self, stop_at: str | None = None) -> None:
        self.frames: list[Frame] = []
        self.finished: list[bool] = []
        self.stop_at = stop_at

    def feed(self, frame: Frame) -> Iterable[StreamEvent]:
        self.frames.append(frame)
        return [TextDeltaEvent(text=str(frame.data.get("t", "")))]

    def finish(self, done: bool) -> Iterable[StreamEvent]:
        self.finished.append(done)
        return []

    @property
    def done(self) -> bool:
        return bool(self.frames) and self.frames[-1].data.get("t") == self.stop_at

    def whole(self, data: Any) -> ModelResponse:
        return ModelResponse(
            message=Message.assistant(data["text"]),
            provider="acme",
            model_id="m-1",
            finish_reason="stop",
        )


async def _run(
    exchange: HTTPExchange, reader: Reader, framing: Framing = "sse", **options: Any
) -> list[str]:
    def plan() -> StreamPlan:
        return StreamPlan(
            {"stream": True}, feed=reader.feed, finish=reader.finish, whole=reader.whole, **options
        )

    events = [e async for e in exchange.stream(URL, plan, framing=framing)]
    return [e.text for e in events if isinstance(e, TextDeltaEvent)]


def _sse(*payloads: Mapping[str, Any], tail: bytes = b"") -> bytes:
    return b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads) + tail


async def test_post_json_sends_json_with_the_headers() -> None:
    seen: list[httpx2.Request] = []
    exchange = _exchange(
        200, b'{"ok": true}', "application/json", seen, headers={"authorization": "Bearer k"}
    )
    assert await exchange.post_json(URL, {"a": [1, "é"]}) == {"ok": True}
    assert json.loads(seen[0].content) == {"a": [1, "é"]}
    assert seen[0].headers["content-type"] == "application/json"
    assert seen[0].headers["authorization"] == "Bearer k"


async def test_error_statuses_go_through_the_mapper() -> None:
    with pytest.raises(AuthenticationError, match="ACME_KEY") as info:
        await _exchange(401, b'{"error": {"message": "bad key"}}', key_variable="ACME_KEY").post(
            URL, {}
        )
    assert (info.value.provider, info.value.model_id, info.value.status_code) == (
        "acme",
        "m-1",
        401,
    )

    def mapper(status: int, headers: Mapping[str, str], body: Any) -> AdapterError:
        return AdapterError(f"mapped {status} {body!r}", provider="acme", model_id="m-1")

    with pytest.raises(AdapterError, match="mapped 400 b'nope'"):
        await _exchange(400, b"nope", map_error=mapper).post(URL, {})
    with pytest.raises(AdapterError, match="mapped 503"):
        await _run(_exchange(503, b"down", map_error=mapper), Reader())


async def test_transport_failures_are_connection_errors() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    exchange = HTTPExchange("acme", "m-1", "http://127.0.0.1:9/v1", headers={}, client=client)
    with pytest.raises(ProviderConnectionError, match="is the server running"):
        await exchange.post_json(URL, {})
    with pytest.raises(ProviderConnectionError):
        await _run(exchange, Reader())


async def test_an_answer_that_is_not_json() -> None:
    with pytest.raises(UnexpectedResponseError, match="the answer is not JSON: '<html>'"):
        await _exchange(200, b"<html>", "text/html").post_json(URL, {})


async def test_sse_stops_at_done_and_reads_the_rest() -> None:
    body = Body(_sse({"t": "a"}), _sse({"t": "b"}, tail=b"data: [DONE]\n\n"), b"data: junk\n\n")
    reader = Reader()
    assert await _run(_exchange(200, body), reader) == ["a", "b"]
    assert reader.finished == [True]
    assert body.read == 3  # the tail after [DONE] was read (connection reuse), not parsed


async def test_sse_stops_where_the_reader_says_the_answer_ended() -> None:
    body = Body(_sse({"t": "a"}, {"t": "end"}, {"t": "late"}), b"more junk")
    reader = Reader(stop_at="end")
    assert await _run(_exchange(200, body), reader, ended=lambda: reader.done) == [
        "a",
        "end",
    ]
    assert (reader.finished, body.read) == ([True], 2)


async def test_a_stream_without_an_end_marker_is_finished_not_done() -> None:
    # Gemini ends its last frame without a blank line, and has no [DONE].
    body = Body(b'data: {"t": "a"}\r\n\r\ndata: {"t": "b', b'"}')
    reader = Reader()
    assert await _run(_exchange(200, body), reader) == ["a", "b"]
    assert reader.finished == [False]
    assert [f.event for f in reader.frames] == ["message", "message"]


async def test_event_names_reach_the_reader() -> None:
    reader = Reader()
    body = b'event: response.created\ndata: {"t": "a"}\n\n'
    await _run(_exchange(200, body), reader)
    assert reader.frames == [Frame("response.created", {"t": "a"})]


@pytest.mark.parametrize(
    ("body", "match"),
    [(b"data: {oops\n\n", "a stream event is not JSON"), (b"data: [1]\n\n", "not an object")],
)
async def test_frames_must_be_json_objects(body: bytes, match: str) -> None:
    with pytest.raises(UnexpectedResponseError, match=match):
        await _run(_exchange(200, body), Reader())


async def test_a_json_answer_to_a_stream_request_is_replayed_as_events() -> None:
    reader = Reader()
    exchange = _exchange(200, b'{"text": "whole"}', "application/json")
    assert await _run(exchange, reader) == ["whole"]
    assert reader.finished == []  # the whole answer is complete by itself


async def test_a_plain_json_error_in_place_of_a_200_stream_raises_it() -> None:
    # Gemini's stream endpoint answers errors as plain JSON, even under a 200;
    # the error's integer code names the status it stands for.
    error = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    body = Body(json.dumps(error).encode()[:10], json.dumps(error).encode()[10:])
    with pytest.raises(RateLimitError, match="quota") as info:
        await _run(_exchange(200, body), Reader())
    assert info.value.status_code == 200
    with pytest.raises(ServerError, match="broke"):
        await _run(_exchange(200, b'{"error": {"message": "broke"}}'), Reader())


async def test_a_body_that_is_neither_sse_nor_an_error() -> None:
    with pytest.raises(UnexpectedResponseError, match="not server-sent events"):
        await _run(_exchange(200, b'{"text": "hi"}'), Reader())
    with pytest.raises(UnexpectedResponseError, match="the stream is not JSON"):
        await _run(_exchange(200, b"<html>"), Reader())


async def test_ndjson_lines_split_anywhere() -> None:
    body = Body(b'{"t": "a"}\n{"t"', b': "b"}\r\n\n', b'{"t": "c"}')
    reader = Reader()
    exchange = _exchange(200, body, "application/x-ndjson")
    assert await _run(exchange, reader, framing="ndjson") == ["a", "b", "c"]
    assert [f.event for f in reader.frames] == ["", "", ""]
    assert reader.finished == [False]
    with pytest.raises(UnexpectedResponseError, match="a stream line is not an object"):
        await _run(_exchange(200, b"[1]\n", "application/x-ndjson"), Reader(), framing="ndjson")


async def test_a_400_status_is_mapped_before_any_framing() -> None:
    with pytest.raises(BadRequestError):
        await _run(_exchange(400, b'{"error": {"message": "no"}}'), Reader())


async def test_the_plan_is_made_when_iteration_starts() -> None:
    made: list[str] = []

    def plan() -> StreamPlan:
        made.append("plan")
        raise UnexpectedResponseError("cannot build", provider="acme", model_id="m-1")

    events = _exchange(200, b"").stream(URL, plan, framing="sse")
    assert made == []  # calling stream() builds nothing: errors come from iteration
    with pytest.raises(UnexpectedResponseError, match="cannot build"):
        await anext(events)
    assert made == ["plan"]


async def test_each_url_is_parsed_once_and_sent_as_the_client_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[httpx2.Request] = []
    exchange = _exchange(200, b"{}", "application/json", seen)
    parsed: list[object] = []
    real = httpx2.URL

    def counting(url: object = "", **kwargs: Any) -> httpx2.URL:
        if isinstance(url, str):
            parsed.append(url)
        return real(url, **kwargs)

    # Only the exchange's own parses are counted: the client reaches the class
    # from its own module, not through this name, and is handed the parsed URL.
    monkeypatch.setattr(httpx2, "URL", counting)
    other = "http://127.0.0.1:9/v1/y?alt=sse"
    for url in (URL, URL, other, URL):
        await exchange.post_json(url, {})
    assert parsed == [URL, other]
    assert [str(r.url) for r in seen] == [URL, URL, other, URL]
    assert [r.url for r in seen] == [real(URL), real(URL), real(other), real(URL)]


async def test_a_url_that_does_not_parse_fails_at_the_call_every_time() -> None:
    exchange = _exchange(200, b"{}", "application/json")
    for _ in range(2):  # not remembered: the second call fails alike
        with pytest.raises(httpx2.InvalidURL, match="non-printable"):
            await exchange.post_json("http://127.0.0.1:9/v1/\x01", {})
