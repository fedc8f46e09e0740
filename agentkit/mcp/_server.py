"""Serve any agentkit tool set as an MCP server, over stdio or streamable HTTP.

``build_server`` turns tool sets into the MCP SDK's low-level ``Server``: tool
definitions keep their schemas, title and annotations; results keep their
content blocks and structured content; a tool's own failure comes back as
``isError`` with the tool's message (the SDK's high-level server would hide
it behind "Error executing tool"). Progress reported with
``agentkit.mcp.report_progress`` becomes ``notifications/progress``, and a
``notifications/cancelled`` from the client cancels the running tool (the SDK
cancels the handler's scope, and the tool runs inside it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import anyio
import mcp_types as mt
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from .._model import ToolDefinition
from .._toolindex import ToolIndex, function_tool
from .._tools import Tool, Toolset, error_result
from ..exceptions import UserError
from ._context import ProgressChannel, reset_call_context, set_call_context
from ._convert import to_mcp_result_wire, to_mcp_tool
from ._limits import MAX_THREADS, ThreadPool
from ._toolhost import Listed as _Listed
from ._toolhost import ToolItem, as_toolsets

__all__ = ["ToolItem", "as_toolsets", "build_server"]

logger = logging.getLogger("agentkit.mcp")


class _Tools:
    """The served tool sets and the name index built from them."""

    def __init__(
        self, toolsets: list[Toolset], tool_timeout: float | None, threads: ThreadPool
    ) -> None:
        self.toolsets = toolsets
        self.tool_timeout = tool_timeout
        self.threads = threads
        self._index: ToolIndex | None = None
        # Tool sets whose listing failed last time, by position: said once, not per request.
        self._missing: dict[int, str] = {}
        # Worked out once per listing, not per call: where each name goes (with a
        # stock @tool already wrapped for this server's pool), its input schema,
        # and the MCP form of every definition.
        self._routes: dict[str, tuple[Toolset, Tool | None, str, float | None]] = {}
        self._schemas: dict[str, dict[str, Any]] = {}
        self.listed: list[mt.Tool] = []
        # id(definition) -> (definition, its MCP form); the definition is kept
        # so its id stays unique.
        self._converted: dict[int, tuple[ToolDefinition, mt.Tool]] = {}

    async def index(self, refresh: bool = False) -> ToolIndex:
        if self._index is None or refresh:
            listed: list[_Listed | None] = [None] * len(self.toolsets)

            async def one(i: int, toolset: Toolset) -> None:
                try:
                    listed[i] = _Listed(toolset, await toolset.list_tools())
                except Exception as exc:
                    # One proxied server being down must not take every other
                    # tool set's tools away from the client: leave it out.
                    self._note_missing(i, toolset, exc)
                else:
                    self._note_back(i, toolset)

            async with anyio.create_task_group() as group:
                for i, toolset in enumerate(self.toolsets):
                    group.start_soon(one, i, toolset)
            self._index = await ToolIndex.build([t for t in listed if t is not None])
            self._adopt(self._index)
        return self._index

    def _adopt(self, index: ToolIndex) -> None:
        routes: dict[str, tuple[Toolset, Tool | None, str, float | None]] = {}
        for name, route in index.routes.items():
            toolset, direct, original = route
            if direct is None and isinstance(toolset, _Listed):
                # The index saw the listing wrapper, not the tool set: look through it,
                # so a stock FunctionToolset's sync tools still go to this server's pool.
                found, stock = function_tool(toolset.toolset, original)
                direct = found if stock else None
            wrapped = None if direct is None else self.threads.wrap(direct, self.tool_timeout)
            # A sync tool's copy keeps its time limit in the pool: its run gets none.
            limit = None if wrapped is not direct else self.tool_timeout
            routes[name] = (toolset, wrapped, original, limit)
        converted: dict[int, tuple[ToolDefinition, mt.Tool]] = {}
        for definition in index.definitions:
            known = self._converted.get(id(definition))
            if known is None or known[0] is not definition:
                known = (definition, to_mcp_tool(definition))
            converted[id(definition)] = known
        self._routes = routes
        self._schemas = {d.name: d.input_schema for d in index.definitions}
        self._converted = converted
        self.listed = [converted[id(d)][1] for d in index.definitions]

    def input_schema(self, name: str) -> dict[str, Any] | None:
        """The input schema of tool ``name`` as last listed (None: not known).

        The SDK checks a 2026-07-28 call's ``Mcp-Param-*`` headers against it;
        without this it would run a whole ``tools/list`` per ``tools/call``.
        """
        return self._schemas.get(name)

    def _note_missing(self, i: int, toolset: Toolset, exc: Exception) -> None:
        why = str(exc) or type(exc).__name__
        if self._missing.get(i) != why:
            self._missing[i] = why
            name = getattr(toolset, "name", None) or repr(toolset)
            logger.warning("tool set %r left out of tools/list: %s", name, why)

    def _note_back(self, i: int, toolset: Toolset) -> None:
        if self._missing.pop(i, None) is not None:
            name = getattr(toolset, "name", None) or repr(toolset)
            logger.warning("tool set %r is listed again", name)

    @contextlib.asynccontextmanager
    async def opened(self) -> AsyncIterator[None]:
        # Tool sets with a lifetime (MCP connections being proxied) stay open
        # for as long as the server runs, not per request.
        async with AsyncExitStack() as stack:
            for toolset in self.toolsets:
                if isinstance(toolset, AbstractAsyncContextManager):
                    await stack.enter_async_context(toolset)
            yield

    async def call(self, name: str, arguments: dict[str, Any]) -> Any:
        route = self._routes.get(name)
        if route is None:
            # Not listed yet, or the tool list changed (a proxied server): look again once.
            await self.index(refresh=True)
            route = self._routes.get(name)
        if route is None:
            # Unknown tools are protocol errors in MCP, not tool errors.
            raise MCPError(mt.INVALID_PARAMS, f"Unknown tool: {name}")
        toolset, direct, original, limit = route
        if direct is not None:
            return await direct.run(arguments, timeout=limit)
        try:
            with anyio.fail_after(self.tool_timeout):
                return await toolset.call_tool(original, arguments)
        except TimeoutError:
            return error_result(f"Tool {name} timed out after {self.tool_timeout} s")
        except MCPError:
            raise
        except Exception as exc:
            return error_result(f"Tool {name} failed: {type(exc).__name__}: {exc}")


async def _forward_progress(channel: ProgressChannel, ctx: ServerRequestContext[Any]) -> None:
    async with channel.receive:
        async for progress, total, message in channel.receive:
            try:
                await ctx.session.report_progress(progress, total, message)
            except Exception:
                # The client may have gone away; the tool's answer still matters more.
                return


def _wants_progress(ctx: ServerRequestContext[Any]) -> bool:
    """Whether progress reported during this call can reach the client.

    Over JSON-RPC (stdio, both HTTP revisions) only a request that carried a
    ``progressToken`` gets progress, and the SDK keeps that token on the
    request's dispatch context (not in ``ctx.params``). A context this code
    does not recognise (an in-process client takes progress by callback,
    without a token) counts as wanting progress, so nothing is ever lost.
    """
    outbound = getattr(ctx.session, "_request_outbound", None)
    for _ in range(4):  # wrappers delegate to the dispatcher's own context
        inner = getattr(outbound, "_inner", None)
        if inner is None:
            break
        outbound = inner
    for attribute in ("progress_token", "_progress_token"):
        if hasattr(outbound, attribute):
            return getattr(outbound, attribute) is not None
    return True


def build_server(
    toolsets: Sequence[ToolItem],
    *,
    name: str = "agentkit",
    version: str | None = None,
    instructions: str | None = None,
    tool_timeout: float | None = None,
    max_threads: int = MAX_THREADS,
    max_threads_per_tool: int | None = None,
) -> Server[Any]:
    """An MCP server offering every tool of ``toolsets``.

    Two tool sets offering the same name are handled as in a run: the later
    one's tool is prefixed with its tool set's ``name``.

    Sync ``@tool`` functions run in a pool of worker threads of the server's
    own (``max_threads``), of which one tool may use ``max_threads_per_tool``,
    so a tool that hangs cannot take every thread. A sync tool whose call
    times out or is cancelled keeps running in its thread until it returns
    by itself (Python cannot stop a thread), and its thread stays counted
    until then; only its result is dropped. Write tools that may block with
    their own time limits (``timeout=`` on sockets, subprocesses, locks), or
    make them async, which cancellation does stop.

    Args:
        toolsets: Tool sets, ``@tool`` functions or plain functions.
        name: The server name clients show.
        version: The server version; defaults to agentkit's.
        instructions: Instructions for the client's model (MCP ``instructions``).
        tool_timeout: Seconds one tool call may take before the client gets
            an error result (a ``@tool`` with its own ``timeout`` keeps it);
            None for no limit.
        max_threads: Worker threads the sync tools may use together.
        max_threads_per_tool: Worker threads one sync tool may use (default:
            a quarter of ``max_threads``); a call waits for a free one, within
            its time limit.

    Returns:
        The SDK's low-level ``Server``; serve it with ``serve_stdio`` or
        ``serve_http``, or add more handlers (resources, prompts) to it first.
    """
    from .. import __version__

    tools = _Tools(
        as_toolsets(toolsets), tool_timeout, ThreadPool(max_threads, max_threads_per_tool)
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Server[Any]) -> AsyncIterator[dict[str, Any]]:
        async with tools.opened():
            # Listed once up front, so the first call's Mcp-Param headers are checked too.
            with contextlib.suppress(UserError):
                # Two tools of one name: the client hears of it at tools/list, as before.
                await tools.index()
            yield {}

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mt.PaginatedRequestParams | None
    ) -> mt.ListToolsResult:
        await tools.index(refresh=True)
        return mt.ListToolsResult(tools=tools.listed)

    async def call_tool(ctx: ServerRequestContext[Any], params: mt.CallToolRequestParams) -> Any:
        # Answers with the result's wire dump, which the SDK takes as it takes the
        # model (both are validated and dumped alike): a CallToolResult built only
        # to be dumped again cost about 27 µs a call.
        if not _wants_progress(ctx):
            # Nobody to tell: no channel, no task to drain it (report_progress does nothing).
            tokens = set_call_context(None, ctx)
            try:
                result = await tools.call(params.name, dict(params.arguments or {}))
            finally:
                reset_call_context(tokens)
            return to_mcp_result_wire(result)
        channel = ProgressChannel()
        tokens = set_call_context(channel, ctx)
        failure: MCPError | None = None
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(_forward_progress, channel, ctx)
                try:
                    result = await tools.call(params.name, dict(params.arguments or {}))
                except MCPError as exc:
                    # Raised outside the task group, so the SDK sees the error
                    # itself rather than an ExceptionGroup around it.
                    failure = exc
                finally:
                    # Queued progress is still sent, before the result.
                    channel.close()
        finally:
            reset_call_context(tokens)
        if failure is not None:
            raise failure
        return to_mcp_result_wire(result)

    return Server(
        name,
        version=version or __version__,
        instructions=instructions,
        lifespan=lifespan,
        get_tool_input_schema=tools.input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
