"""An agent as a tool set of one tool: the user's message in, the agent's answer out.

Serving an agent over MCP, and nesting one agent inside another, are the
same thing: the agent becomes a tool whose input is ``{"input": "..."}`` and
whose result is the run's output. An agent with an output schema gets that
schema as the tool's ``outputSchema`` and answers with ``structuredContent``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .._messages import TextPart, ToolResultPart
from .._model import ToolDefinition
from .._tools import error_result
from ..exceptions import RunError
from ._names import safe_tool_name

if TYPE_CHECKING:
    from .._agent import Agent
    from .._model import ModelAdapter

__all__ = ["AgentToolset"]


class AgentToolset:
    """One agent, offered as one tool.

    Args:
        agent: The agent to run on each call.
        model: ``provider:model`` or an adapter; None uses the agent's default
            model (or ``AGENTKIT_MODEL``) at call time.
        name: The tool's name; defaults to the agent's.
    """

    def __init__(
        self, agent: Agent, model: str | ModelAdapter | None = None, *, name: str | None = None
    ) -> None:
        self.agent = agent
        self.model = model
        self.name = name or safe_tool_name(agent.name)

    def __repr__(self) -> str:
        return f"AgentToolset({self.agent.name!r})"

    @property
    def definition(self) -> ToolDefinition:
        """The one tool: input ``{"input": string}``, output the agent's schema (if any)."""
        return ToolDefinition(
            name=self.name,
            title=self.agent.name,
            description=self.agent.description
            or f"Ask the {self.agent.name} agent; it answers the message given as input.",
            input_schema={
                "type": "object",
                "properties": {
                    "input": {"type": "string", "description": "The message for the agent."}
                },
                "required": ["input"],
                "additionalProperties": False,
            },
            output_schema=self.agent.output_json_schema,
        )

    async def list_tools(self) -> list[ToolDefinition]:
        """The agent's one tool."""
        return [self.definition]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        """Run the agent on ``arguments["input"]``; a failed run is an error result."""
        from .._runner import run

        if name != self.name:
            return error_result(f"Unknown tool {name!r}. Available tools: {self.name}")
        message = arguments.get("input")
        if not isinstance(message, str) or not message.strip():
            return error_result(f"Tool {self.name} needs a non-empty string 'input'")
        try:
            result = await run(self.agent, message, model=self.model)
        except RunError as exc:
            return error_result(f"The {self.agent.name} agent failed: {exc}")
        return self._to_result(result.output)

    def _to_result(self, output: Any) -> ToolResultPart:
        schema = self.agent.output_json_schema
        if schema is None:
            text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
            return ToolResultPart(call_id="", name=self.name, content=[TextPart(text=text)])
        data = _jsonable(output)
        # The agent wraps a non-object answer as {"result": ...}; so does MCP.
        structured = data if _is_object_schema(self.agent) else {"result": data}
        return ToolResultPart(
            call_id="",
            name=self.name,
            content=[TextPart(text=json.dumps(data, ensure_ascii=False))],
            structured_content=structured,
        )


def _jsonable(value: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(Any).dump_python(value, mode="json")


def _is_object_schema(agent: Agent) -> bool:
    if agent.output_schema is not None:
        return agent.output_schema.get("type") == "object"
    if agent.output_type is None:
        return True
    from pydantic import TypeAdapter

    return TypeAdapter(agent.output_type).json_schema().get("type") == "object"
