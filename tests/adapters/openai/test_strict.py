"""Strict mode on Chat Completions: decided as on Responses, and its stand-in nulls stripped.

The answers are the recorded ones (``openai_chat/parallel_tool_calls_*_gpt4o``)
with the tool given one more, optional, property: in strict mode the model
must send it, as ``null`` when it would have left it out, and those nulls
must not reach the runner's validation against the original schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.openai import OpenAIChatAdapter, OpenAIQuirks, to_openai_request
from agentkit_adapters.openai_responses import to_responses_request

from agentkit import Message, ModelRequest, ResponseEndEvent, ToolCallPart, ToolDefinition

CHAT = Path(__file__).parents[2] / "fixtures" / "real_traffic" / "openai_chat"

#: The recorded tool, plus an optional ``hint``.
SECRET = ToolDefinition(
    name="secret_retrieval_tool",
    description="A tool that requires a password to retrieve a secret.",
    input_schema={
        "type": "object",
        "properties": {"password": {"type": "string"}, "hint": {"type": "string"}},
        "required": ["password"],
        "additionalProperties": False,
    },
)
ASK = ModelRequest(messages=[Message.user("Use the tool twice.")], tools=[SECRET])


def _with_null_hint(arguments: str) -> str:
    assert arguments.endswith("}")
    return arguments[:-1] + ', "hint": null}'


def _adapter(body: bytes, content_type: str, **options: Any) -> OpenAIChatAdapter:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": content_type}, content=body)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return OpenAIChatAdapter("gpt-4o", api_key="sk-test-planted", client=client, **options)


def _recorded_json() -> bytes:
    body = json.loads((CHAT / "parallel_tool_calls_json_gpt4o" / "0.response.json").read_text())
    for call in body["choices"][0]["message"]["tool_calls"]:
        call["function"]["arguments"] = _with_null_hint(call["function"]["arguments"])
    return json.dumps(body).encode()


def _recorded_sse() -> bytes:
    """The recorded stream, the last argument fragment of each call given the null."""
    raw = (CHAT / "parallel_tool_calls_stream_gpt4o" / "0.response.sse").read_text()
    frames = [frame for frame in raw.split("\n\n") if frame.strip()]
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames if f != "data: [DONE]"]
    last: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            for call in (choice.get("delta") or {}).get("tool_calls") or ():
                if call.get("function", {}).get("arguments"):
                    last[call["index"]] = call["function"]
    assert len(last) == 2
    for function in last.values():
        function["arguments"] = _with_null_hint(function["arguments"])
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def test_the_tool_goes_strict_with_the_optional_property_nullable() -> None:
    body, warnings = to_openai_request(ASK, model_id="gpt-4o", stream=False)
    function = body["tools"][0]["function"]
    assert function["strict"] is True
    assert function["parameters"]["required"] == ["password", "hint"]
    assert function["parameters"]["properties"]["hint"]["type"] == ["string", "null"]
    assert [w.feature for w in warnings] == ["required"]  # the rewrite is reported


@pytest.mark.anyio
async def test_the_stand_in_nulls_are_stripped_from_a_whole_answer() -> None:
    response = await _adapter(_recorded_json(), "application/json").generate(ASK)
    assert [c.arguments for c in response.message.tool_calls] == [
        {"password": "mellon"},
        {"password": "radiance"},
    ]


@pytest.mark.anyio
async def test_the_stand_in_nulls_are_stripped_from_a_stream() -> None:
    events = [e async for e in _adapter(_recorded_sse(), "text/event-stream").stream(ASK)]
    ends = [e.call for e in events if e.type == "tool_call_end"]  # type: ignore[union-attr]
    assert [c.arguments for c in ends] == [{"password": "mellon"}, {"password": "radiance"}]
    final = events[-1]
    assert isinstance(final, ResponseEndEvent)
    assert [c.arguments for c in final.response.message.tool_calls] == [
        {"password": "mellon"},
        {"password": "radiance"},
    ]


@pytest.mark.anyio
async def test_a_host_without_strict_mode_keeps_the_nulls_it_was_sent() -> None:
    # No strict mode, so no nulls were added: a null the model sends is its own.
    adapter = _adapter(
        _recorded_json(), "application/json", quirks=OpenAIQuirks(supports_strict=False)
    )
    body, _ = to_openai_request(ASK, model_id="gpt-4o", stream=False, quirks=adapter.quirks)
    assert "strict" not in body["tools"][0]["function"]
    response = await adapter.generate(ASK)
    call = response.message.tool_calls[0]
    assert isinstance(call, ToolCallPart)
    assert call.arguments == {"password": "mellon", "hint": None}


OPEN = {"type": "object", "properties": {"q": {"type": "string"}}}
OPTIONAL = {
    "type": "object",
    "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
    "required": ["q"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("schema", [OPEN, OPTIONAL, SECRET.input_schema])
@pytest.mark.parametrize("allow_lossy", [False, True])
def test_chat_and_responses_decide_strict_mode_alike(
    schema: dict[str, Any], allow_lossy: bool
) -> None:
    tool = ToolDefinition(name="t", input_schema=schema)
    request = ModelRequest(
        messages=[Message.user("hi")],
        tools=[tool],
        output_schema=schema,
        allow_lossy_schemas=allow_lossy,
    )
    chat, _ = to_openai_request(request, model_id="m", stream=False)
    responses = to_responses_request(request, model_id="m", stream=False).body
    chat_tool = chat["tools"][0]["function"]
    responses_tool = responses["tools"][0]
    assert chat_tool.get("strict", False) == responses_tool["strict"]
    assert chat_tool["parameters"] == responses_tool["parameters"]
    chat_output = chat["response_format"]["json_schema"]
    responses_output = responses["text"]["format"]
    assert chat_output.get("strict", False) == responses_output["strict"]
    assert chat_output["schema"] == responses_output["schema"]


def test_allow_lossy_changes_the_decision_for_the_same_schema_object() -> None:
    # The old Chat memo was keyed on id(schema) alone: the second call got the first's result.
    tool = ToolDefinition(name="t", input_schema=OPEN)
    for allow_lossy, strict in [(True, True), (False, False), (True, True)]:
        request = ModelRequest(
            messages=[Message.user("hi")], tools=[tool], allow_lossy_schemas=allow_lossy
        )
        body, _ = to_openai_request(request, model_id="m", stream=False)
        assert body["tools"][0]["function"].get("strict", False) is strict, allow_lossy
