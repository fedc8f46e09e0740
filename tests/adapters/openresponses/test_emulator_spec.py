"""``OpenAIResponsesEmulator`` answers with response objects the Open Responses spec accepts.

The required fields are those of the specification's ``ResponseResource``
(openapi.json, version 2026-04-24); the spec's own compliance templates
(basic, streaming, system prompt, tool calling, image input, multi-turn)
were run against this emulator outside the repository with models generated
from that schema, and these checks keep what they found fixed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from agentkit import Message, ModelRequest, ToolCallPart
from agentkit.testing import OpenAIResponsesEmulator, serve_asgi

REQUIRED = {
    "id", "object", "created_at", "completed_at", "status", "incomplete_details", "model",
    "previous_response_id", "instructions", "output", "error", "tools", "tool_choice",
    "truncation", "parallel_tool_calls", "text", "top_p", "presence_penalty",
    "frequency_penalty", "top_logprobs", "temperature", "reasoning", "usage",
    "max_output_tokens", "max_tool_calls", "store", "background", "service_tier", "metadata",
    "safety_identifier", "prompt_cache_key",
}  # fmt: skip

TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a location",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
}


def _model(request: ModelRequest) -> Message | str:
    if request.tools:
        call = ToolCallPart(id="call_1", name="get_weather", arguments={"location": "Paris"})
        return Message(role="assistant", parts=[call])
    return "Hello"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve_asgi(OpenAIResponsesEmulator(_model)) as root:
        yield root


def _post(url: str, body: dict[str, Any]) -> httpx2.Response:
    with httpx2.Client() as client:
        return client.post(f"{url}/v1/responses", json=body)


@pytest.mark.parametrize("tools", [[], [TOOL]])
def test_a_whole_response_has_every_required_field(url: str, tools: list[Any]) -> None:
    body = {"model": "m", "input": [{"type": "message", "role": "user", "content": "hi"}]}
    response = _post(url, body | {"tools": tools, "temperature": 0.5}).json()
    assert set(response) >= REQUIRED
    assert response["completed_at"] >= response["created_at"]
    assert response["temperature"] == 0.5
    assert response["tool_choice"] == "auto"
    for tool in response["tools"]:
        assert {"type", "name", "description", "parameters", "strict"} <= set(tool)
    assert [t["name"] for t in response["tools"]] == [t["name"] for t in tools]


def test_every_response_in_a_stream_has_every_required_field(url: str) -> None:
    body = {"model": "m", "input": "hi", "stream": True, "instructions": "Be brief."}
    lines = _post(url, body).text.splitlines()
    events = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    responses = [e["response"] for e in events if "response" in e]
    assert [e["type"] for e in events if "response" in e] == [
        "response.created",
        "response.in_progress",
        "response.completed",
    ]
    for response in responses:
        assert set(response) >= REQUIRED
        assert response["instructions"] == "Be brief."
    assert responses[0]["completed_at"] is None
    assert isinstance(responses[-1]["completed_at"], int)
