"""An Open Agent Specification ``Agent`` as an agent file.

The document is read with pyagentspec's deserializer first, so an invalid
document is refused in pyagentspec's own terms. The agent file produced is
checked against agentkit's agent schema before it is returned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._agentfile import validate_document
from ..exceptions import UserError
from ._common import (
    AGENTKIT_KEY,
    ConversionWarning,
    deserialize,
    read_document,
    require_pyagentspec,
)
from ._export import RUNTIME_ONLY
from ._llm import model_for, settings_for
from ._schemas import object_schema, property_schemas

if TYPE_CHECKING:
    from pyagentspec import Agent, Component

__all__ = ["from_agentspec"]

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]+")


def _name(value: str, path: str, warnings: list[ConversionWarning]) -> str:
    name = _NAME_CHARS.sub("_", value).strip("_") or "agent"
    if name != value:
        warnings.append(
            ConversionWarning(
                path, f"agentkit names allow [A-Za-z0-9_.-] only: {value!r} → {name!r}"
            )
        )
    return name


def _read(spec: Any) -> tuple[dict[str, Any], str]:
    if isinstance(spec, Mapping):
        return dict(spec), "Agent Spec document"
    if isinstance(spec, str | Path):
        file = Path(spec)
        return read_document(file, "Agent Spec file"), str(file)
    from pyagentspec import Component
    from pyagentspec.serialization import AgentSpecSerializer

    if isinstance(spec, Component):
        return AgentSpecSerializer().to_dict(spec), f"{type(spec).__name__} {spec.name!r}"
    raise UserError(f"expected a path, a mapping or a pyagentspec Component, not {spec!r}")


def _find_agent(component: Component, source: str) -> tuple[Agent, str, list[ConversionWarning]]:
    """The one Agent of the document, with its JSON path; a Flow gives its AgentNode's."""
    from pyagentspec import Agent
    from pyagentspec.flows.flow import Flow
    from pyagentspec.flows.nodes import AgentNode

    if isinstance(component, Agent):
        return component, "$", []
    if isinstance(component, Flow):
        agents = [
            (i, node.agent)
            for i, node in enumerate(component.nodes)
            if isinstance(node, AgentNode) and isinstance(node.agent, Agent)
        ]
        if len(agents) == 1:
            index, agent = agents[0]
            others = sorted(
                {type(n).__name__ for n in component.nodes if not isinstance(n, AgentNode)}
            )
            return (
                agent,
                f"$.nodes[{index}].agent",
                [
                    ConversionWarning(
                        "$",
                        f"agentkit runs agents, not flows: imported the Agent of flow "
                        f"{component.name!r} and left out its other nodes ({', '.join(others)}) "
                        "and edges",
                    )
                ],
            )
        raise UserError(
            f"{source}: flow {component.name!r} has {len(agents)} agent nodes; agentkit "
            "imports one agent (export the agent itself)"
        )
    raise UserError(
        f"{source}: a {type(component).__name__}, not an Agent; agentkit imports Agent "
        "components (or a Flow with one AgentNode)"
    )


def _transport_entry(
    transport: Any, name: str, path: str, warnings: list[ConversionWarning]
) -> dict[str, Any] | None:
    from pyagentspec.mcp import SSETransport, StdioTransport, StreamableHTTPTransport
    from pyagentspec.mcp.clienttransport import StreamableHTTPmTLSTransport

    entry: dict[str, Any] = {"name": name}
    if isinstance(transport, StdioTransport):
        entry["command"] = transport.command
        if transport.args:
            entry["args"] = list(transport.args)
        if transport.env:
            entry["env"] = dict(transport.env)
        if transport.cwd is not None:
            entry["cwd"] = transport.cwd
    elif isinstance(transport, StreamableHTTPTransport) and not isinstance(
        transport, StreamableHTTPmTLSTransport
    ):
        entry["url"] = transport.url
        if transport.headers:
            entry["headers"] = dict(transport.headers)
        for field in ("auth", "sensitive_headers", "retry_policy"):
            if getattr(transport, field):
                warnings.append(
                    ConversionWarning(
                        f"{path}.{field}",
                        f"agent files have no {field} for MCP servers: write the headers "
                        "(${VAR} reads the environment) instead",
                    )
                )
    else:
        why = (
            "the legacy SSE transport is not supported; use streamable HTTP"
            if isinstance(transport, SSETransport)
            else "mTLS client certificates are not supported"
            if isinstance(transport, StreamableHTTPmTLSTransport)
            else "agentkit speaks MCP over stdio and streamable HTTP only"
        )
        warnings.append(
            ConversionWarning(
                path, f"MCP server {name!r} left out: {type(transport).__name__}: {why}"
            )
        )
        return None
    if transport.session_parameters.read_timeout_seconds != 60.0:
        warnings.append(
            ConversionWarning(
                f"{path}.session_parameters",
                "agent files have no MCP read timeout: agentkit's default applies",
            )
        )
    return entry


class _Tools:
    """The agent file's ``tools`` and ``mcp_servers`` as they are collected."""

    def __init__(self, mapping: Mapping[str, str], warnings: list[ConversionWarning]) -> None:
        self.mapping = mapping
        self.warnings = warnings
        self.references: list[str] = []
        self.servers: list[dict[str, Any]] = []

    def reference(self, value: str) -> None:
        if value not in self.references:
            self.references.append(value)

    def server(self, transport: Any, name: str, path: str) -> None:
        entry = _transport_entry(
            transport, _name(name, f"{path}.name", self.warnings), path, self.warnings
        )
        if entry is None:
            return
        same = [s for s in self.servers if {**s, "name": ""} == {**entry, "name": ""}]
        if same:
            return
        if any(s["name"] == entry["name"] for s in self.servers):
            entry["name"] = f"{entry['name']}_{len(self.servers)}"
        self.servers.append(entry)

    def tool(self, tool: Any, path: str) -> None:
        from pyagentspec.mcp import MCPTool
        from pyagentspec.tools import ClientTool, ServerTool

        if tool.requires_confirmation:
            self.warnings.append(
                ConversionWarning(
                    f"{path}.requires_confirmation",
                    f"agentkit has no confirmation step: {tool.name!r} runs without asking",
                )
            )
        kept = (tool.metadata or {}).get(AGENTKIT_KEY, {}).get("tool")
        if isinstance(kept, str):
            self.reference(kept)
        elif tool.name in self.mapping:
            self.reference(self.mapping[tool.name])
        elif isinstance(tool, MCPTool):
            self.server(
                tool.client_transport, tool.client_transport.name, f"{path}.client_transport"
            )
            self.warnings.append(
                ConversionWarning(
                    path,
                    f"agent files name MCP servers, not single MCP tools: every tool of the "
                    f"server behind {tool.name!r} becomes available",
                )
            )
        else:
            where = {ServerTool: "the orchestrator", ClientTool: "the client application"}
            runner = where.get(type(tool), "its runtime")
            self.warnings.append(
                ConversionWarning(
                    path,
                    f"{type(tool).__name__} {tool.name!r} is run by {runner} and the document "
                    f"does not say which code implements it: left out (map it with "
                    f"--tool {tool.name}=module:function)",
                )
            )

    def toolbox(self, box: Any, path: str) -> None:
        from pyagentspec.mcp import MCPToolBox

        if not isinstance(box, MCPToolBox):
            self.warnings.append(
                ConversionWarning(
                    path, f"{type(box).__name__} {box.name!r} left out: not an MCP toolbox"
                )
            )
            return
        for field, why in (
            ("tool_filter", "every tool of the server becomes available"),
            ("requires_confirmation", "agentkit has no confirmation step"),
            ("retry_policy", "agentkit's MCP client does not retry tool calls"),
        ):
            if getattr(box, field):
                self.warnings.append(
                    ConversionWarning(f"{path}.{field}", f"agent files have no {field}: {why}")
                )
        self.server(box.client_transport, box.name, f"{path}.client_transport")


def _output_schema(agent: Agent, kept: Mapping[str, Any]) -> dict[str, Any] | None:
    current = [dict(p.json_schema) for p in agent.outputs or []]
    original = kept.get("output_schema")
    if isinstance(original, dict):
        properties, _ = property_schemas(original)
        if not properties:
            properties = [{**original, "title": "result"}]
        if properties == current:
            return original
    return object_schema(current) if current else None


def from_agentspec(
    spec: str | Path | Mapping[str, Any] | Component,
    *,
    tools: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[ConversionWarning]]:
    """Convert an Open Agent Specification ``Agent`` to an agent file.

    Args:
        spec: The path of an Agent Spec JSON or YAML file, its parsed
            content, or a pyagentspec component.
        tools: Tool name → ``module:function`` (or an ``agentkit.tools`` entry
            point): the code that implements a server or client tool of the
            document. Tools exported by agentkit name their code themselves.

    Returns:
        The agent file as a dict (write it as YAML) and the list of everything
        the agent file cannot express.

    Raises:
        SpecValidationError: pyagentspec refuses the document (the path names
            the field), or the result does not match the agent schema.
        UserError: pyagentspec is not installed, the file cannot be read, or the
            document holds no single Agent.
    """
    require_pyagentspec()
    document, source = _read(spec)
    component, secrets = deserialize(document, source)
    agent, path, warnings = _find_agent(component, source)
    warnings[:0] = secrets
    kept: dict[str, Any] = dict((agent.metadata or {}).get(AGENTKIT_KEY) or {})

    result: dict[str, Any] = {"name": _name(agent.name, f"{path}.name", warnings)}
    if agent.description:
        result["description"] = agent.description
    if agent.system_prompt:
        result["instructions"] = agent.system_prompt
    if agent.inputs:
        names = ", ".join(p.title for p in agent.inputs)
        warnings.append(
            ConversionWarning(
                f"{path}.inputs",
                f"agentkit agents take one message, not named inputs ({names}): "
                "placeholders in the instructions are sent as written",
            )
        )
    model, more = model_for(agent.llm_config, f"{path}.llm_config")
    warnings.extend(more)
    chain = kept.get("models") or kept.get("model")
    first = chain[0] if isinstance(chain, list) else str(chain).split(",")[0].strip()
    if chain and model is not None and first == model:
        # The fallback chain export kept, as long as the document still starts it.
        # Under the key it was written with: ``model:`` may hold a list too.
        result["models" if "models" in kept else "model"] = chain
    elif model is not None:
        result["model"] = model

    collected = _Tools(tools or {}, warnings)
    for i, tool in enumerate(agent.tools):
        collected.tool(tool, f"{path}.tools[{i}]")
    for i, box in enumerate(agent.toolboxes):
        collected.toolbox(box, f"{path}.toolboxes[{i}]")
    if collected.references:
        result["tools"] = collected.references
    output_schema = _output_schema(agent, kept)
    if output_schema is not None:
        result["output_schema"] = output_schema
    settings, more = settings_for(agent.llm_config, f"{path}.llm_config")
    warnings.extend(more)
    if settings:
        result["settings"] = settings
    for key in RUNTIME_ONLY:
        if key in kept:
            result[key] = kept[key]
    if collected.servers:
        result["mcp_servers"] = collected.servers
    if agent.transforms:
        warnings.append(
            ConversionWarning(
                f"{path}.transforms",
                "agentkit has no message transforms (summarisation): the conversation is "
                "sent whole",
            )
        )
    validate_document(result, "agent", f"the agent file imported from {source}")
    return result, warnings
