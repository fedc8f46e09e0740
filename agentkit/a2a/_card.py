"""The Agent Card of an agentkit agent: who it is, what it can do, where to reach it.

The card is built from the agent definition alone: its name and
description, one skill for the agent itself (its instructions say what it
does) plus one per tool it can use, the media types it reads and writes, the
transports served, and a bearer scheme when the server asks for a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)

from .._model import ToolDefinition

if TYPE_CHECKING:
    from .._agent import Agent

__all__ = ["BEARER_SCHEME", "build_agent_card"]

#: The card's name for the bearer token scheme.
BEARER_SCHEME = "bearer"

_SUMMARY_CHARS = 300


def _summary(text: str) -> str:
    first = text.strip().split("\n\n", 1)[0].strip()
    return first if len(first) <= _SUMMARY_CHARS else first[: _SUMMARY_CHARS - 1] + "…"


def _skill_id(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name.lower()) or "agent"


def build_agent_card(
    agent: Agent,
    url: str,
    *,
    tools: Sequence[ToolDefinition] = (),
    rest_url: str | None = None,
    token: bool = False,
    version: str = "1.0.0",
) -> AgentCard:
    """The Agent Card for ``agent`` served at ``url``.

    Args:
        agent: The agent.
        url: The JSON-RPC endpoint (the server's root URL).
        tools: The agent's tools, each listed as a skill the agent has.
        rest_url: The HTTP+JSON endpoint, when served.
        token: The server wants ``Authorization: Bearer <token>``.
        version: The agent's version.

    Returns:
        The card, as the SDK's protobuf ``AgentCard``.
    """
    structured = agent.output_json_schema is not None
    output_modes = ["application/json", "text/plain"] if structured else ["text/plain"]
    description = agent.description or _summary(agent.instructions) or f"The {agent.name} agent."
    skills = [
        AgentSkill(
            id=_skill_id(agent.name),
            name=agent.name,
            description=_summary(agent.instructions) or description,
            tags=["agent"],
            input_modes=["text/plain", "application/json"],
            output_modes=output_modes,
        )
    ]
    for tool in tools:
        skills.append(
            AgentSkill(
                id=f"tool:{_skill_id(tool.name)}",
                name=tool.title or tool.name,
                description=tool.description or f"Uses the {tool.name} tool.",
                tags=["tool"],
            )
        )
    interfaces = [AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")]
    if rest_url is not None:
        interfaces.append(
            AgentInterface(url=rest_url, protocol_binding="HTTP+JSON", protocol_version="1.0")
        )
    card = AgentCard(
        name=agent.name,
        description=description,
        supported_interfaces=interfaces,
        version=version,
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=output_modes,
        skills=skills,
    )
    if token:
        card.security_schemes[BEARER_SCHEME].CopyFrom(
            SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="Bearer", description="Authorization: Bearer <token>"
                )
            )
        )
        card.security_requirements.append(
            SecurityRequirement(schemes={BEARER_SCHEME: StringList(list=[])})
        )
    return card
