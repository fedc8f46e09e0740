"""An agent file as an Open Agent Specification ``Agent``.

The document is built from pyagentspec's own classes and serialised with its
serializer, then read back with its deserializer, so what is written is what
pyagentspec accepts. Ids are derived from the agent's name, so exporting the
same file twice gives the same document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._agentfile import AgentFile, resolve_tools, validate_document
from ._common import (
    AGENTKIT_KEY,
    ConversionWarning,
    deserialize,
    read_document,
    require_pyagentspec,
)
from ._llm import llm_config_for
from ._schemas import property_schemas

if TYPE_CHECKING:
    from pyagentspec.mcp import MCPToolBox
    from pyagentspec.tools import ServerTool

    from .._model import ToolDefinition

__all__ = ["to_agentspec"]

#: Agent-file keys Agent Spec has no place for, kept under ``metadata.agentkit``.
RUNTIME_ONLY = (
    "max_turns",
    "tool_timeout",
    "tool_retries",
    "output_retries",
    "max_cost_usd",
    "allow_lossy_schemas",
    "escalate_on",
    "mcp_config",
    "profiles",
)

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w-]*)\s*\}\}")


def _kept(field: str, what: str) -> ConversionWarning:
    return ConversionWarning(
        field,
        f"{what} has no place in Agent Spec: kept under metadata.agentkit, which only "
        "agentkit's import reads (other runtimes ignore it)",
    )


def read_agent_document(agent: str | Path | Mapping[str, Any]) -> tuple[Any, str, Path | None]:
    """The parsed agent file, where it came from, and its folder (None for a mapping)."""
    if isinstance(agent, Mapping):
        return dict(agent), "agent document", None
    file = Path(agent)
    return read_document(file, "agent file"), str(file), file.resolve().parent


def _definitions(items: list[Any]) -> list[ToolDefinition]:
    """Every tool definition of the objects one tool reference imports."""
    from .._tools import FunctionToolset, Tool

    found: list[ToolDefinition] = []
    for item in items:
        if isinstance(item, Tool):
            found.append(item.definition)
        elif isinstance(item, FunctionToolset):
            found.extend(t.definition for t in item.tools.values())
        elif callable(item) and not hasattr(item, "list_tools"):
            found.append(Tool(item).definition)
        else:
            found.extend(_list_in_thread(item))
    return found


def _list_in_thread(toolset: Any) -> list[ToolDefinition]:
    # Other tool sets list their tools asynchronously; a worker thread runs the
    # listing whether or not the caller is inside an event loop.
    import threading

    import anyio

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["tools"] = anyio.run(toolset.list_tools)
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=work, name="agentspec-list-tools")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    tools: list[ToolDefinition] = box["tools"]
    return tools


def _server_tool(
    definition: ToolDefinition, reference: str, component_id: str
) -> tuple[ServerTool, list[ConversionWarning]]:
    from pyagentspec import Property
    from pyagentspec.tools import ServerTool

    warnings: list[ConversionWarning] = []
    inputs, exact = property_schemas(definition.input_schema)
    if not exact and definition.input_schema.get("properties"):
        warnings.append(
            ConversionWarning(
                f"tools[{reference}]",
                f"the arguments of {definition.name!r} are written as Agent Spec inputs, "
                "which cannot say everything their JSON Schema says (optional arguments "
                "without a default, additionalProperties): other runtimes see an "
                "approximation",
            )
        )
    outputs: list[dict[str, Any]] | None = None
    if definition.output_schema is not None:
        outputs, _ = property_schemas(definition.output_schema)
    tool = ServerTool(
        id=component_id,
        name=definition.name,
        description=definition.description,
        inputs=[Property(json_schema=schema) for schema in inputs],
        outputs=[Property(json_schema=schema) for schema in outputs] if outputs else None,
        metadata={AGENTKIT_KEY: {"tool": reference}},
    )
    return tool, warnings


def _toolbox(entry: Any, component_id: str) -> MCPToolBox:
    from pyagentspec.mcp import MCPToolBox, StdioTransport, StreamableHTTPTransport

    transport: StdioTransport | StreamableHTTPTransport
    if entry.url is not None:
        transport = StreamableHTTPTransport(
            id=f"{component_id}.transport",
            name=entry.name,
            url=entry.url,
            headers=dict(entry.headers) or None,
        )
    else:
        transport = StdioTransport(
            id=f"{component_id}.transport",
            name=entry.name,
            command=entry.command,
            args=list(entry.args),
            env=dict(entry.env) or None,
            cwd=entry.cwd,
        )
    return MCPToolBox(id=component_id, name=entry.name, client_transport=transport)


def _outputs(spec: AgentFile, kept: dict[str, Any]) -> tuple[list[Any], list[ConversionWarning]]:
    from pyagentspec import Property

    schema = spec.output_schema
    if schema is None:
        return [], []
    properties, exact = property_schemas(schema)
    if exact:
        return [Property(json_schema=p) for p in properties], []
    kept["output_schema"] = schema
    if not properties:
        # Not an object: one output, named as agentkit names a wrapped answer.
        properties = [{**schema, "title": "result"}]
        message = (
            "the answer is not a JSON object: written as the single Agent Spec output "
            "'result' (other runtimes return {'result': value})"
        )
    else:
        message = (
            "Agent Spec outputs are a list of named properties, each required unless it "
            "has a default: the schema's other keywords (additionalProperties, optional "
            "properties without a default, a root title or description) are kept only "
            "under metadata.agentkit"
        )
    return [Property(json_schema=p) for p in properties], [
        ConversionWarning("output_schema", message)
    ]


def _model_chain(spec: AgentFile) -> list[str]:
    chain = list(spec.models) if spec.models else []
    if not chain and spec.model:
        written = spec.model if isinstance(spec.model, list) else [spec.model]
        chain = [part.strip() for item in written for part in item.split(",")]
    return chain


def to_agentspec(
    agent: str | Path | Mapping[str, Any],
) -> tuple[dict[str, Any], list[ConversionWarning]]:
    """Convert an agent file to an Open Agent Specification ``Agent`` document.

    Args:
        agent: The path of an ``agent.yaml`` (or ``.json``), or its parsed content.
            Tool references are imported (modules next to the file import by
            name) to describe each tool's inputs and outputs.

    Returns:
        The Agent Spec document as a dict (serialise it as JSON or YAML) and
        the list of everything Agent Spec cannot express. Those agent-file
        keys are also kept under ``metadata.agentkit``, so ``from_agentspec``
        gives the same agent file back.

    Raises:
        SpecValidationError: the agent file does not match agentkit's schema,
            or pyagentspec refuses the document (a bug: please report it).
        UserError: pyagentspec is not installed, the file cannot be read or a
            tool cannot be imported.
    """
    require_pyagentspec()
    from pyagentspec import Agent
    from pyagentspec.serialization import AgentSpecSerializer

    document, source, base = read_agent_document(agent)
    validate_document(document, "agent", source)
    spec = AgentFile.model_validate(document)
    written = spec.model_fields_set
    warnings: list[ConversionWarning] = []
    kept: dict[str, Any] = {}

    chain = _model_chain(spec)
    if len(chain) > 1:
        field = "models" if spec.models else "model"
        kept[field] = spec.models or spec.model
        kind = "cascade" if spec.escalate_on else "fallback chain"
        warnings.append(_kept(field, f"the {kind} after {chain[0]!r}"))
    settings = spec.settings.model_dump(exclude_unset=True)
    llm, more = llm_config_for(chain[0] if chain else None, settings, f"{spec.name}.llm")
    warnings.extend(more)

    tools: list[ServerTool] = []
    for reference in spec.tools:
        for definition in _definitions(resolve_tools([reference], source, base)):
            tool_id = f"{spec.name}.tools.{definition.name}"
            if any(t.id == tool_id for t in tools):
                tool_id = f"{tool_id}.{len(tools)}"
            tool, more = _server_tool(definition, reference, tool_id)
            tools.append(tool)
            warnings.extend(more)
    toolboxes = [_toolbox(e, f"{spec.name}.mcp.{e.name}") for e in spec.mcp_servers]

    outputs, more = _outputs(spec, kept)
    warnings.extend(more)
    for key in RUNTIME_ONLY:
        if key in written:
            kept[key] = spec.model_dump(mode="json", exclude_unset=True)[key]
            warnings.append(_kept(key, key))
    found = sorted(set(_PLACEHOLDER.findall(spec.instructions)))
    if found:
        warnings.append(
            ConversionWarning(
                "instructions",
                f"Agent Spec reads {{{{{found[0]}}}}} in a system prompt as an input "
                f"placeholder ({', '.join(found)}); agentkit sends it as written",
            )
        )

    component = Agent(
        id=spec.name,
        name=spec.name,
        description=spec.description,
        system_prompt=spec.instructions,
        llm_config=llm,
        tools=tools,
        toolboxes=toolboxes,
        outputs=outputs or None,
        metadata={AGENTKIT_KEY: kept} if kept else {},
    )
    result: dict[str, Any] = AgentSpecSerializer().to_dict(component)
    deserialize(result, f"the Agent Spec export of {source}")
    return result, warnings
