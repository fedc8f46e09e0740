"""The Open Responses presets: where each posts, what it needs, and framing any server may use.

The framing cases (``data:`` before ``event:``, comment lines, a final
``[DONE]``, an error body sent as ``application/octet-stream``) are legal
SSE or HTTP that no recording here shows; they are built by hand to check
that the one Responses reader takes them from any host.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2
import pytest
from agentkit_adapters.openresponses import RESPONSES_PRESETS, responses_preset_adapter

import agentkit
from agentkit import Message, ModelRequest, ReasoningDeltaEvent, ReasoningPart, ResponseEndEvent
from agentkit.exceptions import BadRequestError, UserError

pytestmark = pytest.mark.anyio

REQUEST = ModelRequest(messages=[Message.user("hi")])


@pytest.mark.parametrize(
    ("name", "env", "url"),
    [
        ("deepseek-responses", {"DEEPSEEK_API_KEY": "k"}, "https://api.deepseek.com/responses"),
        (
            "openrouter-responses",
            {"OPENROUTER_API_KEY": "k"},
            "https://openrouter.ai/api/v1/responses",
        ),
        (
            "bedrock-responses",
            {"AWS_BEARER_TOKEN_BEDROCK": "k"},
            "https://bedrock-mantle.us-east-1.api.aws/v1/responses",
        ),
        (
            "bedrock-responses",
            {"AWS_BEARER_TOKEN_BEDROCK": "k", "AWS_REGION": "eu-west-1"},
            "https://bedrock-mantle.eu-west-1.api.aws/v1/responses",
        ),
        (
            "openresponses",
            {"OPENRESPONSES_BASE_URL": "http://127.0.0.1:9/v1/"},
            "http://127.0.0.1:9/v1/responses",
        ),
    ],
)
def test_each_preset_posts_to_its_host(name: str, env: dict[str, str], url: str) -> None:
    adapter = responses_preset_adapter(name, "m", env=env)
    assert adapter._url == url
    assert adapter.provider == name


def test_openresponses_needs_a_base_url_and_takes_the_option() -> None:
    with pytest.raises(UserError, match="--base-url"):
        responses_preset_adapter("openresponses", "m", env={})
    adapter = responses_preset_adapter("openresponses", "m", env={}, base_url="http://h:1")
    assert adapter._url == "http://h:1/responses"
    assert "authorization" not in adapter._http.headers  # a local server needs no key


def test_hosted_presets_need_their_key() -> None:
    with pytest.raises(UserError, match="DEEPSEEK_API_KEY is not set"):
        responses_preset_adapter("deepseek-responses", "deepseek-v4-flash", env={})


def test_every_preset_is_an_entry_point_with_the_responses_wire() -> None:
    from agentkit._registry import adapter_factory, wire_protocol

    for name in RESPONSES_PRESETS:
        assert adapter_factory(name) is not None
        assert wire_protocol(name) == "openai-responses"
    assert wire_protocol("azure") == "openai-chat"
    assert wire_protocol("azure-responses") == "openai-responses"


def _adapter(answer: Callable[[httpx2.Request], httpx2.Response]) -> agentkit.ModelAdapter:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    return responses_preset_adapter(
        "openresponses", "m", env={}, base_url="http://h", client=client
    )


def _event(kind: str, **fields: object) -> str:
    return json.dumps({"type": kind, **fields})


async def test_data_before_event_comments_and_a_final_done_are_read() -> None:
    done = {"id": "r1", "status": "completed", "model": "m", "output": [], "usage": None}
    body = (
        ": keep-alive\n\n"
        f"data: {_event('response.created', response={'id': 'r1', 'model': 'm'})}\n"
        "event: response.created\n\n"
        ": PROCESSING\n\n"
        f"data: {_event('response.output_text.delta', output_index=0, delta='Hel')}\n"
        "event: response.output_text.delta\n\n"
        "event: response.output_text.delta\n"
        f"data: {_event('response.output_text.delta', delta='lo')}\n\n"
        f"data: {_event('response.completed', response=done)}\nevent: response.completed\n\n"
        "data: [DONE]\n\n"
    )
    adapter = _adapter(
        lambda r: httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=body)
    )
    events = [e async for e in adapter.stream(REQUEST)]
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    assert end.response.message.text == "Hello"
    assert end.response.response_id == "r1"


async def test_an_error_sent_as_octet_stream_is_still_read() -> None:
    error = {"error": {"message": "unknown parameter: store", "type": "invalid_request_error"}}

    def answer(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "application/octet-stream"}
        return httpx2.Response(400, headers=headers, content=json.dumps(error).encode())

    with pytest.raises(BadRequestError, match="unknown parameter: store"):
        await _adapter(answer).generate(REQUEST)


async def test_reasoning_as_the_specification_streams_it() -> None:
    # The Open Responses spec names raw reasoning deltas response.reasoning.delta,
    # and keeps the text in the reasoning item's content as reasoning_text.
    item = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "Think twice."}],
    }
    done = {"id": "r1", "status": "completed", "model": "m", "output": [item], "usage": None}
    frames = [
        _event("response.created", response={"id": "r1", "model": "m"}),
        _event("response.output_item.added", output_index=0, item=item | {"content": []}),
        _event("response.reasoning.delta", output_index=0, content_index=0, delta="Think "),
        _event("response.reasoning.delta", output_index=0, content_index=0, delta="twice."),
        _event("response.output_item.done", output_index=0, item=item),
        _event("response.completed", response=done),
    ]
    body = "".join(f"data: {f}\n\n" for f in frames)
    adapter = _adapter(
        lambda r: httpx2.Response(200, headers={"content-type": "text/event-stream"}, text=body)
    )
    events = [e async for e in adapter.stream(REQUEST)]
    assert [e.text for e in events if isinstance(e, ReasoningDeltaEvent)] == ["Think ", "twice."]
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    (part,) = end.response.message.parts
    assert isinstance(part, ReasoningPart)
    assert (part.text, part.id) == ("Think twice.", "rs_1")
