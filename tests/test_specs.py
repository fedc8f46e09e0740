"""The published JSON Schemas match the models, and real objects validate against them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from agentkit import (
    Agent,
    AudioPart,
    ImagePart,
    Message,
    ModelRequest,
    ReasoningPart,
    ResourcePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
    run_stream,
    tool,
)
from agentkit._specs import SCHEMA_NAMES, generate_schemas, load_schema, render
from agentkit.testing import FunctionAdapter

SCHEMA_DIR = Path(__file__).parent.parent / "specs" / "agentkit_specs" / "schemas"


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_checked_in_schema_matches_the_models(name: str) -> None:
    on_disk = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    fresh = render(generate_schemas()[name])
    assert on_disk == fresh, (
        f"specs/agentkit_specs/schemas/{name}.schema.json is stale: "
        "run `uv run python -m agentkit._specs` and commit the result"
    )


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schemas_are_valid_json_schema_2020_12(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _valid(name: str, instance: Any) -> None:
    errors = list(Draft202012Validator(load_schema(name)).iter_errors(instance))
    assert not errors, [e.message for e in errors]


MESSAGES = [
    Message.system("You are terse."),
    Message(
        role="user",
        parts=[
            TextPart(text="Describe this, ünïcødé ok"),
            ImagePart(url="https://example.com/cat.png"),
            ImagePart(data=b"\x89PNG\r\n", media_type="image/png"),
        ],
    ),
    Message(
        role="assistant",
        parts=[
            ReasoningPart(text="thinking", signature="opaque==", provider="openai", model="o3"),
            ToolCallPart(id="call_1", name="lookup", arguments={"q": [1, {"x": None}]}),
            ToolCallPart(id="call_2", name="lookup", raw_arguments="{broken"),
        ],
    ),
    Message(
        role="tool",
        parts=[
            ToolResultPart(
                call_id="call_1",
                name="lookup",
                content=[
                    TextPart(text="found"),
                    AudioPart(data=b"RIFF", media_type="audio/wav"),
                    ResourcePart(uri="file:///a.txt", text="hello", media_type="text/plain"),
                ],
                structured_content={"found": True},
            ),
            ToolResultPart(call_id="call_2", content=[TextPart(text="bad")], is_error=True),
        ],
    ),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m.role)
def test_dumped_messages_validate_and_round_trip(message: Message) -> None:
    data = json.loads(message.model_dump_json())
    _valid("message", data)
    assert Message.model_validate(data) == message


def test_invalid_message_is_rejected_by_the_schema() -> None:
    validator = Draft202012Validator(load_schema("message"))
    assert not validator.is_valid({"role": "robot", "parts": []})
    assert not validator.is_valid({"role": "user", "parts": [{"type": "video"}]})
    assert not validator.is_valid({"role": "user", "parts": [{"type": "text"}]})


def test_tool_definition_uses_mcp_field_names() -> None:
    @tool(annotations={"readOnlyHint": True})
    def lookup(q: str) -> dict[str, int]:
        """Look up."""
        return {}

    data = lookup.definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert set(data) == {"name", "description", "inputSchema", "outputSchema", "annotations"}
    _valid("tool", data)


def test_usage_validates() -> None:
    _valid("usage", Usage(input_tokens=10, cache_read_input_tokens=4, cost_usd=0.1).model_dump())
    assert not Draft202012Validator(load_schema("usage")).is_valid({"input_tokens": -1})


@pytest.mark.anyio
async def test_every_event_of_a_real_run_validates() -> None:
    @tool
    def lookup(q: str) -> str:
        return q.upper()

    def model(request: ModelRequest) -> Any:
        if request.messages[-1].role == "user":
            return [ToolCallPart(id="c", name="lookup", arguments={"q": "x"})]
        return "done"

    events = [
        e
        async for e in run_stream(
            Agent(name="e", tools=[lookup]), "go", model=FunctionAdapter(model)
        )
    ]
    stream_validator = Draft202012Validator(load_schema("stream-event"))
    kinds = set()
    for event in events:
        data = json.loads(event.model_dump_json())
        _valid("run-event", data)
        kinds.add(event.type)
        if event.type in {"response_start", "text_delta", "tool_call_start", "response_end"}:
            assert stream_validator.is_valid(data)
    assert {"turn_start", "tool_result", "run_end", "tool_call_delta"} <= kinds


def test_example_agent_file_validates() -> None:
    import yaml

    root = Path(__file__).parent.parent
    for path in root.glob("examples/**/agent.yaml"):
        _valid("agent", yaml.safe_load(path.read_text(encoding="utf-8")))
