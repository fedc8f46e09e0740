"""``to_agentspec``: each agent-file field in its Agent Spec place, or reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit.agentspec import from_agentspec, to_agentspec
from agentkit.exceptions import SpecValidationError, UserError

WEATHER_TOOL = "weather_tools:get_weather"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _agent(**fields: Any) -> dict[str, Any]:
    return {"name": "probe", "instructions": "Be brief.", **fields}


@pytest.mark.parametrize(
    ("model", "component_type", "extra"),
    [
        ("openai:gpt-4.1-mini", "OpenAiConfig", {}),
        ("openai-responses:gpt-5", "OpenAiConfig", {"api_type": "responses"}),
        ("gemini:gemini-2.5-flash", "GeminiConfig", {}),
        ("ollama:llama3.2", "OllamaConfig", {"url": "http://127.0.0.1:11434"}),
        ("ollama-openai:llama3.2", "OllamaConfig", {"url": "http://127.0.0.1:11434"}),
        ("vllm:qwen3", "VllmConfig", {"url": "http://127.0.0.1:8000/v1"}),
        ("groq:llama-3.3-70b", "OpenAiCompatibleConfig", {"url": "https://api.groq.com/openai/v1"}),
        ("llamacpp-server:any", "OpenAiCompatibleConfig", {"url": "http://127.0.0.1:8080/v1"}),
    ],
)
def test_each_provider_gets_its_matching_llm_config(
    model: str, component_type: str, extra: dict[str, Any]
) -> None:
    spec, warnings = to_agentspec(_agent(model=model))
    llm = spec["llm_config"]
    assert llm["component_type"] == component_type
    assert llm["model_id"] == model.partition(":")[2]
    for key, value in extra.items():
        assert llm[key] == value
    assert warnings == []
    # Without the kept model string the configuration alone still names the provider
    # (ollama-openai comes back as ollama: both are served by the same Ollama).
    llm["metadata"] = {}
    back, _ = from_agentspec(spec)
    expected = "ollama:llama3.2" if model.startswith("ollama") else model
    assert back["model"] == expected


@pytest.mark.parametrize(
    "model", ["anthropic:claude-sonnet-4-5", "llamacpp:smollm2-135m", "acme:x1"]
)
def test_a_provider_without_an_agent_spec_config_gets_the_generic_one_reported(model: str) -> None:
    spec, warnings = to_agentspec(_agent(model=model))
    provider = model.partition(":")[0]
    assert spec["llm_config"]["component_type"] == "LlmConfig"
    assert spec["llm_config"]["api_provider"] == provider
    assert [w.field for w in warnings] == ["model"]
    assert provider in warnings[0].message
    back, _ = from_agentspec(spec)
    assert back["model"] == model


def test_settings_go_to_generation_parameters_and_the_timeout_to_the_retry_policy() -> None:
    settings = {
        "temperature": 0.3,
        "top_p": 0.5,
        "max_tokens": 99,
        "seed": 1,
        "stop": ["END"],
        "parallel_tool_calls": False,
        "reasoning_effort": "high",
        "timeout": 12.5,
        "extra": {"presence_penalty": 0.1},
    }
    spec, warnings = to_agentspec(_agent(model="openai:gpt-4.1-mini", settings=settings))
    llm = spec["llm_config"]
    assert llm["default_generation_parameters"] == {
        "temperature": 0.3,
        "top_p": 0.5,
        "max_tokens": 99,
        "seed": 1,
        "stop": ["END"],
        "parallel_tool_calls": False,
        "reasoning_effort": "high",
        "presence_penalty": 0.1,
    }
    assert llm["retry_policy"]["request_timeout"] == 12.5
    assert warnings == []
    back, _ = from_agentspec(spec)
    assert back["settings"] == settings


def test_tools_become_server_tools_with_their_schemas() -> None:
    spec, warnings = to_agentspec(EXAMPLES / "weather" / "agent.yaml")
    (tool,) = spec["tools"]
    assert tool["component_type"] == "ServerTool"
    assert tool["name"] == "get_weather"
    assert tool["description"] == "Get the current weather in a city."
    city, unit = tool["inputs"]
    assert city["title"] == "city"
    assert city["type"] == "string"
    assert "default" not in city
    assert unit == {
        "title": "unit",
        "description": "Temperature unit of the answer.",
        "type": "string",
        "enum": ["celsius", "fahrenheit"],
        "default": "celsius",
    }
    assert [o["title"] for o in tool["outputs"]] == ["city", "temperature_c", "conditions"]
    assert tool["metadata"] == {"agentkit": {"tool": WEATHER_TOOL}}
    assert "tools" not in {w.field for w in warnings}


def test_an_entry_point_tool_set_becomes_one_server_tool_per_tool() -> None:
    spec, _ = to_agentspec(_agent(tools=["time"]))
    assert [t["name"] for t in spec["tools"]] == ["now", "convert_time"]
    assert {t["metadata"]["agentkit"]["tool"] for t in spec["tools"]} == {"time"}
    back, _ = from_agentspec(spec)
    assert back["tools"] == ["time"]


def test_mcp_servers_become_toolboxes_with_stdio_and_streamable_http_transports() -> None:
    servers = [
        {"name": "clock", "command": "mcp-server-time", "args": ["-v"], "env": {"TZ": "UTC"}},
        {"name": "docs", "url": "http://127.0.0.1:9/mcp", "headers": {"X-Key": "${KEY}"}},
    ]
    spec, warnings = to_agentspec(_agent(mcp_servers=servers))
    clock, docs = spec["toolboxes"]
    assert clock["component_type"] == "MCPToolBox"
    assert clock["name"] == "clock"
    stdio = clock["client_transport"]
    assert stdio["component_type"] == "StdioTransport"
    assert (stdio["command"], stdio["args"], stdio["env"]) == (
        "mcp-server-time",
        ["-v"],
        {"TZ": "UTC"},
    )
    http = docs["client_transport"]
    assert http["component_type"] == "StreamableHTTPTransport"
    assert (http["url"], http["headers"]) == ("http://127.0.0.1:9/mcp", {"X-Key": "${KEY}"})
    assert warnings == [w for w in warnings if w.field == "model"]


def test_an_object_output_schema_becomes_the_agent_outputs() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 1}},
        "required": ["city"],
    }
    spec, warnings = to_agentspec(_agent(output_schema=schema))
    assert spec["outputs"] == [
        {"title": "city", "type": "string"},
        {"title": "days", "type": "integer", "default": 1},
    ]
    assert "output_schema" not in {w.field for w in warnings}
    assert "output_schema" not in spec["metadata"].get("agentkit", {})


def test_an_output_schema_outputs_cannot_say_is_reported_and_kept() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "note": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    spec, warnings = to_agentspec(_agent(output_schema=schema))
    assert [o["title"] for o in spec["outputs"]] == ["city", "note"]
    assert "output_schema" in {w.field for w in warnings}
    back, _ = from_agentspec(spec)
    assert back["output_schema"] == schema


def test_an_edited_outputs_list_wins_over_the_kept_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": False,
    }
    spec, _ = to_agentspec(_agent(output_schema=schema))
    spec["outputs"].append({"title": "b", "type": "integer"})
    back, _ = from_agentspec(spec)
    assert back["output_schema"] == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }


def test_runtime_only_fields_are_reported_once_each() -> None:
    fields = {
        "max_turns": 3,
        "tool_timeout": 5.0,
        "tool_retries": 0,
        "output_retries": 4,
        "max_cost_usd": 0.5,
        "allow_lossy_schemas": True,
        "mcp_config": "servers.json",
        "profiles": {"dev": {"model": "ollama:llama3.2"}},
    }
    spec, warnings = to_agentspec(_agent(model="openai:gpt-4.1-mini", **fields))
    assert sorted(w.field for w in warnings) == sorted(fields)
    assert spec["metadata"]["agentkit"] == fields
    back, _ = from_agentspec(spec)
    assert {k: back[k] for k in fields} == fields


def test_a_model_chain_keeps_its_first_model_and_reports_the_rest() -> None:
    spec, warnings = to_agentspec(_agent(model="openai:gpt-4.1-mini, gemini:gemini-2.5-flash"))
    assert spec["llm_config"]["model_id"] == "gpt-4.1-mini"
    assert [w.field for w in warnings] == ["model"]
    back, _ = from_agentspec(spec)
    assert back["model"] == "openai:gpt-4.1-mini, gemini:gemini-2.5-flash"


def test_instructions_with_a_placeholder_are_reported() -> None:
    spec, warnings = to_agentspec(_agent(model="openai:m", instructions="Hello {{user}}."))
    assert [i["title"] for i in spec["inputs"]] == ["user"]
    assert [w.field for w in warnings] == ["instructions"]


def test_export_is_deterministic() -> None:
    first, _ = to_agentspec(EXAMPLES / "trip_planner" / "agent.yaml")
    second, _ = to_agentspec(EXAMPLES / "trip_planner" / "agent.yaml")
    assert first == second


def test_an_invalid_agent_file_names_the_path() -> None:
    with pytest.raises(SpecValidationError) as caught:
        to_agentspec(_agent(max_turns=0))
    assert caught.value.path == "$.max_turns"


def test_a_tool_that_cannot_be_imported_is_a_user_error() -> None:
    with pytest.raises(UserError, match="no_such_module"):
        to_agentspec(_agent(tools=["no_such_module:fn"]))


def test_the_default_endpoints_match_the_adapters() -> None:
    # The runtime cannot import the adapters package, so it keeps its own copy
    # of their default URLs; this catches the two drifting apart.
    from agentkit_adapters.ollama import DEFAULT_HOST
    from agentkit_adapters.openai_compat._presets import PRESETS

    from agentkit.agentspec._llm import OLLAMA_ROOT, OPENAI_COMPATIBLE

    assert {name: PRESETS[name].base_url for name in OPENAI_COMPATIBLE} == OPENAI_COMPATIBLE
    assert DEFAULT_HOST == OLLAMA_ROOT
