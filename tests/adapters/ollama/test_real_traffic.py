"""Every recorded Ollama ``/api/chat`` exchange, replayed through the native adapter.

Bodies are served from an ``httpx2.MockTransport`` in small byte slices, so
the adapter's real ``generate``/``stream`` path (NDJSON line splitting
included) reads them, and our request bodies are compared with the recorded
ones. Fixtures and their provenance: ``tests/fixtures/real_traffic/ollama``.
``tool_call_stream_docs_example`` is Ollama's documented example output, not a
recording; it is replayed for its documented shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.ollama import OllamaAdapter, to_ollama_request

from agentkit import (
    Message,
    ModelRequest,
    ModelSettings,
    StreamEvent,
    TextDeltaEvent,
    TextPart,
    ToolCallEndEvent,
    ToolCallPart,
    ToolCallStartEvent,
    ToolDefinition,
    Usage,
)
from agentkit.exceptions import BadRequestError, UnsupportedFeatureError
from tests.properties._traffic import (
    final_response,
    mock_client,
    read_json,
    sliced_response,
    stream_events,
)

pytestmark = pytest.mark.anyio

CASES = Path(__file__).parents[2] / "fixtures" / "real_traffic" / "ollama"


def _ndjson(case: str) -> list[dict[str, Any]]:
    """The recorded lines, read independently of the adapter."""
    lines = (CASES / case / "response.ndjson").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


class Replay:
    """An adapter whose HTTP answers are one recorded body, sliced into small reads."""

    def __init__(self, status: int, body: bytes, content_type: str, slice_size: int = 29) -> None:
        self.requests: list[dict[str, Any]] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            assert request.url.path == "/api/chat"
            self.requests.append(json.loads(request.content))
            return sliced_response(status, content_type, body, slice_size)

        client = mock_client(handler)
        self.adapter = OllamaAdapter("gemma3:1b", client=client)


REQUEST = ModelRequest(messages=[Message.user("hi")])


def _replay(case: str, **kwargs: Any) -> Replay:
    body = (CASES / case / "response.ndjson").read_bytes()
    return Replay(200, body, "application/x-ndjson", **kwargs)


async def _stream(case: str, **kwargs: Any) -> list[StreamEvent]:
    return await stream_events(_replay(case, **kwargs).adapter, REQUEST)


@pytest.mark.parametrize("case", ["chat_stream_ndjson_gemma3", "chat_format_json"])
@pytest.mark.parametrize("slice_size", [1, 29, 1 << 16])
async def test_text_streams(case: str, slice_size: int) -> None:
    lines = _ndjson(case)
    text = "".join(line["message"]["content"] for line in lines)
    final = lines[-1]
    events = await _stream(case, slice_size=slice_size)
    response = final_response(events)
    deltas = [e.text for e in events if isinstance(e, TextDeltaEvent)]
    assert deltas == [line["message"]["content"] for line in lines if line["message"]["content"]]
    assert "".join(deltas) == text == response.message.text
    assert response.message.parts == [TextPart(text=text)]
    assert (response.finish_reason, response.raw_finish_reason) == ("stop", final["done_reason"])
    assert response.usage == Usage(
        input_tokens=final["prompt_eval_count"], output_tokens=final["eval_count"]
    )
    assert (response.provider, response.model_id, response.response_id) == (
        "ollama",
        "gemma3:1b",
        None,
    )


async def test_format_json_fragments_concatenate_to_json() -> None:
    response = final_response(await _stream("chat_format_json"))
    # The 1B model's answer is wrong (a nautical mile is about 6,076 feet); the wire is right.
    assert json.loads(response.message.text) == {"answer": "600"}
    assert response.usage == Usage(input_tokens=25, output_tokens=9)


@pytest.mark.parametrize("case", ["chat_stream_ndjson_gemma3", "chat_format_json"])
async def test_generate_folds_a_body_that_streamed_anyway(case: str) -> None:
    # The recorded client left "stream" out, so the server streamed: generate still works.
    streamed = final_response(await _stream(case))
    whole = await _replay(case).adapter.generate(REQUEST)
    assert whole == streamed


async def test_documented_tool_call_stream() -> None:
    """Docs example, not a recording: the call arrives whole; done_reason says stop."""
    lines = _ndjson("tool_call_stream_docs_example")
    wire_call = lines[0]["message"]["tool_calls"][0]
    assert "id" not in wire_call
    assert lines[-1]["done_reason"] == "stop"
    events = await _stream("tool_call_stream_docs_example")
    assert [type(e).__name__ for e in events[1:-1]] == [
        "ToolCallStartEvent",
        "ToolCallDeltaEvent",
        "ToolCallEndEvent",
    ]
    start, end = events[1], events[3]
    assert isinstance(start, ToolCallStartEvent)
    assert isinstance(end, ToolCallEndEvent)
    response = final_response(events)
    assert response.message.parts == [
        ToolCallPart(id=start.id, name="get_weather", arguments={"city": "Tokyo"})
    ]
    assert end.call == response.message.parts[0]
    assert start.id.startswith("call_")
    # The id is stable: the same answer gets the same id.
    again = final_response(await _stream("tool_call_stream_docs_example", slice_size=3))
    assert again.message.tool_calls[0].id == start.id
    assert (response.finish_reason, response.raw_finish_reason) == ("tool_calls", "stop")
    assert response.model_id == "llama3.2"
    assert response.usage == Usage(input_tokens=169, output_tokens=15)


@pytest.mark.parametrize("streaming", [False, True])
async def test_model_without_tool_support_is_an_unsupported_feature(streaming: bool) -> None:
    case = CASES / "error_400_model_does_not_support_tools"
    meta = read_json(case / "meta.json")
    body = (case / "response.json").read_bytes()
    adapter = Replay(meta["status"], body, meta["content_type"]).adapter

    async def call() -> None:
        if streaming:
            async for _ in adapter.stream(REQUEST):
                pass
        else:
            await adapter.generate(REQUEST)

    with pytest.raises(UnsupportedFeatureError) as info:
        await call()
    error = info.value
    assert (error.provider, error.model_id) == ("ollama", "gemma3:1b")
    assert "registry.ollama.ai/library/gemma3:1b does not support tools" in str(error)
    # The HTTP error is kept as the cause: status and the plain-string body.
    cause = error.__cause__
    assert isinstance(cause, BadRequestError)
    assert cause.status_code == 400
    assert cause.body == json.loads(body)


# -- our requests against the recorded ones --------------------------------------------------


def test_format_json_request_matches_the_recorded_one() -> None:
    recorded = read_json(CASES / "chat_format_json" / "request.json")
    request = ModelRequest(
        messages=[Message.user(recorded["messages"][0]["content"])],
        settings=ModelSettings(temperature=0, extra={"format": "json"}),
    )
    body, warnings = to_ollama_request(request, model_id="gemma3:1b", stream=False)
    assert warnings == []
    # The recorder left "stream" out (and so got NDJSON); we always say it.
    assert body.pop("stream") is False
    assert body == recorded


def test_stream_request_matches_the_recorded_one() -> None:
    recorded = read_json(CASES / "chat_stream_ndjson_gemma3" / "request.json")
    request = ModelRequest(
        messages=[Message.user(recorded["messages"][0]["content"])],
        settings=ModelSettings(temperature=0),
    )
    body, _ = to_ollama_request(request, model_id="gemma3:1b", stream=True)
    # langchaingo always writes "format": ""; we leave an unused format out.
    assert recorded.pop("format") == ""
    assert body == recorded


def test_tool_request_matches_the_recorded_one() -> None:
    recorded = read_json(CASES / "error_400_model_does_not_support_tools" / "request.json")
    function = recorded["tools"][0]["function"]
    request = ModelRequest(
        messages=[Message.user(recorded["messages"][0]["content"])],
        tools=[
            ToolDefinition(
                name=function["name"],
                description=function["description"],
                input_schema=function["parameters"],
            )
        ],
    )
    body, warnings = to_ollama_request(request, model_id="gemma3:1b", stream=False)
    assert warnings == []
    # langchaingo's empty "format" and "options" carry nothing; we leave them out.
    assert (recorded.pop("format"), recorded.pop("options")) == ("", {})
    assert body == recorded


def test_every_fixture_case_is_replayed() -> None:
    """A new case dropped into the fixtures must get a test here."""
    covered = {
        "chat_stream_ndjson_gemma3",
        "chat_format_json",
        "tool_call_stream_docs_example",
        "error_400_model_does_not_support_tools",
    }
    present = {p.name for p in CASES.iterdir() if p.is_dir()}
    assert present == covered
    for name in present:
        provenance = (CASES / name / "PROVENANCE.md").read_text()
        assert "source repository" in provenance, name
    docs = (CASES / "tool_call_stream_docs_example" / "PROVENANCE.md").read_text()
    assert "Not a recording" in docs
