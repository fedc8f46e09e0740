"""A2A (Agent2Agent) both ways: serve an agentkit agent to any A2A client, use remote agents.

Serving::

    from agentkit.a2a import serve_a2a
    anyio.run(functools.partial(serve_a2a, agent, port=8000, model="openai:gpt-4.1-mini"))

or ``agentkit serve AGENT.yaml --a2a``. The server is the official
``a2a-sdk`` request handler and routes (JSON-RPC and HTTP+JSON), with an
Agent Card generated from the agent at ``/.well-known/agent-card.json``.

Consuming::

    from agentkit.a2a import A2AToolset
    agent = Agent(name="a", tools=[A2AToolset("http://127.0.0.1:8000/")])

Needs the ``a2a`` extra (``pip install 'agentkit-interop[a2a]'``). Names load
on first use (PEP 562): ``import agentkit`` never imports the A2A SDK.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "A2AAgentError": "._client",
    "A2AToolset": "._client",
    "AgentkitExecutor": "._executor",
    "a2a_app": "._server",
    "build_agent_card": "._card",
    "from_a2a_part": "._convert",
    "from_artifacts": "._convert",
    "serve_a2a": "._server",
    "serve_a2a_from_args": "._serve",
}

__all__ = [
    "A2AAgentError",
    "A2AToolset",
    "AgentkitExecutor",
    "a2a_app",
    "build_agent_card",
    "from_a2a_part",
    "from_artifacts",
    "serve_a2a",
    "serve_a2a_from_args",
]

_MISSING = (
    "agentkit.a2a needs the A2A SDK: install the extra with "
    "`pip install 'agentkit-interop[a2a]'` (or `uv add 'agentkit-interop[a2a]'`)"
)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit.a2a' has no attribute {name!r}")
    try:
        value = getattr(import_module(module, __name__), name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] in ("a2a", "google"):
            from ..exceptions import UserError

            raise UserError(_MISSING) from exc
        raise
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from ._card import build_agent_card
    from ._client import A2AAgentError, A2AToolset
    from ._convert import from_a2a_part, from_artifacts
    from ._executor import AgentkitExecutor
    from ._serve import serve_a2a_from_args
    from ._server import a2a_app, serve_a2a
