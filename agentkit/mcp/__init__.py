"""MCP both ways: serve agentkit tool sets to any MCP client, use any MCP server's tools.

Serving::

    from agentkit.mcp import build_server, serve_stdio
    anyio.run(serve_stdio, build_server([my_toolset]))

or ``agentkit serve TARGET --transport stdio|http``.

Consuming::

    from agentkit.mcp import MCPToolset, load_mcp_config
    agent = Agent(name="a", tools=[MCPToolset("uvx mcp-server-time"), *load_mcp_config("mcp.json")])

Names load on first use (PEP 562): ``report_progress``, ``current_request``
and ``AgentToolset`` do not import the MCP SDK, so a ``@tool`` module can
import them at no cost; everything else loads the SDK when first touched.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "AgentToolset": "._agent_tool",
    "MCPAuthenticationError": "._client",
    "MCPServerError": "._client",
    "MCPToolset": "._client",
    "as_toolsets": "._server",
    "build_server": "._server",
    "current_request": "._context",
    "from_mcp_content": "._convert",
    "from_mcp_result": "._convert",
    "from_mcp_tool": "._convert",
    "http_app": "._transports",
    "load_mcp_config": "._config",
    "report_progress": "._context",
    "serve_http": "._transports",
    "serve_stdio": "._transports",
    "serve_targets": "._serve",
    "to_mcp_content": "._convert",
    "to_mcp_result": "._convert",
    "to_mcp_tool": "._convert",
    "toolset_from_entry": "._config",
}

__all__ = [
    "AgentToolset",
    "MCPAuthenticationError",
    "MCPServerError",
    "MCPToolset",
    "as_toolsets",
    "build_server",
    "current_request",
    "from_mcp_content",
    "from_mcp_result",
    "from_mcp_tool",
    "http_app",
    "load_mcp_config",
    "report_progress",
    "serve_http",
    "serve_stdio",
    "serve_targets",
    "to_mcp_content",
    "to_mcp_result",
    "to_mcp_tool",
    "toolset_from_entry",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentkit.mcp' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from ._agent_tool import AgentToolset
    from ._client import MCPAuthenticationError, MCPServerError, MCPToolset
    from ._config import load_mcp_config, toolset_from_entry
    from ._context import current_request, report_progress
    from ._convert import (
        from_mcp_content,
        from_mcp_result,
        from_mcp_tool,
        to_mcp_content,
        to_mcp_result,
        to_mcp_tool,
    )
    from ._serve import serve_targets
    from ._server import as_toolsets, build_server
    from ._transports import http_app, serve_http, serve_stdio
