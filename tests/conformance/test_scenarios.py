"""The scenario set: valid against its schema, unique, and covering what the kit promises."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from agentkit import exceptions
from agentkit.conformance import LEVELS, load_scenarios, scenario_schema, scenarios_dir
from agentkit.exceptions import SpecValidationError

#: Behaviours the issue asks the set to cover -> a scenario that covers each.
REQUIRED = {
    "plain answer": "core.plain_answer",
    "system instructions": "core.system_instructions",
    "multi-turn history": "core.multi_turn",
    "single tool call": "tools.single_call",
    "parallel tool calls": "tools.parallel_calls",
    "tool without arguments": "tools.no_arguments",
    "tool result follow-up": "tools.result_follow_up",
    "tool error result": "tools.error_result",
    "forced tool choice": "tools.forced_required",
    "structured output": "structured_output.basic",
    "structured output with tools": "structured_output.with_tools",
    "streaming text": "streaming.text_exact",
    "streamed tool-call arguments": "streaming.tool_call_fragments",
    "usage (not streamed)": "core.plain_answer",
    "usage (streamed)": "streaming.usage",
    "finish stop": "core.plain_answer",
    "finish length": "core.max_tokens",
    "finish tool_calls": "tools.single_call",
    "finish content_filter": "core.finish_content_filter",
    "stop sequences": "core.stop_sequences",
    "non-ASCII text": "core.non_ascii",
    "non-ASCII arguments": "tools.non_ascii_arguments",
    "image input": "multimodal.image_input",
    "$defs/$ref": "structured_output.refs_and_defs",
    "anyOf, enum, nullable": "structured_output.any_of_enum_nullable",
    "nested arrays": "structured_output.nested_arrays",
    "auth error": "errors.authentication",
    "not found": "errors.model_not_found",
    "rate limit with retry-after": "errors.rate_limit",
    "bad request": "errors.bad_request",
    "server error": "errors.server_error",
    "cancellation mid-stream": "streaming.cancel",
    "truncated stream": "robustness.truncated_stream",
    "cached tokens (not streamed)": "core.usage_cached",
    "cached tokens (streamed)": "streaming.usage_cached",
    "reasoning tokens (not streamed)": "core.usage_reasoning",
    "reasoning tokens (streamed)": "streaming.usage_reasoning",
    "no usage on the wire (not streamed)": "core.usage_absent",
    "no usage on the wire (streamed)": "streaming.usage_absent",
    "streamed usage counted once": "streaming.usage_exact",
    "refused connection": "errors.connection_refused",
    "read timeout": "errors.read_timeout",
    "tool-call ids from the wire": "tools.call_ids",
    "tool-call ids on stream events": "streaming.tool_call_ids",
    "tool results under the wire's ids": "tools.result_ids",
}


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(scenario_schema())


def test_every_scenario_file_validates() -> None:
    validator = jsonschema.Draft202012Validator(scenario_schema())
    files = [f for f in scenarios_dir().iterdir() if f.name.endswith(".yaml")]
    assert len(files) >= len(LEVELS)
    for item in files:
        document = yaml.safe_load(item.read_text("utf-8"))
        errors = [e.message for e in validator.iter_errors(document)]
        assert not errors, (item.name, errors)


def test_scenarios_load_with_unique_ids_and_build_requests() -> None:
    scenarios = load_scenarios()
    ids = [s.id for s in scenarios]
    assert len(ids) == len(set(ids))
    for scenario in scenarios:
        assert scenario.id.startswith(scenario.level + ".")
        scenario.model_request()  # every request is valid neutral JSON
        raises = scenario.checks.get("raises")
        if raises:
            assert issubclass(getattr(exceptions, raises), exceptions.AgentkitError)


def test_the_required_behaviours_are_covered() -> None:
    ids = {s.id for s in load_scenarios()}
    missing = {what: sid for what, sid in REQUIRED.items() if sid not in ids}
    assert not missing


def test_every_level_has_scenarios() -> None:
    assert {s.level for s in load_scenarios()} == set(LEVELS)


def test_levels_filter() -> None:
    assert {s.level for s in load_scenarios(levels=["errors"])} == {"errors"}


def test_an_invalid_scenario_file_is_refused(tmp_path: Path) -> None:
    bad = {"version": "1", "scenarios": [{"id": "core.x", "title": "t", "level": "nope"}]}
    (tmp_path / "bad.yaml").write_text(json.dumps(bad))
    with pytest.raises(SpecValidationError) as info:
        load_scenarios(tmp_path)
    assert "bad.yaml" in str(info.value)


def test_scripted_tool_call_ids_are_unique_within_an_answer() -> None:
    # The ids are what the emulators put on the wire: duplicates would make
    # the id checks compare nonsense.
    for scenario in load_scenarios():
        calls = scenario.script.get("reply", {}).get("tool_calls", [])
        ids = [c["id"] for c in calls if "id" in c]
        assert len(ids) == len(set(ids)), scenario.id
