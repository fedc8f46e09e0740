"""The Responses emulator on its own: the wire it writes and the requests it reads back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from agentkit import Message, ReasoningPart, TextPart, ToolCallPart, ToolDefinition, ToolResultPart
from agentkit.testing import OpenAIResponsesEmulator, parse_responses_request, serve_asgi

KEY = "sk-emulated"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    def model(request: Any) -> Any:
        return [
            ReasoningPart(text="Hmm."),
            TextPart(text="Calling."),
            ToolCallPart(id="x", name="f", arguments={"a": "long enough value"}),
        ]

    with serve_asgi(OpenAIResponsesEmulator(model, api_key=KEY, chunk_size=5)) as root:
        yield f"{root}/v1"


def _post(url: str, body: Any, key: str = KEY, path: str = "/responses") -> httpx2.Response:
    with httpx2.Client() as client:
        return client.post(url + path, json=body, headers={"authorization": f"Bearer {key}"})


def test_stream_events_are_typed_numbered_and_fragmented(url: str) -> None:
    body = {"model": "m", "input": "hi", "stream": True, "include": ["reasoning.encrypted_content"]}
    response = _post(url, body)
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in response.text.split("\n\n") if b]
    names = [b.splitlines()[0].removeprefix("event: ") for b in blocks]
    payloads = [json.loads(b.splitlines()[1].removeprefix("data: ")) for b in blocks]
    assert [p["type"] for p in payloads] == names
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert names[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert names[-1] == "response.completed"
    assert "[DONE]" not in response.text
    arguments = [
        p["delta"] for p in payloads if p["type"] == "response.function_call_arguments.delta"
    ]
    assert len(arguments) >= 2
    assert json.loads("".join(arguments)) == {"a": "long enough value"}
    (reasoning, message, call) = payloads[-1]["response"]["output"]
    assert reasoning["encrypted_content"].startswith("gAAAA")
    assert message["content"][0]["text"] == "Calling."
    assert (call["type"], call["call_id"][:5], call["id"][:3]) == ("function_call", "call_", "fc_")


@pytest.mark.parametrize(
    ("body", "key", "path", "status", "code"),
    [
        ({"model": "m", "input": "hi"}, "sk-wrong", "/responses", 401, "invalid_api_key"),
        ({"model": "m", "input": [{"type": "robot"}]}, KEY, "/responses", 400, None),
        ({"model": "m"}, KEY, "/responses", 400, None),
        ({}, KEY, "/nothing", 404, "unknown_url"),
    ],
)
def test_errors_in_openais_shape(
    url: str, body: Any, key: str, path: str, status: int, code: str | None
) -> None:
    response = _post(url, body, key, path)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_requests_are_read_back_into_neutral_ones() -> None:
    request = parse_responses_request(
        {
            "model": "m",
            "instructions": "Be brief.",
            "input": [
                {"role": "developer", "content": "Use tools."},
                {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "e"},
                {"role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
                {"type": "function_call", "call_id": "call_1", "name": "w", "arguments": "{}"},
                {"type": "custom_tool_call", "call_id": "call_2", "name": "sql", "input": "SELECT"},
                {"type": "function_call_output", "call_id": "call_1", "output": "sun"},
                {"type": "custom_tool_call_output", "call_id": "call_2", "output": "1"},
            ],
            "tools": [
                {
                    "type": "function",
                    "name": "w",
                    "parameters": {"type": "object"},
                    "strict": False,
                },
                {"type": "custom", "name": "sql"},
                {"type": "web_search"},
            ],
            "tool_choice": {"type": "function", "name": "w"},
            "text": {
                "format": {"type": "json_schema", "name": "Out", "schema": {"type": "object"}}
            },
            "max_output_tokens": 9,
            "reasoning": {"effort": "low", "summary": "auto"},
            "store": False,
        }
    )
    assert request.messages == [
        Message.system("Be brief."),
        Message.system("Use tools."),
        Message.user("Weather?"),
        Message(
            role="assistant",
            parts=[
                ReasoningPart(id="rs_1", signature="e"),
                TextPart(text="Checking."),
                ToolCallPart(id="call_1", name="w"),
                ToolCallPart(id="call_2", name="sql", arguments={"input": "SELECT"}),
            ],
        ),
        Message(
            role="tool",
            parts=[
                ToolResultPart(call_id="call_1", name="w", content=[TextPart(text="sun")]),
                ToolResultPart(call_id="call_2", name="sql", content=[TextPart(text="1")]),
            ],
        ),
    ]
    assert [t.name for t in request.tools] == ["w", "sql"]
    assert request.tools[1] == ToolDefinition(
        name="sql", input_schema={"type": "object", "properties": {"input": {"type": "string"}}}
    )
    assert (request.tool_choice, request.output_name) == ("w", "Out")
    assert request.output_schema == {"type": "object"}
    settings = request.settings
    assert (settings.max_tokens, settings.reasoning_effort, settings.extra) == (
        9,
        "low",
        {"store": False},
    )
