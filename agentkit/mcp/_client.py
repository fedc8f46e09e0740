"""``MCPToolset``: any MCP server's tools, as an agentkit tool set.

The runner enters a tool set that is an async context manager for the length
of one run, so by default a connection (a subprocess for stdio) is opened per
run and closed on every way out of it: answer, error or cancellation. To
share one connection across runs, enter the tool set yourself
(``async with toolset: ...``); the runner's own enter then only counts.

A server that fails mid-run does not hang the run: requests have time
limits, a closed connection fails pending calls at once, the model gets an
error result it can act on, and a warning is logged for the person running
the agent (logger ``agentkit.mcp``).
"""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import anyio
import mcp_types as mt
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from .._messages import ToolResultPart
from .._model import RunWarning, ToolDefinition
from .._tools import error_result
from ..exceptions import UserError
from ._context import report_progress
from ._convert import from_mcp_result, from_mcp_tool
from ._names import safe_tool_name

__all__ = ["MCPServerError", "MCPToolset"]

logger = logging.getLogger("agentkit.mcp")


class MCPServerError(UserError):
    """An MCP server could not be started, reached or initialised."""


def _default_name(command: str | None, url: str | None) -> str:
    if url is not None:
        return safe_tool_name(urlsplit(url).hostname or "mcp")
    return safe_tool_name(Path(command or "mcp").name)


class MCPToolset:
    """The tools of one MCP server, over stdio (a command) or streamable HTTP (a URL).

    Args:
        target: A URL (``http://...``), or a command line to split like a
            shell would (``"uvx mcp-server-time"``); or use the keywords.
        command: The program that runs a stdio server.
        args: Its arguments.
        env: Extra environment variables for the program (merged over a safe
            default set: ``PATH``, ``HOME``, ...).
        cwd: Its working directory.
        url: The endpoint of a streamable HTTP server.
        headers: HTTP headers sent with every request (e.g. authorization).
        name: Names the server in messages and prefixes its tools when
            another tool set already has a tool of the same name.
        timeout: Seconds allowed for connecting and for listing tools.
        call_timeout: Seconds one tool call may take (the agent's own
            ``tool_timeout`` applies as well).
        protocol: ``"auto"`` (newest revision the server speaks),
            ``"legacy"`` (the 2025-11-25 initialize handshake) or a revision.
        errlog: Where a stdio server's stderr goes (default: ours).
        client_options: More keyword arguments for ``mcp.Client``, like an
            ``elicitation_callback`` or ``sampling_callback``.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        command: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        timeout: float = 30.0,
        call_timeout: float = 300.0,
        protocol: str = "auto",
        errlog: TextIO | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        if target is not None:
            if target.startswith(("http://", "https://")):
                url = target
            else:
                command, *rest = shlex.split(target)
                args = [*rest, *args]
        if (command is None) == (url is None):
            raise UserError("an MCP server needs exactly one of a command (stdio) or a url (HTTP)")
        self.command = command
        self.args = list(args)
        self.env = dict(env) if env else None
        self.cwd = cwd
        self.url = url
        self.headers = dict(headers) if headers else None
        self.name = safe_tool_name(name) if name else _default_name(command, url)
        self.timeout = timeout
        self.call_timeout = call_timeout
        self.protocol = protocol
        self.errlog = errlog
        self.client_options = dict(client_options or {})
        self._client: Client | None = None
        self._stack: AsyncExitStack | None = None
        self._depth = 0
        self._dead: str | None = None
        self._warnings: list[RunWarning] = []
        # model-visible name -> the server's own name
        self._names: dict[str, str] = {}

    def __repr__(self) -> str:
        where = self.url or shlex.join([self.command or "", *self.args])
        return f"MCPToolset({self.name!r}, {where!r})"

    @property
    def client(self) -> Client:
        """The connected ``mcp.Client`` (for resources, prompts and other MCP features).

        Raises:
            UserError: the tool set is not connected.
        """
        if self._client is None:
            raise UserError(f"MCP server {self.name!r} is not connected: use `async with` first")
        return self._client

    def _transport(self, stack: AsyncExitStack) -> Any:
        if self.url is not None:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            http = create_mcp_http_client(headers=self.headers)
            stack.push_async_callback(http.aclose)
            return streamable_http_client(self.url, http_client=http)
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(
            command=self.command or "", args=self.args, env=self.env, cwd=self.cwd
        )
        return stdio_client(params, errlog=self.errlog or sys.stderr)

    async def __aenter__(self) -> MCPToolset:
        if self._depth > 0:
            # Already open (the user entered it to share it across runs).
            self._depth += 1
            return self
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            options: dict[str, Any] = {"logging_callback": self._log, **self.client_options}
            client = Client(
                self._transport(stack),
                read_timeout_seconds=self.timeout,
                mode=self.protocol,
                **options,
            )
            self._client = await stack.enter_async_context(client)
        except BaseException as exc:
            await stack.__aexit__(type(exc), exc, exc.__traceback__)
            self._client = None
            if isinstance(exc, Exception):
                raise MCPServerError(
                    f"cannot connect to MCP server {self.name!r}: {_why(exc)}"
                ) from exc
            raise
        self._stack = stack
        self._depth = 1
        self._dead = None
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            try:
                # Closed cleanly whatever ended the run: handing the run's own
                # exception (GeneratorExit when a run returns early, an error)
                # to the SDK's task groups would re-raise it wrapped in a group.
                await stack.aclose()
            except Exception as exc:
                # Closing a connection that already broke must not mask the run's outcome.
                logger.debug("closing MCP server %r: %s", self.name, exc)

    async def _log(self, params: mt.LoggingMessageNotificationParams) -> None:
        level = logging.WARNING if params.level in ("warning",) else logging.INFO
        if params.level in ("error", "critical", "alert", "emergency"):
            level = logging.ERROR
        logger.log(level, "MCP server %r: %s", self.name, params.data)

    async def list_tools(self) -> list[ToolDefinition]:
        """The server's tools, with their schemas passed through unchanged."""
        if self._client is None:
            async with self:
                return await self.list_tools()
        tools: list[mt.Tool] = []
        cursor: str | None = None
        for _ in range(100):  # a server that paginates forever cannot hang us
            page = await self._client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        self._names = {}
        definitions = []
        for tool in tools:
            shown = safe_tool_name(tool.name)
            base, n = shown, 2
            while shown in self._names:
                shown, n = f"{base[:120]}_{n}", n + 1
            self._names[shown] = tool.name
            definitions.append(from_mcp_tool(tool, shown))
        return definitions

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        """Call tool ``name`` on the server; every failure becomes an error result."""
        if self._client is None:
            async with self:
                return await self.call_tool(name, arguments)
        if self._dead is not None:
            return error_result(
                f"The MCP server {self.name!r} is unavailable ({self._dead}); "
                "its tools cannot be used for the rest of this run."
            )
        remote = self._names.get(name, name)

        async def forward(progress: float, total: float | None, message: str | None) -> None:
            # Chains through when we are ourselves serving this call over MCP.
            report_progress(progress, total, message)

        try:
            result = await self._client.call_tool(
                remote,
                arguments,
                read_timeout_seconds=self.call_timeout,
                progress_callback=forward,
            )
        except MCPError as exc:
            if exc.code == mt.CONNECTION_CLOSED:
                return self._died(exc)
            if exc.code == mt.REQUEST_TIMEOUT:
                return error_result(f"Tool {name} timed out after {self.call_timeout} s")
            return error_result(f"Tool {name} failed on MCP server {self.name!r}: {exc.message}")
        except TimeoutError:
            return error_result(f"Tool {name} timed out after {self.call_timeout} s")
        except (
            anyio.ClosedResourceError,
            anyio.BrokenResourceError,
            anyio.EndOfStream,
            OSError,
        ) as exc:
            return self._died(exc)
        except Exception as exc:
            if _is_transport_error(exc):
                return self._died(exc)
            return error_result(f"Tool {name} failed on MCP server {self.name!r}: {_why(exc)}")
        return from_mcp_result(result, name)

    def drain_warnings(self) -> list[RunWarning]:
        """Warnings for the run's result since the last call (the runner collects them)."""
        warnings, self._warnings = self._warnings, []
        return warnings

    def _died(self, exc: BaseException) -> ToolResultPart:
        self._dead = _why(exc)
        self._warnings.append(
            RunWarning(
                kind="tool",
                feature=self.name,
                message=f"MCP server {self.name!r} stopped answering during the run "
                f"({self._dead}); its tools were unavailable from then on",
            )
        )
        logger.warning(
            "MCP server %r stopped answering during the run (%s); the model is told its "
            "tools are unavailable",
            self.name,
            self._dead,
        )
        return error_result(
            f"The MCP server {self.name!r} stopped answering ({self._dead}); "
            "its tools cannot be used for the rest of this run."
        )


def _is_transport_error(exc: BaseException) -> bool:
    # httpx2's errors all derive from its TransportError/HTTPError; checked by
    # name so this module does not import httpx2 for an isinstance test.
    return any(cls.__name__ in ("TransportError", "HTTPError") for cls in type(exc).__mro__)


def _why(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _why(exc.exceptions[0])
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
