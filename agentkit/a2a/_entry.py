"""The ``a2a_agents:`` key of an agent file: remote A2A agents the agent may call.

Kept free of the A2A SDK: the agent-file model imports it to build its JSON
Schema, and ``load_agent`` imports the SDK only when the key is used.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..exceptions import UserError

__all__ = ["A2AAgentEntry", "a2a_toolsets"]


class A2AAgentEntry(BaseModel):
    """One remote A2A agent, offered to the model as one tool."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://", description="the agent's root URL (its card is there)")
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="the tool's name; default: the agent card's name",
    )
    token_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding a bearer token for the agent",
    )


def a2a_toolsets(entries: list[str | A2AAgentEntry], source: str) -> list[Any]:
    """The agent file's A2A agents as tool sets (the A2A SDK loads only when there are any).

    Raises:
        UserError: a ``token_env`` variable is not set.
    """
    if not entries:
        return []
    from . import A2AToolset

    toolsets: list[Any] = []
    for item in entries:
        entry = A2AAgentEntry(url=item) if isinstance(item, str) else item
        token = None
        if entry.token_env is not None:
            token = os.environ.get(entry.token_env)
            if not token:
                raise UserError(
                    f"{source}: a2a_agents: {entry.url} wants a token from "
                    f"${entry.token_env}, which is not set"
                )
        toolsets.append(A2AToolset(entry.url, name=entry.name, token=token))
    return toolsets
