"""The shared HTTP pieces: SSE parsing, error mapping, the transport seam, pooled clients."""

from __future__ import annotations

import asyncio
import email.utils
from typing import Any

import httpx2
import pytest
from agentkit_adapters import _http
from agentkit_adapters._http import TransportErrors, aclose_shared_clients, shared_client

from agentkit.adapter import SSEDecoder, SSEEvent, map_http_error, parse_retry_after
from agentkit.exceptions import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ContextLengthError,
    ModelNotFoundError,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

# -- SSE -----------------------------------------------------------------------------------


def _feed_all(decoder: SSEDecoder, *chunks: bytes) -> list[SSEEvent]:
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.flush()


def test_sse_lf_framing() -> None:
    body = b'data: {"a":1}\n\ndata: [DONE]\n\n'
    assert _feed_all(SSEDecoder(), body) == [
        SSEEvent("message", '{"a":1}'),
        SSEEvent("message", "[DONE]"),
    ]


def test_sse_crlf_framing_split_between_cr_and_lf() -> None:
    # Gemini frames end in \r\n\r\n; a chunk boundary may fall inside one.
    body = b"data: one\r\n\r\ndata: two\r\n\r\n"
    for cut in range(1, len(body)):
        assert _feed_all(SSEDecoder(), body[:cut], body[cut:]) == [
            SSEEvent("message", "one"),
            SSEEvent("message", "two"),
        ], cut


def test_sse_lone_cr_line_endings() -> None:
    assert _feed_all(SSEDecoder(), b"data: a\rdata: b\r\r") == [SSEEvent("message", "a\nb")]


def test_sse_multi_line_data_comments_and_event_names() -> None:
    body = b': keep-alive\n\nevent: error\ndata: {"x":\ndata: 1}\nid: 7\nretry: 10\n\n'
    assert _feed_all(SSEDecoder(), body) == [SSEEvent("error", '{"x":\n1}')]


def test_sse_byte_by_byte_with_multibyte_utf8() -> None:
    body = 'data: {"t":"héllo ✓"}\n\n'.encode()
    decoder = SSEDecoder()
    events = _feed_all(decoder, *(body[i : i + 1] for i in range(len(body))))
    assert events == [SSEEvent("message", '{"t":"héllo ✓"}')]


def test_sse_unterminated_last_event_is_flushed() -> None:
    assert _feed_all(SSEDecoder(), b"data: last") == [SSEEvent("message", "last")]


def test_sse_field_without_space_and_event_name_reset() -> None:
    body = b"event: a\ndata:x\n\ndata: y\n\n"
    assert _feed_all(SSEDecoder(), body) == [SSEEvent("a", "x"), SSEEvent("message", "y")]


def test_sse_rare_spellings_of_fields_take_the_general_path() -> None:
    # Only "data: " and "event: " have a fast path: the other spellings must read the same.
    body = b"event:b\ndata:\ndata\ndata:  two spaces\nevents: no\ndatum: no\n\n"
    assert _feed_all(SSEDecoder(), body) == [SSEEvent("b", "\n\n two spaces")]


# -- Retry-After -----------------------------------------------------------------------------


def test_retry_after_seconds_ms_and_date() -> None:
    assert parse_retry_after(httpx2.Headers({"Retry-After": "2"})) == 2.0
    assert parse_retry_after(httpx2.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after({"retry-after": when}, now=1_000_000) == 30.0
    assert parse_retry_after({"retry-after": when}, now=2_000_000) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


# -- error mapping ---------------------------------------------------------------------------


def _openai_body(
    message: str, code: str | None, kind: str = "invalid_request_error"
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, _openai_body("Incorrect API key provided", "invalid_api_key"), AuthenticationError),
        (403, _openai_body("Forbidden", None), AuthenticationError),
        (
            429,
            _openai_body("Rate limit reached", "rate_limit_exceeded", "requests"),
            RateLimitError,
        ),
        (429, _openai_body("You exceeded your quota", "insufficient_quota"), RateLimitError),
        (404, _openai_body("The model `x` does not exist", "model_not_found"), ModelNotFoundError),
        (400, _openai_body("The model `x` does not exist", "model_not_found"), ModelNotFoundError),
        (
            400,
            _openai_body(
                "This model's maximum context length is 128000", "context_length_exceeded"
            ),
            ContextLengthError,
        ),
        (400, _openai_body("blocked", "content_filter"), ContentFilterError),
        (400, _openai_body("Unsupported parameter", "unsupported_parameter"), BadRequestError),
        (422, "unprocessable", BadRequestError),
        (500, _openai_body("The server had an error", None, "server_error"), ServerError),
        (503, b"<html>Service Unavailable</html>", ServerError),
        (302, b"", ProviderHTTPError),
        # Gemini: a bad key is a 400 whose details say API_KEY_INVALID.
        (
            400,
            {
                "error": {
                    "code": 400,
                    "message": "API key not valid.",
                    "status": "INVALID_ARGUMENT",
                    "details": [{"reason": "API_KEY_INVALID"}],
                }
            },
            AuthenticationError,
        ),
        # Ollama: the error is a plain string.
        (404, {"error": "model 'x' not found"}, ModelNotFoundError),
    ],
)
def test_map_http_error_classes(status: int, body: object, cls: type) -> None:
    error = map_http_error("openai", "gpt-x", status, {}, body)
    assert type(error) is cls
    assert error.status_code == status
    assert error.provider == "openai"
    assert error.model_id == "gpt-x"


def test_map_http_error_fields_and_actionable_messages() -> None:
    error = map_http_error(
        "openai",
        "gpt-x",
        401,
        {},
        b'{"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}',
        key_variable="OPENAI_API_KEY",
    )
    assert error.code == "invalid_api_key"
    assert error.body == {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}
    assert "OPENAI_API_KEY" in str(error)
    assert str(error).startswith("openai: 401 ")

    missing = map_http_error("openai", "gpt-x", 404, {}, b"", base_url="http://h/v1")
    assert "'gpt-x'" in str(missing)
    assert "http://h/v1" in str(missing)


def test_map_http_error_retry_after() -> None:
    error = map_http_error("openai", "m", 429, httpx2.Headers({"Retry-After": "7"}), b"{}")
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    assert "retry after 7 s" in str(error)
    gemini = {"error": {"code": 429, "details": [{"retryDelay": "31s"}]}}
    assert map_http_error("gemini", "m", 429, {}, gemini).retry_after == 31.0


def test_map_http_error_inside_a_200_stream_is_a_server_error() -> None:
    error = map_http_error("groq", "m", 200, {}, {"error": {"message": "boom", "type": "x"}})
    assert isinstance(error, ServerError)
    assert error.status_code == 200


# -- transport seam --------------------------------------------------------------------------


def test_transport_errors_become_connection_and_timeout_errors() -> None:
    seam = TransportErrors("openai", "m", "http://h")
    error = seam.translate(httpx2.ConnectError("refused"))
    assert type(error) is ProviderConnectionError
    assert "could not connect to http://h (refused)" in str(error)
    assert error.provider == "openai"

    request = httpx2.Request("POST", "http://h", extensions={"timeout": {"read": 7.5}})
    slow = seam.translate(httpx2.ReadTimeout("slow", request=request))
    assert isinstance(slow, ProviderTimeoutError)
    assert (slow.limit, slow.seconds) == ("read", 7.5)
    assert "no data came from http://h for 7.5 s (the read timeout" in str(slow)
    connect = seam.translate(httpx2.ConnectTimeout("slow"))
    assert isinstance(connect, ProviderTimeoutError)
    assert connect.limit == "connect"


# -- pooled clients --------------------------------------------------------------------------


def test_shared_client_is_per_loop_and_closed_loops_are_dropped() -> None:
    async def get() -> tuple[httpx2.AsyncClient, httpx2.AsyncClient, httpx2.AsyncClient]:
        return (
            shared_client("openai", "http://a"),
            shared_client("openai", "http://a"),
            shared_client("other", "http://a"),
        )

    first, again, other = asyncio.run(get())
    assert first is again
    assert first is not other
    limits = first._transport._pool  # type: ignore[attr-defined]
    assert limits._max_connections == 25
    second, _, _ = asyncio.run(get())  # a new loop, as run_sync makes
    assert second is not first
    # At most the loop that just ended is still listed; older closed ones were dropped.
    assert sum(loop.is_closed() for loop in _http._clients) <= 1

    async def close() -> None:
        shared_client("openai", "http://a")
        await aclose_shared_clients()

    asyncio.run(close())
