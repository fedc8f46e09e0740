"""``from_agentspec`` on documents written with pyagentspec's own classes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyagentspec import Agent, Property
from pyagentspec.flows.edges import ControlFlowEdge
from pyagentspec.flows.flow import Flow
from pyagentspec.flows.nodes import AgentNode, EndNode, StartNode
from pyagentspec.llms import GeminiConfig, OciGenAiConfig, OpenAiCompatibleConfig, OpenAiConfig
from pyagentspec.llms.geminiauthconfig import GeminiVertexAIAuthConfig
from pyagentspec.llms.ociclientconfig import OciClientConfigWithApiKey
from pyagentspec.mcp import (
    MCPTool,
    MCPToolBox,
    SSETransport,
    StdioTransport,
    StreamableHTTPTransport,
)
from pyagentspec.serialization import AgentSpecSerializer
from pyagentspec.tools import ClientTool, RemoteTool, ServerTool

from agentkit import ModelRequest, ToolCallPart, load_agent, run_sync
from agentkit.agentspec import ConversionWarning, from_agentspec
from agentkit.agentspec._command import _yaml
from agentkit.exceptions import SpecValidationError, UserError
from agentkit.testing import FunctionAdapter

LLM = OpenAiConfig(name="gpt", model_id="gpt-4.1-mini")


def _adder_spec() -> Agent:
    add = ServerTool(
        name="add",
        description="Add two whole numbers.",
        inputs=[
            Property(json_schema={"title": "a", "type": "integer"}),
            Property(json_schema={"title": "b", "type": "integer"}),
        ],
        outputs=[Property(json_schema={"title": "sum", "type": "integer"})],
    )
    return Agent(
        name="Adder bot",
        description="Adds numbers with its tool.",
        system_prompt="Use the add tool, then answer with the total.",
        llm_config=LLM,
        tools=[add],
        outputs=[Property(json_schema={"title": "total", "type": "integer"})],
    )


def _fields(warnings: list[ConversionWarning]) -> list[str]:
    return [w.field for w in warnings]


def test_an_agent_written_with_pyagentspec_runs_as_an_agentkit_agent(tmp_path: Path) -> None:
    spec_file = tmp_path / "adder.json"
    spec_file.write_text(AgentSpecSerializer().to_json(_adder_spec()), encoding="utf-8")

    agent_file, warnings = from_agentspec(
        spec_file, tools={"add": "tests.agentspec.adder_tools:add"}
    )
    assert agent_file["name"] == "Adder_bot"
    assert _fields(warnings) == ["$.name"]
    assert agent_file["model"] == "openai:gpt-4.1-mini"
    assert agent_file["output_schema"] == {
        "type": "object",
        "properties": {"total": {"type": "integer"}},
        "required": ["total"],
    }
    written = tmp_path / "agent.yaml"
    written.write_text(_yaml(agent_file), encoding="utf-8")
    agent = load_agent(written)

    seen: list[Any] = []

    def model(request: ModelRequest) -> Any:
        seen.append(request)
        last = request.messages[-1]
        if last.role == "user":
            return [ToolCallPart(id="c1", name="add", arguments={"a": 2, "b": 3})]
        result = last.parts[0]
        return json.dumps({"total": result.structured_content["result"]})  # type: ignore[union-attr]

    result = run_sync(agent, "What is 2 + 3?", model=FunctionAdapter(model))
    assert result.output == {"total": 5}
    first = seen[0]
    assert first.messages[0].parts[0].text == "Use the add tool, then answer with the total."
    assert [t.name for t in first.tools] == ["add"]
    assert first.output_schema is not None


def test_tools_without_code_are_reported_and_left_out() -> None:
    spec = Agent(
        name="tools",
        system_prompt="x",
        llm_config=LLM,
        tools=[
            ServerTool(name="lookup"),
            ClientTool(name="ask_user"),
            RemoteTool(name="api", url="https://example.invalid/x", http_method="GET"),
        ],
    )
    agent_file, warnings = from_agentspec(spec)
    assert "tools" not in agent_file
    assert _fields(warnings) == ["$.tools[0]", "$.tools[1]", "$.tools[2]"]
    assert "--tool lookup=module:function" in warnings[0].message
    assert "client application" in warnings[1].message


def test_mcp_toolboxes_and_tools_become_mcp_servers() -> None:
    stdio = StdioTransport(name="clock", command="mcp-server-time", args=["-v"], env={"TZ": "UTC"})
    http = StreamableHTTPTransport(name="docs", url="http://127.0.0.1:9/mcp", headers={"A": "b"})
    remote = StreamableHTTPTransport(name="search", url="http://127.0.0.1:10/mcp")
    spec = Agent(
        name="mcp",
        system_prompt="x",
        llm_config=LLM,
        toolboxes=[
            MCPToolBox(name="clock", client_transport=stdio),
            MCPToolBox(name="docs", client_transport=http, tool_filter=["read"]),
            MCPToolBox(name="old", client_transport=SSETransport(name="old", url="http://h/sse")),
        ],
        tools=[MCPTool(name="find", client_transport=remote)],
    )
    agent_file, warnings = from_agentspec(spec)
    assert agent_file["mcp_servers"] == [
        {"name": "search", "url": "http://127.0.0.1:10/mcp"},
        {"name": "clock", "command": "mcp-server-time", "args": ["-v"], "env": {"TZ": "UTC"}},
        {"name": "docs", "url": "http://127.0.0.1:9/mcp", "headers": {"A": "b"}},
    ]
    assert _fields(warnings) == [
        "$.tools[0]",
        "$.toolboxes[1].tool_filter",
        "$.toolboxes[2].client_transport",
    ]
    assert "legacy SSE" in warnings[2].message


def test_a_flow_with_one_agent_node_imports_that_agent_and_reports_the_rest() -> None:
    start, end = StartNode(name="start"), EndNode(name="end")
    node = AgentNode(
        name="helper", agent=Agent(name="helper", system_prompt="Help.", llm_config=LLM)
    )
    flow = Flow(
        name="flow",
        start_node=start,
        nodes=[start, node, end],
        control_flow_connections=[
            ControlFlowEdge(name="a", from_node=start, to_node=node),
            ControlFlowEdge(name="b", from_node=node, to_node=end),
        ],
    )
    agent_file, warnings = from_agentspec(flow)
    assert agent_file["instructions"] == "Help."
    assert _fields(warnings) == ["$"]
    assert "EndNode, StartNode" in warnings[0].message


def test_a_component_that_is_no_agent_is_a_user_error() -> None:
    with pytest.raises(UserError, match="OpenAiConfig, not an Agent"):
        from_agentspec(LLM)


def test_an_invalid_document_is_refused_by_pyagentspec_with_its_path(tmp_path: Path) -> None:
    document = AgentSpecSerializer().to_dict(_adder_spec())
    del document["llm_config"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(SpecValidationError) as caught:
        from_agentspec(bad)
    assert caught.value.path == "$.llm_config"
    assert caught.value.source == str(bad)


def test_an_unknown_component_type_is_a_spec_validation_error() -> None:
    document = AgentSpecSerializer().to_dict(_adder_spec())
    document["llm_config"]["component_type"] = "NoSuchConfig"
    with pytest.raises(SpecValidationError, match="NoSuchConfig"):
        from_agentspec(document)


def test_llm_configs_agentkit_cannot_reach_are_reported() -> None:
    oci = OciGenAiConfig(
        name="oci",
        model_id="cohere.command",
        compartment_id="c",
        client_config=OciClientConfigWithApiKey(
            name="c",
            service_endpoint="https://oci.invalid",
            auth_profile="DEFAULT",
            auth_file_location="~/.oci/config",
        ),
    )
    agent_file, warnings = from_agentspec(Agent(name="o", system_prompt="x", llm_config=oci))
    assert "model" not in agent_file
    assert _fields(warnings) == [
        f"$component_ref {oci.client_config.id}.auth_file_location",
        "$.llm_config",
    ]
    assert "OciGenAiConfig" in warnings[1].message


def test_endpoints_and_keys_an_agent_file_cannot_hold_are_reported() -> None:
    compatible = OpenAiCompatibleConfig(
        name="c", model_id="m", url="http://127.0.0.1:4000/v1", api_key="sk-test-planted"
    )
    agent_file, warnings = from_agentspec(Agent(name="c", system_prompt="x", llm_config=compatible))
    assert agent_file["model"] == "openai:m"
    # The key itself is never in the document: pyagentspec writes a reference to it.
    assert _fields(warnings) == [f"$component_ref {compatible.id}.api_key", "$.llm_config.url"]
    assert "secret" in warnings[0].message
    assert "--base-url http://127.0.0.1:4000/v1" in warnings[1].message

    vertex = GeminiConfig(
        name="g", model_id="gemini-2.5-pro", auth=GeminiVertexAIAuthConfig(name="v")
    )
    agent_file, warnings = from_agentspec(Agent(name="g", system_prompt="x", llm_config=vertex))
    assert agent_file["model"] == "gemini:gemini-2.5-pro"
    assert _fields(warnings) == ["$.llm_config.auth"]


def test_a_known_openai_compatible_host_comes_back_as_its_provider() -> None:
    groq = OpenAiCompatibleConfig(name="g", model_id="llama", url="https://api.groq.com/openai/v1")
    agent_file, warnings = from_agentspec(Agent(name="g", system_prompt="x", llm_config=groq))
    assert agent_file["model"] == "groq:llama"
    assert warnings == []


def test_confirmation_and_placeholders_are_reported() -> None:
    spec = Agent(
        name="p",
        system_prompt="You help {{user}}.",
        llm_config=LLM,
        tools=[ServerTool(name="rm", requires_confirmation=True)],
    )
    _, warnings = from_agentspec(spec, tools={"rm": "tests.agentspec.adder_tools:add"})
    assert _fields(warnings) == ["$.inputs", "$.tools[0].requires_confirmation"]


def test_a_file_with_a_byte_order_mark_imports(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    text = AgentSpecSerializer().to_json(Agent(name="bom", system_prompt="x", llm_config=LLM))
    spec.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    agent_file, _ = from_agentspec(spec)
    assert agent_file["name"] == "bom"


def test_unreadable_files_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read Agent Spec file"):
        from_agentspec(tmp_path / "missing.json")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(UserError, match=r"not UTF-8 text: byte 0xe9 at offset 9"):
        from_agentspec(latin)
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1,\n", encoding="utf-8")
    with pytest.raises(SpecValidationError, match="not valid JSON or YAML"):
        from_agentspec(broken)
