"""The emulator's request reader against recorded bodies, and its wire against the recordings.

Two independent readings of the format meet here: the emulator's
``parse_anthropic_request`` reads each recorded request, and the adapter's
converter writes it again; both must agree on everything but cache marks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agentkit_adapters.anthropic import VERTEX_ANTHROPIC_VERSION, to_anthropic_request

from agentkit import Message, ModelResponse, ReasoningPart, TextPart, ToolCallPart, Usage
from agentkit.testing import AnthropicEmulator, parse_anthropic_request

FIXTURES = Path(__file__).parents[2] / "fixtures" / "real_traffic"
RECORDED = [
    "anthropic/text_json_sonnet4/request.json",
    "anthropic/max_tokens_json/request.json",
    "anthropic/parallel_tool_use_json_then_tool_result/1.request.json",
    "anthropic/parallel_tool_use_stream_then_tool_result/1.request.json",
    "anthropic/single_tool_use_stream_then_tool_result/1.request.json",
    "anthropic/thinking_signature_json_multi_turn/1.request.json",
    "anthropic/redacted_thinking_json_multi_turn/1.request.json",
    "anthropic/prompt_cache_write_then_read_system/1.request.json",
    "vertex/claude_streamrawpredict_tool_then_result/1.request.json",
]


def _plain(body: Any) -> Any:
    """The body without cache marks, nulls, ``stream: false`` or string shorthands."""
    if isinstance(body, list):
        return [_plain(item) for item in body]
    if not isinstance(body, dict):
        return body
    out = {}
    for key, value in body.items():
        if value is None or key == "cache_control" or (key == "stream" and value is False):
            continue
        if key == "content" and isinstance(value, str):
            value = [{"type": "text", "text": value}]
        out[key] = _plain(value)
    return out


@pytest.mark.parametrize("path", RECORDED)
def test_recorded_requests_read_back_and_write_again_the_same(path: str) -> None:
    recorded = json.loads((FIXTURES / path).read_text())
    vertex = path.startswith("vertex/")
    model = recorded.get("model", "claude-3-7-sonnet@20250219")
    request = parse_anthropic_request(recorded, model)
    body, _ = to_anthropic_request(
        request,
        model_id=model,
        stream=bool(recorded.get("stream")),
        include_model=not vertex,
        anthropic_version=VERTEX_ANTHROPIC_VERSION if vertex else None,
    )
    assert _plain(body) == _plain(recorded)


def test_a_body_without_max_tokens_is_refused() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        parse_anthropic_request({"messages": [{"role": "user", "content": "hi"}]})


def test_the_stream_has_the_recorded_shape() -> None:
    usage = Usage(input_tokens=120, output_tokens=30, cache_read_input_tokens=100)
    response = ModelResponse(
        message=Message(
            role="assistant",
            parts=[
                ReasoningPart(text="hm"),
                TextPart(text="Calling."),
                ToolCallPart(id="x", name="f", arguments={"a": 1}),
            ],
        ),
        finish_reason="tool_calls",
        usage=usage,
        provider="x",
        model_id="x",
    )
    emulator = AnthropicEmulator(lambda _: "", chunk_size=3)
    frames = list(emulator._events(response, "claude-x"))
    names = [name for name, _ in frames]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    start = frames[0][1]["message"]["usage"]
    final = frames[-2][1]["usage"]
    # Anthropic's input_tokens leaves out the cache read; the start's output is a placeholder.
    assert (start["input_tokens"], start["cache_read_input_tokens"], start["output_tokens"]) == (
        20,
        100,
        1,
    )
    assert final["output_tokens"] == 30
    tool_start = next(
        p
        for n, p in frames
        if n == "content_block_start" and p["content_block"]["type"] == "tool_use"
    )
    assert tool_start["content_block"]["input"] == {}
    fragments = [
        p["delta"]["partial_json"]
        for _, p in frames
        if p.get("delta", {}).get("type") == "input_json_delta"
    ]
    assert fragments[0] == ""
    assert json.loads("".join(fragments)) == {"a": 1}
    assert frames[-2][1]["delta"]["stop_reason"] == "tool_use"
