"""The Responses API as DeepSeek, AWS Bedrock and OpenRouter serve it, replayed through the presets.

Each recorded body is served from an ``httpx2.MockTransport`` in small
slices, after checking that the preset posted to the recorded URL (DeepSeek's
has no ``/v1``). Expectations are read from the recordings independently of
the parser. Fixtures and their provenance:
``tests/fixtures/real_traffic/open_responses``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from agentkit_adapters.openresponses import responses_preset_adapter

from agentkit import (
    Message,
    ModelRequest,
    ReasoningDeltaEvent,
    ReasoningPart,
    TextDeltaEvent,
    TextPart,
    ToolCallPart,
    ToolDefinition,
    ToolResultPart,
    Usage,
)
from tests.properties._traffic import (
    final_response,
    mock_client,
    read_json,
    sliced_response,
    sse_payloads,
    stream_events,
)

pytestmark = pytest.mark.anyio

CASES = Path(__file__).parents[2] / "fixtures" / "real_traffic" / "open_responses"
KEY = "sk-test-planted"
#: Which preset served each recording, and the variables it reads.
HOSTS = {
    "deepseek": ("deepseek-responses", {"DEEPSEEK_API_KEY": KEY}),
    "bedrock": ("bedrock-responses", {"AWS_BEARER_TOKEN_BEDROCK": KEY}),
    "openrouter": ("openrouter-responses", {"OPENROUTER_API_KEY": KEY}),
}


def _payloads(case: str, prefix: str = "") -> list[dict[str, Any]]:
    return sse_payloads((CASES / case / f"{prefix}response.sse").read_text())


class Replay:
    """A preset adapter whose one HTTP answer is the recorded body."""

    def __init__(self, case: str, prefix: str = "") -> None:
        meta = read_json(CASES / case / f"{prefix}meta.json")
        body = (CASES / case / meta["response_file"]).read_bytes()
        self.requests: list[dict[str, Any]] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            assert str(request.url) == meta["uri"]
            assert request.headers["authorization"] == f"Bearer {KEY}"
            self.requests.append(json.loads(request.content))
            return sliced_response(meta["status"], meta["content_type"], body, 29)

        name, env = HOSTS[case.split("_")[0]]
        wire = read_json(CASES / case / f"{prefix}request.json")
        self.adapter = responses_preset_adapter(
            name,
            wire["model"],
            env=env,
            client=mock_client(handler),
        )


def _request(case: str, prefix: str = "") -> ModelRequest:
    wire = read_json(CASES / case / f"{prefix}request.json")
    return ModelRequest(messages=[Message.user(wire["input"][0]["content"])])


def _usage(wire: dict[str, Any]) -> Usage:
    details = wire["input_tokens_details"]
    return Usage(
        input_tokens=wire["input_tokens"],
        output_tokens=wire["output_tokens"],
        cache_read_input_tokens=details.get("cached_tokens", 0),
        cache_creation_input_tokens=details.get("cache_write_tokens", 0),
        reasoning_output_tokens=wire["output_tokens_details"]["reasoning_tokens"],
    )


def _reasoning_text(item: dict[str, Any]) -> str:
    return "".join(c["text"] for c in item["content"] if c["type"] == "reasoning_text")


@pytest.mark.parametrize("case", ["deepseek_text_json", "bedrock_mantle_gpt_oss_json"])
async def test_json_answers_keep_raw_reasoning_text(case: str) -> None:
    wire = read_json(CASES / case / "response.json")
    reasoning, message = wire["output"]
    replay = Replay(case)
    response = await replay.adapter.generate(_request(case))
    part, text = response.message.parts
    assert isinstance(part, ReasoningPart)
    assert (part.text, part.id, part.signature) == (
        _reasoning_text(reasoning),
        reasoning["id"],
        None,
    )
    assert text == TextPart(text=message["content"][0]["text"])
    assert response.finish_reason == "stop"
    assert response.response_id == wire["id"]  # a bare UUID on DeepSeek
    assert response.model_id == wire["model"]
    assert response.usage == _usage(wire["usage"])
    sent = replay.requests[0]
    recorded = read_json(CASES / case / "request.json")
    assert (sent["model"], sent["input"]) == (recorded["model"], recorded["input"])


async def test_bedrock_float_created_at_and_zero_reasoning_tokens_are_data() -> None:
    wire = read_json(CASES / "bedrock_mantle_gpt_oss_json" / "response.json")
    assert isinstance(wire["created_at"], float)
    assert wire["output"][0]["id"].startswith("msg_")
    response = await Replay("bedrock_mantle_gpt_oss_json").adapter.generate(
        _request("bedrock_mantle_gpt_oss_json")
    )
    assert response.usage is not None
    assert response.usage.reasoning_output_tokens == 0  # as reported, despite reasoning text
    assert response.provider == "bedrock-responses"


async def test_deepseek_stream_of_reasoning_text_then_answer() -> None:
    case = "deepseek_text_stream_reasoning_text"
    payloads = _payloads(case)
    reasoning = "".join(
        p["delta"] for p in payloads if p["type"] == "response.reasoning_text.delta"
    )
    text = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
    final = payloads[-1]["response"]
    events = await stream_events(Replay(case).adapter, _request(case))
    assert "".join(e.text for e in events if isinstance(e, ReasoningDeltaEvent)) == reasoning
    assert "".join(e.text for e in events if isinstance(e, TextDeltaEvent)) == text
    response = final_response(events)
    part, answer = response.message.parts
    assert isinstance(part, ReasoningPart)
    assert part.text == reasoning
    assert answer == TextPart(text=text)
    assert response.response_id == final["id"]
    assert response.usage == _usage(final["usage"])


TEMPERATURE = ToolDefinition(
    name="get_temperature",
    description="Get the current temperature in a city.",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


async def test_deepseek_function_call_stream_then_its_output() -> None:
    case = "deepseek_function_tool_stream_then_output"
    payloads = _payloads(case, "0.")
    done = next(
        p["item"]
        for p in payloads
        if p["type"] == "response.output_item.done" and p["item"]["type"] == "function_call"
    )
    arguments = "".join(
        p["delta"] for p in payloads if p["type"] == "response.function_call_arguments.delta"
    )
    request = replace(_request(case, "0."), tools=[TEMPERATURE])
    first = final_response(await stream_events(Replay(case, "0.").adapter, request))
    call = ToolCallPart(id=done["call_id"], name=done["name"], arguments=json.loads(arguments))
    assert [p for p in first.message.parts if isinstance(p, ToolCallPart)] == [call]
    assert first.finish_reason == "tool_calls"
    assert first.usage == _usage(payloads[-1]["response"]["usage"])
    assert first.usage.cache_read_input_tokens == 256  # type: ignore[union-attr]

    later = _payloads(case, "1.")
    text = "".join(p["delta"] for p in later if p["type"] == "response.output_text.delta")
    result = ToolResultPart(call_id=call.id, name=call.name, content=[TextPart(text="21.0")])
    follow_up = replace(
        request, messages=[*request.messages, first.message, Message(role="tool", parts=[result])]
    )
    replay = Replay(case, "1.")
    second = final_response(await stream_events(replay.adapter, follow_up))
    assert second.message.text == text
    recorded = read_json(CASES / case / "1.request.json")["input"]
    sent = replay.requests[0]["input"]
    calls = [i for i in sent if i.get("type") in ("function_call", "function_call_output")]
    want = [i for i in recorded if i.get("type") in ("function_call", "function_call_output")]
    assert [(i["type"], i["call_id"]) for i in calls] == [(i["type"], i["call_id"]) for i in want]
    assert json.loads(calls[0]["arguments"]) == json.loads(want[0]["arguments"])
    assert calls[1]["output"] == want[1]["output"]


@pytest.mark.parametrize("prefix", ["0.", "1."])
async def test_openrouter_cache_write_then_read(prefix: str) -> None:
    case = "openrouter_prompt_cache_json"
    wire = read_json(CASES / case / f"{prefix}response.json")
    response = await Replay(case, prefix).adapter.generate(
        ModelRequest(messages=[Message.user("x")])
    )
    assert response.message.parts == [TextPart(text=wire["output"][0]["content"][0]["text"])]
    assert response.usage == _usage(wire["usage"])
    written = 4012 if prefix == "0." else 0
    assert response.usage.cache_creation_input_tokens == written  # type: ignore[union-attr]
    assert response.response_id == wire["id"]
