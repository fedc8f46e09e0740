"""What ``agentkit serve TARGET...`` serves, and how.

A target is an ``agentkit.tools`` entry-point name (``time``), an import path
(``package.module:object``), an agent file (the agent becomes one tool), or
an ``mcpServers`` JSON file (its servers are proxied). Several targets are
served together by one server.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import UserError

if TYPE_CHECKING:
    from .._tools import Toolset

__all__ = ["resolve_targets", "serve_targets"]

_AGENT_SUFFIXES = (".yaml", ".yml", ".json")
#: Seconds a thread holds the GIL while another waits, in ``agentkit serve --transport http``.
SWITCH_INTERVAL = 0.0005


def _is_mcp_config(path: Path) -> bool:
    if path.suffix != ".json":
        return False
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and ("mcpServers" in document or "servers" in document)


def resolve_targets(
    targets: Sequence[str], model: str | None = None
) -> tuple[list[Toolset], str, list[str]]:
    """Turn ``serve`` targets into tool sets.

    Args:
        targets: Entry-point names, ``module:object`` paths, agent files or
            ``mcpServers`` JSON files.
        model: The model for agent files (``--model``); chosen like
            ``agentkit run`` does when None.

    Returns:
        The tool sets, a server name, and one line per target saying what it
        is, plus a ``warning: ...`` line for each tool set whose ``notice``
        attribute has something for the operator.

    Raises:
        UserError: a target cannot be found or imported.
    """
    # Neither the agent-file machinery nor the MCP SDK is needed for a tool set
    # target: ``agentkit serve math`` answers sooner without them. The tool
    # machinery (pydantic) loads here too, not with this module, so that it
    # loads while serve_targets holds the cyclic collector off.
    from .._toolrefs import resolve_tools
    from ._toolhost import as_toolsets

    toolsets: list[Toolset] = []
    notes: list[str] = []
    names: list[str] = []
    for target in targets:
        path = Path(target)
        if path.suffix in _AGENT_SUFFIXES and path.is_file():
            if _is_mcp_config(path):
                from ._config import load_mcp_config

                proxied = load_mcp_config(path)
                for upstream in proxied:
                    # A proxy outlives its upstreams' restarts: a server that is
                    # down (at start or later) is retried with backoff and left
                    # out of tools/list meanwhile, never taking the others down.
                    upstream.reconnect = True
                toolsets.extend(proxied)
                names.append(path.stem)
                notes.append(f"{target}: {len(proxied)} MCP server(s) proxied")
                continue
            from .._agentfile import load_agent
            from .._registry import choose_model
            from ._agent_tool import AgentToolset

            agent = load_agent(path)
            choice = choose_model(model, agent.default_model)
            toolsets.append(AgentToolset(agent, choice.model))
            names.append(agent.name)
            notes.append(f"{target}: agent {agent.name!r} on {choice.model} ({choice.reason})")
            continue
        if path.suffix in _AGENT_SUFFIXES and not path.exists() and ":" not in target:
            raise UserError(f"serve: no such file {target}")
        items = resolve_tools([target], f"serve {target}", Path.cwd())
        found = as_toolsets(items)
        toolsets.extend(found)
        names.append(target.rpartition(":")[2] or target)
        notes.append(f"{target}: {len(found)} tool set(s)")
        for toolset in found:
            # A tool set may say what its operator must know (files: no root set).
            notice = getattr(toolset, "notice", None)
            if isinstance(notice, str) and notice:
                notes.append(f"warning: {notice}")
    name = names[0] if len(names) == 1 else "agentkit"
    return toolsets, name, notes


def serve_targets(
    targets: Sequence[str],
    *,
    transport: str = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    stateless: bool = False,
    model: str | None = None,
    allowed_hosts: Sequence[str] = (),
    tool_timeout: float | None = 120.0,
) -> None:
    """Serve ``targets`` until interrupted (the body of ``agentkit serve``).

    Everything the server prints goes to stderr: on stdio, stdout is the
    protocol.

    Args:
        targets: See ``resolve_targets``.
        transport: ``"stdio"`` or ``"http"``.
        host: HTTP address to bind.
        port: HTTP port (0: any free one).
        token: Bearer token HTTP requests must carry.
        stateless: HTTP without sessions.
        model: The model for agent files.
        allowed_hosts: More ``Host`` values HTTP accepts (see ``http_app``).
        tool_timeout: Seconds one tool call may take (None: no limit). A sync
            tool that times out keeps running in its worker thread (Python
            cannot stop a thread); see ``build_server``.
    """
    # Start-up (importing the tool sets, the stdio front's answers, then the
    # SDK and its server) makes objects by the hundred thousand and frees
    # almost none: the cyclic collector's passes over them were ~4% of the
    # instructions before a stdio client's first tools/list answer. It is off
    # until the server is built, and runs again before the first request the
    # SDK serves.
    collecting = gc.isenabled()
    gc.disable()
    try:
        toolsets, name, notes = resolve_targets(targets, model)
    except BaseException:
        _collect_again(collecting)
        raise
    for note in notes:
        print(note if note.startswith("warning: ") else f"serving {note}", file=sys.stderr)

    def build() -> Any:
        from ._server import build_server

        try:
            return build_server(toolsets, name=name, tool_timeout=tool_timeout)
        finally:
            _collect_again(collecting)

    if transport == "stdio" and not _tracing_on():
        from ._fast_stdio import serve_stdio_fast

        # Answers initialize and tools/list while the SDK loads, then hands over.
        try:
            serve_stdio_fast(toolsets, name=name, tool_timeout=tool_timeout, build=build)
        finally:
            _collect_again(collecting)  # if it failed before building
        _leave_abandoned_threads()
        return

    import anyio

    from ._transports import serve_http, serve_stdio

    server = build()
    if transport == "http":
        # Many sessions keep the event loop busy, and a sync tool's worker
        # waits for the GIL the loop holds: with Python's 5 ms switch interval
        # a quick call waited 3 ms on average (p90 6.6 ms) under 20 clients
        # to start, ~45 times the tool's own 0.07 ms. The process is ours.
        sys.setswitchinterval(SWITCH_INTERVAL)

    async def main() -> Any:
        if transport == "stdio":
            return await serve_stdio(server)
        return await serve_http(
            server,
            host=host,
            port=port,
            token=token,
            stateless=stateless,
            allowed_hosts=allowed_hosts,
        )

    anyio.run(main)
    _leave_abandoned_threads()


def _collect_again(collecting: bool) -> None:
    """Turn the cyclic collector back on if it was on before start-up."""
    if collecting and not gc.isenabled():
        gc.enable()


def _tracing_on() -> bool:
    """Whether OpenTelemetry spans are being recorded (``agentkit serve --trace``).

    The SDK server makes a span per request; the stdio front answers the
    handshake without one, so a traced server goes without the front.
    """
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return False
    provider = trace.get_tracer_provider()
    return type(provider).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider")


def _leave_abandoned_threads() -> None:
    """Exit now if tool calls that timed out are still running in worker threads.

    Python waits for every worker thread at exit, so one hung sync tool
    would keep a finished server process alive (a desktop client would have
    to kill it). The server is done: their results have nobody to go to.
    agentkit's own workers are daemon threads, which Python does not wait
    for; the busy ones are counted so the operator still hears of them.
    """
    import os
    import threading

    from .._threads import busy_workers

    lingering = len(
        [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    )
    lingering += busy_workers()
    if lingering:
        print(
            f"agentkit serve: leaving {lingering} worker thread(s) still running "
            "(tool calls that timed out or were cancelled)",
            file=sys.stderr,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
