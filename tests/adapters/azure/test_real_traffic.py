"""Every recorded Azure OpenAI exchange, replayed through the Azure adapters.

Bodies are served from an ``httpx2.MockTransport`` in small byte slices, so
the adapters' real ``generate``/``stream`` paths read them; the transport
checks that the request went to the recorded URL (path and ``api-version``)
with the ``api-key`` header. Expectations are read from the recordings
independently of the parser. Fixtures and their provenance:
``tests/fixtures/real_traffic/azure_openai``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.azure import create_azure_adapter, create_azure_responses_adapter

from agentkit import (
    Message,
    ModelRequest,
    ModelSettings,
    ReasoningPart,
    ResponseStartEvent,
    TextDeltaEvent,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
    Usage,
)
from agentkit.exceptions import ContentFilterError, ModelNotFoundError
from tests.properties._traffic import (
    final_response,
    mock_client,
    read_json,
    sliced_response,
    sse_payloads,
    stream_events,
)

pytestmark = pytest.mark.anyio

CASES = Path(__file__).parents[2] / "fixtures" / "real_traffic" / "azure_openai"
KEY = "azure-test-planted"


def _meta(case: str, prefix: str = "") -> dict[str, Any]:
    return dict(read_json(CASES / case / f"{prefix}meta.json"))


def _payloads(case: str, prefix: str = "") -> list[dict[str, Any]]:
    """The recorded ``data:`` payloads, read without the adapter's parser."""
    return sse_payloads((CASES / case / f"{prefix}response.sse").read_text())


class Replay:
    """A transport answering one recorded body, checking URL and key on the way."""

    def __init__(self, case: str, prefix: str = "") -> None:
        meta = _meta(case, prefix)
        self.uri = httpx2.URL(meta["uri"])
        self.status = meta["status"]
        self.content_type = meta["content_type"]
        self.body = (CASES / case / meta["response_file"]).read_bytes()
        self.requests: list[dict[str, Any]] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        assert (request.url.host, request.url.path) == (self.uri.host, self.uri.path)
        assert dict(request.url.params) == dict(self.uri.params)
        assert request.headers["api-key"] == KEY
        assert "authorization" not in request.headers
        self.requests.append(json.loads(request.content))
        # The 404 was recorded with no Content-Type header at all: none is sent.
        return sliced_response(self.status, self.content_type, self.body, 41)

    def client(self) -> httpx2.AsyncClient:
        return mock_client(self.handler)

    def endpoint(self) -> str:
        return f"{self.uri.scheme}://{self.uri.host}"

    def version(self) -> str | None:
        return self.uri.params.get("api-version")


def _chat(replay: Replay, deployment: str) -> Any:
    return create_azure_adapter(
        deployment,
        endpoint=replay.endpoint(),
        api_key=KEY,
        api_version=replay.version(),
        http_client=replay.client(),
    )


def _responses(replay: Replay, deployment: str) -> Any:
    return create_azure_responses_adapter(
        deployment,
        endpoint=replay.endpoint(),
        api_key=KEY,
        api_version=replay.version(),
        http_client=replay.client(),
    )


def _request(case: str, prefix: str = "") -> ModelRequest:
    """The neutral request whose messages match the recorded request's text."""
    wire = read_json(CASES / case / f"{prefix}request.json")
    messages = []
    for item in wire.get("messages") or wire.get("input") or ():
        content = item.get("content")
        text = content if isinstance(content, str) else content[0]["text"]
        messages.append(Message.system(text) if item["role"] == "system" else Message.user(text))
    return ModelRequest(messages=messages)


def _chat_usage(wire: dict[str, Any]) -> Usage:
    details = wire.get("completion_tokens_details") or {}
    prompt = wire.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=wire["prompt_tokens"],
        output_tokens=wire["completion_tokens"],
        cache_read_input_tokens=prompt.get("cached_tokens", 0),
        reasoning_output_tokens=details.get("reasoning_tokens", 0),
    )


# -- the dated deployments API -----------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["0.", "1."])
async def test_deployment_chat_json_2024_and_2026(prefix: str) -> None:
    case = "chat_json_deployments_2024_and_2026"
    replay = Replay(case, prefix)
    wire = read_json(CASES / case / f"{prefix}response.json")
    response = await _chat(replay, "openllmetry-testing").generate(_request(case, prefix))
    (choice,) = wire["choices"]
    assert response.message.parts == [TextPart(text=choice["message"]["content"])]
    assert (response.finish_reason, response.raw_finish_reason) == ("stop", "stop")
    assert response.response_id == wire["id"]
    assert response.model_id == wire["model"]
    assert response.usage == _chat_usage(wire["usage"])
    assert response.provider == "azure"
    # Every verdict in these answers is "safe" / not detected: nothing to report.
    assert response.warnings == []
    assert replay.requests[0]["model"] == "openllmetry-testing"
    assert (
        replay.requests[0]["messages"]
        == read_json(CASES / case / f"{prefix}request.json")["messages"]
    )


async def test_deployment_reasoning_json_counts_reasoning_tokens() -> None:
    case = "chat_reasoning_json_deployment"
    replay = Replay(case)
    wire = read_json(CASES / case / "response.json")
    request = replace(_request(case), settings=ModelSettings(reasoning_effort="low"))
    adapter = _chat(replay, "gpt-5-nano")
    response = await adapter.generate(request)
    assert response.message.text == wire["choices"][0]["message"]["content"]
    assert response.usage == _chat_usage(wire["usage"])
    assert response.usage is not None
    assert response.usage.reasoning_output_tokens == 192
    assert replay.requests[0]["reasoning_effort"] == "low"


@pytest.mark.parametrize("prefix", ["0.", "1."])
async def test_deployment_stream_skips_the_filter_only_opening_chunk(prefix: str) -> None:
    case = "chat_stream_deployments_2024_and_2026"
    payloads = _payloads(case, prefix)
    opening = payloads[0]
    assert (opening["choices"], opening["id"], opening["model"]) == ([], "", "")
    real = payloads[1]
    text = "".join(
        c["delta"].get("content") or "" for p in payloads for c in p["choices"] if "delta" in c
    )
    adapter = _chat(Replay(case, prefix), "openllmetry-testing")
    events = await stream_events(adapter, _request(case, prefix))
    start = events[0]
    assert isinstance(start, ResponseStartEvent)
    assert (start.response_id, start.model_id) == (real["id"], real["model"])
    assert "".join(e.text for e in events if isinstance(e, TextDeltaEvent)) == text
    response = final_response(events)
    assert response.message.parts == [TextPart(text=text)]
    assert response.finish_reason == "stop"
    assert response.response_id == real["id"]
    assert response.warnings == []


async def test_deployment_stream_2024_sends_no_stream_options() -> None:
    # api-version 2024-02-01 predates stream_options and max_completion_tokens.
    case = "chat_stream_deployments_2024_and_2026"
    replay = Replay(case, "0.")
    request = replace(_request(case, "0."), settings=ModelSettings(max_tokens=64))
    await stream_events(_chat(replay, "openllmetry-testing"), request)
    (sent,) = replay.requests
    assert "stream_options" not in sent
    assert sent["max_tokens"] == 64
    assert "max_completion_tokens" not in sent


async def test_answer_stopped_by_the_filter_with_no_message_is_a_content_filter_error() -> None:
    case = "content_filter_finish_reason_completion"
    wire = read_json(CASES / case / "response.json")
    assert "message" not in wire["choices"][0]
    replay = Replay(case)
    with pytest.raises(ContentFilterError) as caught:
        await _chat(replay, "openllmetry-testing").generate(_request(case))
    error = caught.value
    assert "blocked the answer" in str(error)
    assert "hate (severity high)" in str(error)
    assert "sexual" not in str(error)  # filtered: false is not a reason
    assert error.code == "content_filter"


async def test_unknown_deployment_without_content_type_is_model_not_found() -> None:
    case = "error_404_deployment_not_found"
    replay = Replay(case)
    assert replay.content_type is None
    wire = read_json(CASES / case / "response.json")
    with pytest.raises(ModelNotFoundError) as caught:
        await _chat(replay, "gpt-5-nano").generate(_request(case))
    error = caught.value
    assert error.status_code == 404
    assert error.code == "DeploymentNotFound"
    assert "deployment 'gpt-5-nano' not found" in str(error)
    assert wire["error"]["message"] in str(error)
    assert error.body == wire


# -- the v1 API ------------------------------------------------------------------------------


async def test_v1_chat_json_ignores_latency_checkpoint_and_sends_the_recorded_body() -> None:
    case = "v1_chat_json_latency_checkpoint"
    replay = Replay(case)
    assert replay.version() is None
    wire = read_json(CASES / case / "response.json")
    assert "latency_checkpoint" in wire["usage"]
    request = replace(_request(case), settings=ModelSettings(max_tokens=4000))
    response = await _chat(replay, "gpt-5-mini").generate(request)
    assert response.message.parts == [TextPart(text=wire["choices"][0]["message"]["content"])]
    assert response.usage == _chat_usage(wire["usage"])
    assert replay.requests == [read_json(CASES / case / "request.json")]


WEATHER = ToolDefinition(
    name="weather",
    description="Get weather information for a location",
    input_schema={
        "type": "object",
        "properties": {"location": {"type": "string", "description": "the city"}},
        "required": ["location"],
    },
)


async def test_v1_chat_tool_stream_then_tool_result() -> None:
    case = "v1_chat_tool_stream_then_tool_result"
    payloads = _payloads(case, "0.")
    fragments = [
        call
        for p in payloads
        for c in p["choices"]
        for call in (c.get("delta") or {}).get("tool_calls") or ()
    ]
    arguments = json.loads("".join(f["function"].get("arguments") or "" for f in fragments))
    opening = fragments[0]
    usage_chunk = payloads[-1]
    assert usage_chunk["choices"] == []
    assert "latency_checkpoint" in usage_chunk
    request = replace(_request(case, "0."), tools=[WEATHER])
    events = await stream_events(_chat(Replay(case, "0."), "gpt-5-mini"), request)
    first = final_response(events)
    assert first.message.parts == [
        ToolCallPart(id=opening["id"], name=opening["function"]["name"], arguments=arguments)
    ]
    assert first.finish_reason == "tool_calls"
    assert first.usage == _chat_usage(usage_chunk["usage"])

    later = _payloads(case, "1.")
    text = "".join((c.get("delta") or {}).get("content") or "" for p in later for c in p["choices"])
    result = ToolResultPart(call_id=opening["id"], name="weather", content=[TextPart(text="40 C")])
    follow_up = replace(
        request,
        messages=[
            *request.messages,
            first.message,
            Message(role="tool", parts=[result]),
        ],
    )
    replay = Replay(case, "1.")
    second = final_response(await stream_events(_chat(replay, "gpt-5-mini"), follow_up))
    assert second.message.parts == [TextPart(text=text)]
    assert second.finish_reason == "stop"
    sent = replay.requests[0]["messages"]
    assert sent[2]["tool_calls"][0]["id"] == opening["id"]
    assert sent[3] == {"role": "tool", "tool_call_id": opening["id"], "content": "40 C"}


async def test_v1_responses_json_keeps_text_reasoning_and_usage() -> None:
    case = "v1_responses_json_content_filters"
    replay = Replay(case)
    wire = read_json(CASES / case / "response.json")
    assert [f["blocked"] for f in wire["content_filters"]] == [False, False]
    response = await _responses(replay, "gpt-5-mini").generate(_request(case))
    reasoning, message = wire["output"]
    assert isinstance(response.message.parts[0], ReasoningPart)
    assert response.message.parts[0].id == reasoning["id"]
    assert response.message.parts[1:] == [TextPart(text=message["content"][0]["text"])]
    assert response.usage == Usage(
        input_tokens=wire["usage"]["input_tokens"],
        output_tokens=wire["usage"]["output_tokens"],
        reasoning_output_tokens=wire["usage"]["output_tokens_details"]["reasoning_tokens"],
    )
    assert response.provider == "azure-responses"
    assert response.warnings == []
    assert replay.requests[0]["model"] == "gpt-5-mini"


async def test_v1_responses_tool_stream_then_output() -> None:
    case = "v1_responses_tool_stream_then_output"
    payloads = _payloads(case, "0.")
    done = next(
        p["item"]
        for p in payloads
        if p["type"] == "response.output_item.done" and p["item"]["type"] == "function_call"
    )
    assert payloads[0]["response"]["content_filters"] is None
    assert payloads[-1]["response"]["content_filters"]
    request = replace(_request(case, "0."), tools=[WEATHER])
    first = final_response(
        await stream_events(_responses(Replay(case, "0."), "gpt-5-mini"), request)
    )
    calls = [p for p in first.message.parts if isinstance(p, ToolCallPart)]
    assert calls == [
        ToolCallPart(id=done["call_id"], name=done["name"], arguments=json.loads(done["arguments"]))
    ]
    assert first.finish_reason == "tool_calls"
    assert [w for w in first.warnings if w.feature == "content_filter"] == []

    later = _payloads(case, "1.")
    text = "".join(p["delta"] for p in later if p["type"] == "response.output_text.delta")
    result = ToolResultPart(call_id=done["call_id"], name="weather", content=[TextPart(text="40")])
    follow_up = replace(
        request, messages=[*request.messages, first.message, Message(role="tool", parts=[result])]
    )
    replay = Replay(case, "1.")
    second = final_response(await stream_events(_responses(replay, "gpt-5-mini"), follow_up))
    assert second.message.text == text
    assert second.finish_reason == "stop"
    outputs = [i for i in replay.requests[0]["input"] if i.get("type") == "function_call_output"]
    assert outputs == [{"type": "function_call_output", "call_id": done["call_id"], "output": "40"}]


async def test_dated_responses_preview_path_on_cognitiveservices() -> None:
    case = "responses_stream_preview_api_cognitiveservices"
    replay = Replay(case)
    assert replay.uri.host.endswith(".cognitiveservices.azure.com")
    assert replay.version() == "2025-03-01-preview"
    payloads = _payloads(case)
    text = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
    final = payloads[-1]["response"]
    # The item as output_item.done sent it (Azure re-encrypts it for response.completed).
    reasoning = next(
        p["item"]
        for p in payloads
        if p["type"] == "response.output_item.done" and p["item"]["type"] == "reasoning"
    )
    request = replace(_request(case), settings=ModelSettings(reasoning_effort="low"))
    response = final_response(await stream_events(_responses(replay, "gpt-5-nano"), request))
    assert response.message.text == text
    (part,) = [p for p in response.message.parts if isinstance(p, ReasoningPart)]
    assert part.signature == reasoning["encrypted_content"]
    assert response.usage is not None
    assert (
        response.usage.reasoning_output_tokens
        == final["usage"]["output_tokens_details"]["reasoning_tokens"]
    )
    sent = replay.requests[0]
    assert (sent["model"], sent["store"], sent["stream"]) == ("gpt-5-nano", False, True)
