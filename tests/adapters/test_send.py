"""The exchange's own request building and sending (``_send.py``) against httpx2's.

Every request and answer here is compared with what ``build_request`` and
``send`` make of the same input on the installed httpx2, so an upgrade that
changes what the short path leaves out fails here, not in a user's run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from agentkit_adapters._exchange import HTTPExchange
from agentkit_adapters._send import RequestMaker, plain, send

pytestmark = pytest.mark.anyio

URL = httpx2.URL("http://api.test/v1/chat/completions")
HEADERS = {"content-type": "application/json", "authorization": "Bearer k"}
Handler = Callable[[httpx2.Request], httpx2.Response]


def _answer(request: httpx2.Request) -> httpx2.Response:
    # A body still to read, as from a network: the client binds its elapsed time.
    body = b'{"ok": true, "sent": ' + request.content + b"}"
    return httpx2.Response(
        200, headers={"content-type": "application/json"}, stream=httpx2.ByteStream(body)
    )


def _client(handler: Handler = _answer, **options: Any) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.MockTransport(handler), **options)


def _same_request(ours: httpx2.Request, theirs: httpx2.Request) -> None:
    assert ours.method == theirs.method
    assert ours.url == theirs.url
    assert ours.headers.raw == theirs.headers.raw
    assert ours.extensions == theirs.extensions
    assert ours.read() == theirs.read()


def _expected(
    client: httpx2.AsyncClient, url: httpx2.URL, content: bytes, timeout: float | None
) -> httpx2.Request:
    return client.build_request(
        "POST",
        url,
        content=content,
        headers=HEADERS,
        timeout=httpx2.Timeout(timeout) if timeout else httpx2.USE_CLIENT_DEFAULT,
    )


@pytest.mark.parametrize("timeout", [None, 7.5])
async def test_a_made_request_is_the_one_build_request_makes(timeout: float | None) -> None:  # noqa: ASYNC109
    make = RequestMaker()
    async with _client(headers={"x-team": "a"}, timeout=30) as client:
        for content in (b'{"a":1}', b'{"a":22}', b""):  # the second and third reuse the merge
            _same_request(
                make(client, URL, content, HEADERS, timeout),
                _expected(client, URL, content, timeout),
            )
        other = httpx2.URL("http://other.test:8080/v1/x")  # another host: its own Host header
        _same_request(
            make(client, other, b"{}", HEADERS, timeout), _expected(client, other, b"{}", timeout)
        )


async def test_a_change_to_the_client_or_the_headers_is_merged_again() -> None:
    make = RequestMaker()
    async with _client() as client, _client(headers={"x-other": "1"}) as second:
        make(client, URL, b"{}", HEADERS, None)
        client.headers["x-added"] = "later"
        _same_request(make(client, URL, b"{}", HEADERS, None), _expected(client, URL, b"{}", None))
        _same_request(make(second, URL, b"{}", HEADERS, None), _expected(second, URL, b"{}", None))
        fresh = {**HEADERS, "x-call": "2"}
        built = make(second, URL, b"{}", fresh, None)
        assert built.headers["x-call"] == "2"
        assert built.headers["x-other"] == "1"


async def test_cookies_params_and_credentials_in_the_url_go_through_build_request() -> None:
    make = RequestMaker()
    async with _client(cookies={"session": "s1"}) as cookies, _client(params={"v": "2"}) as params:
        assert make(cookies, URL, b"{}", HEADERS, None).headers["cookie"] == "session=s1"
        assert make(params, URL, b"{}", HEADERS, None).url.params["v"] == "2"
    async with _client() as client:
        make(client, URL, b"{}", HEADERS, None)  # remembered, then a cookie arrives
        client.cookies.set("late", "1", domain="api.test")
        assert make(client, URL, b"{}", HEADERS, None).headers["cookie"] == "late=1"
        secret = httpx2.URL("http://user:pw@api.test/v1/x")
        _same_request(
            make(client, secret, b"{}", HEADERS, None), _expected(client, secret, b"{}", None)
        )


async def test_which_clients_are_plain() -> None:
    class Mine(httpx2.AsyncClient):
        pass

    async def hook(_: Any) -> None:
        return None

    assert plain(_client())
    assert not plain(Mine())
    assert not plain(_client(auth=("u", "p")))
    assert not plain(_client(follow_redirects=True))
    assert not plain(_client(event_hooks={"request": [hook]}))
    assert not plain(_client(event_hooks={"response": [hook]}))
    assert not plain(_client(cookies={"a": "b"}))
    assert not plain(_client(params={"a": "b"}))
    assert not plain(_client(base_url="http://api.test/v1"))


async def _both(
    handler: Handler, request_of: Callable[[httpx2.AsyncClient], httpx2.Request]
) -> tuple[httpx2.Response, httpx2.Response]:
    """The answer to one request sent through ``send`` and through ``AsyncClient.send``."""
    answers = []
    for sender in (send, lambda c, r: c.send(r, stream=True)):
        async with _client(handler) as client:
            request = request_of(client)
            response = await sender(client, request)
            assert response.request is request
            await response.aread()
            await response.aclose()
            answers.append(response)
    return answers[0], answers[1]


async def test_an_answer_sent_directly_is_the_one_send_gives() -> None:
    ours, theirs = await _both(_answer, lambda c: c.build_request("POST", URL, content=b"{}"))
    assert (ours.status_code, ours.headers.raw, ours.content) == (
        theirs.status_code,
        theirs.headers.raw,
        theirs.content,
    )
    assert ours.history == theirs.history == []
    assert ours.json() == {"ok": True, "sent": {}}
    assert ours.elapsed.total_seconds() >= 0  # the stream was bound: elapsed is set on close
    assert theirs.elapsed.total_seconds() >= 0
    assert ours.http_version == theirs.http_version
    assert ours.next_request is None


async def test_a_redirect_is_offered_not_followed_as_send_does() -> None:
    def moved(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(307, headers={"location": "/v2/chat"})

    ours, theirs = await _both(moved, lambda c: c.build_request("POST", URL, content=b"{}"))
    assert ours.status_code == 307
    assert ours.next_request is not None
    assert theirs.next_request is not None
    assert ours.next_request.url == theirs.next_request.url == "http://api.test/v2/chat"
    assert ours.next_request.method == theirs.next_request.method == "POST"


async def test_a_cookie_in_an_answer_is_kept_by_the_client() -> None:
    def sets(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"set-cookie": "seen=1; Path=/"}, json={})

    async with _client(sets) as client:
        response = await send(client, client.build_request("POST", URL, content=b"{}"))
        await response.aclose()
        assert client.cookies["seen"] == "1"
        assert not plain(client)  # so the next request merges it, through build_request


async def test_a_closed_client_refuses_and_a_used_one_cannot_be_opened_again() -> None:
    client = _client()
    response = await send(client, client.build_request("POST", URL, content=b"{}"))
    await response.aclose()
    with pytest.raises(RuntimeError, match="Cannot open a client instance more than once"):
        await client.__aenter__()
    await client.aclose()
    with pytest.raises(RuntimeError, match="the client has been closed"):
        await send(client, client.build_request("POST", URL, content=b"{}"))


async def test_a_client_with_auth_hooks_or_redirects_gets_the_whole_send() -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/old":
            return httpx2.Response(302, headers={"location": "/new"})
        return httpx2.Response(200, json={"authorization": request.headers.get("authorization")})

    async def on_request(request: httpx2.Request) -> None:
        seen.append(f"request {request.url.path}")

    async def on_response(response: httpx2.Response) -> None:
        seen.append(f"response {response.status_code}")

    hooks = {"request": [on_request], "response": [on_response]}
    async with _client(handler, auth=("u", "p"), follow_redirects=True, event_hooks=hooks) as c:
        response = await send(c, c.build_request("POST", "http://api.test/old", content=b""))
        await response.aread()
        await response.aclose()
    assert response.json()["authorization"] == httpx2.BasicAuth("u", "p")._auth_header
    assert [r.status_code for r in response.history] == [302]
    assert seen == ["request /old", "response 302", "request /new", "response 200"]
    async with _client(handler) as c:  # credentials in the URL: basic auth, as send() makes it
        secret = c.build_request("POST", "http://u:p@api.test/x", content=b"")
        response = await send(c, secret)
        await response.aread()
        assert response.json()["authorization"] == httpx2.BasicAuth("u", "p")._auth_header


async def test_the_exchange_sends_what_build_request_would() -> None:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, json={"n": len(sent)})

    async with _client(handler, headers={"x-team": "a"}) as client:
        exchange = HTTPExchange("openai", "m", "http://api.test/v1", headers=HEADERS, client=client)
        for n in (1, 2):
            assert await exchange.post_json(str(URL), {"n": n}) == {"n": n}
        assert (await exchange.post(str(URL), {"n": 3}, http_timeout=5.0)).json() == {"n": 3}
        for request, (body, timeout) in zip(
            sent, [(b'{"n": 1}', None), (b'{"n": 2}', None), (b'{"n": 3}', 5.0)], strict=True
        ):
            expected = client.build_request(
                "POST",
                URL,
                content=body,
                headers=exchange.headers,
                timeout=httpx2.Timeout(timeout) if timeout else httpx2.USE_CLIENT_DEFAULT,
            )
            _same_request(request, expected)


async def test_the_exchange_sends_a_cookie_it_was_given_back() -> None:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, headers={"set-cookie": "affinity=7; Path=/"}, json={})

    async with _client(handler) as client:
        exchange = HTTPExchange("openai", "m", "http://api.test/v1", headers=HEADERS, client=client)
        await exchange.post_json(str(URL), {})
        await exchange.post_json(str(URL), {})
    assert "cookie" not in sent[0].headers
    assert sent[1].headers["cookie"] == "affinity=7"
