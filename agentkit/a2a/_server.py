"""Serve an agentkit agent over A2A, built on the official SDK's server classes.

``a2a_app`` returns a Starlette app: the SDK's ``DefaultRequestHandler`` with
an ``InMemoryTaskStore`` and ``AgentkitExecutor``, the SDK's JSON-RPC routes
at ``/`` and HTTP+JSON routes under ``/rest``, and the Agent Card at
``/.well-known/agent-card.json``. ``serve_a2a`` runs it with uvicorn on a
loopback socket by default.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import (
    create_agent_card_routes,
    create_jsonrpc_routes,
    create_rest_routes,
)
from a2a.server.tasks import InMemoryTaskStore, TaskStore
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from .._model import ToolDefinition
from ._card import build_agent_card
from ._executor import AgentkitExecutor
from ._security import BearerGuard, HostGuard, allowed_names

if TYPE_CHECKING:
    from .._agent import Agent
    from .._runner import Model

__all__ = ["a2a_app", "agent_tools", "bind_socket", "serve_a2a"]

logger = logging.getLogger("agentkit.a2a")

REST_PREFIX = "/rest"


def _local_tools(agent: Agent) -> list[ToolDefinition]:
    # Tools known without connecting anywhere: @tool functions and agents-as-tools.
    found: list[ToolDefinition] = []
    for toolset in agent.toolsets:
        tools = getattr(toolset, "tools", None)
        if isinstance(tools, Mapping):
            found.extend(t.definition for t in tools.values())
        definition = getattr(toolset, "definition", None)
        if isinstance(definition, ToolDefinition):
            found.append(definition)
    return found


async def agent_tools(agent: Agent) -> list[ToolDefinition]:
    """Every tool of ``agent``, for its card; a tool set that cannot list is skipped."""
    found: list[ToolDefinition] = []
    for toolset in agent.toolsets:
        try:
            found.extend(await toolset.list_tools())
        except Exception as exc:
            logger.warning("agent card: cannot list the tools of %r: %s", toolset, exc)
    return found


def a2a_app(
    agent: Agent,
    *,
    url: str,
    model: Model | None = None,
    host: str = "127.0.0.1",
    token: str | None = None,
    tools: Sequence[ToolDefinition] | None = None,
    rest: bool = True,
    model_options: Mapping[str, Any] | None = None,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    task_store: TaskStore | None = None,
) -> ASGIApp:
    """The ASGI app serving ``agent`` over A2A (JSON-RPC, and HTTP+JSON under ``/rest``).

    Args:
        agent: The agent to serve.
        url: The public root URL (``http://127.0.0.1:8000/``); the card
            names it as the JSON-RPC endpoint.
        model: The model the agent runs on; None chooses like ``agentkit run``.
        host: The address the app is bound to; decides which ``Host`` and
            ``Origin`` values are accepted (loopback names always are).
        token: When set, every request but the Agent Card needs
            ``Authorization: Bearer <token>``, and the card says so.
        tools: The tools to list as skills; default: the agent's local tools.
        rest: Serve the HTTP+JSON binding as well.
        model_options: Options for the adapter factories.
        allowed_hosts: More ``Host`` names to accept.
        allowed_origins: More ``Origin`` values to accept (``https://app.example``).
        task_store: Where tasks live; an in-memory store by default.

    Returns:
        The app; run it with any ASGI server (or ``serve_a2a``).
    """
    root = url.rstrip("/")
    card = build_agent_card(
        agent,
        f"{root}/",
        tools=_local_tools(agent) if tools is None else tools,
        rest_url=f"{root}{REST_PREFIX}" if rest else None,
        token=token is not None,
    )
    handler = DefaultRequestHandler(
        agent_executor=AgentkitExecutor(agent, model, model_options=model_options),
        task_store=task_store or InMemoryTaskStore(),
        agent_card=card,
    )
    routes: list[BaseRoute] = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, "/", enable_v0_3_compat=True),
    ]
    if rest:
        routes.extend(create_rest_routes(handler, path_prefix=REST_PREFIX))
    app: ASGIApp = Starlette(routes=routes)
    if token is not None:
        app = BearerGuard(app, token, public_paths=[AGENT_CARD_WELL_KNOWN_PATH])
    return HostGuard(app, allowed_names(host, allowed_hosts), allowed_origins)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one), Nagle off."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it on Linux: small SSE frames go out at once.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def serve_a2a(
    agent: Agent,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    model: Model | None = None,
    public_url: str | None = None,
    rest: bool = True,
    model_options: Mapping[str, Any] | None = None,
    allowed_hosts: Sequence[str] = (),
    allowed_origins: Sequence[str] = (),
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``agent`` over A2A with uvicorn until cancelled.

    Args:
        agent: The agent to serve.
        host: Address to bind; 127.0.0.1 by default, so only this machine can connect.
        port: Port to bind; 0 picks a free one.
        token: When set, requests need ``Authorization: Bearer <token>``.
        model: The model the agent runs on.
        public_url: The URL clients use, when not ``http://host:port/``
            (behind a proxy); the Agent Card names it.
        rest: Serve the HTTP+JSON binding as well as JSON-RPC.
        model_options: Options for the adapter factories.
        allowed_hosts: See ``a2a_app``.
        allowed_origins: See ``a2a_app``.
        on_ready: Called with the root URL once the socket listens.
    """
    import uvicorn

    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = public_url or f"http://{shown}:{bound_port}/"
    app = a2a_app(
        agent,
        url=url,
        model=model,
        host=host,
        token=token,
        tools=await agent_tools(agent),
        rest=rest,
        model_options=model_options,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
    )
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=3)
    runner = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(url)
    else:
        print(f"A2A agent {agent.name!r} listening on {url}", file=sys.stderr)
    with sock:
        await runner.serve(sockets=[sock])
