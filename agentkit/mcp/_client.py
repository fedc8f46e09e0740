"""``MCPToolset``: any MCP server's tools, as an agentkit tool set.

The runner enters a tool set that is an async context manager for the length
of one run, so by default a connection (a subprocess for stdio) is opened per
run and closed on every way out of it: answer, error or cancellation. To
share one connection across runs, enter the tool set yourself
(``async with toolset: ...``); the runner's own enter then only counts.
Concurrent runs may share one tool set: the connection is held by a
background task of its own, so whichever task enters or leaves last, and
whichever task calls a tool, nothing depends on the task that opened it.

A server that fails mid-run does not hang or cancel the run: requests have
time limits, a closed connection fails pending calls at once, the model gets
an error result it can act on, and the person running the agent gets a run
warning (and a log line, logger ``agentkit.mcp``). With ``reconnect=True``
(what ``agentkit serve`` uses for the servers it proxies) a lost connection
is retried with backoff instead of staying down.
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
from ._context import progress_reporter
from ._convert import from_mcp_result, from_mcp_tool
from ._names import safe_tool_name
from ._owner import Connection, Lost, describe

__all__ = ["MCPAuthenticationError", "MCPServerError", "MCPToolset"]

logger = logging.getLogger("agentkit.mcp")

#: Largest SSE event (one JSON-RPC message) read from an HTTP server. The SDK's
#: own default is 1 MiB, which a tool returning a picture or a file passes.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class MCPServerError(UserError):
    """An MCP server could not be started, reached or initialised."""


class MCPAuthenticationError(MCPServerError):
    """An HTTP MCP server refused our credentials (401 or 403).

    Attributes:
        server: The tool set's name for the server.
        url: The endpoint.
        status_code: The HTTP status it answered.
    """

    def __init__(self, message: str, *, server: str, url: str, status_code: int) -> None:
        super().__init__(message)
        self.server = server
        self.url = url
        self.status_code = status_code


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
        reconnect: Keep trying to (re)connect, with backoff, while the tool
            set is entered, instead of failing on the first refusal and
            staying down once the server is lost. For long-lived users such
            as a proxy; a run's tool set does not need it.
        reconnect_delay: ``(first, longest)`` seconds between attempts; the
            wait doubles after each failure.
        max_message_bytes: Largest message read from an HTTP server's event
            stream (None: no limit).
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
        reconnect: bool = False,
        reconnect_delay: tuple[float, float] = (1.0, 60.0),
        max_message_bytes: int | None = MAX_MESSAGE_BYTES,
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
        self.reconnect_delay = reconnect_delay
        self.max_message_bytes = max_message_bytes
        self.client_options = dict(client_options or {})
        self._auth_status: int | None = None
        self._connection = Connection(
            self.name,
            self._connect,
            reconnect=reconnect,
            delays=reconnect_delay,
            close_timeout=max(timeout, 5.0),
        )
        # How many have entered; the connection opens at the first, closes after the last.
        self._users = 0
        self._lock = anyio.Lock()
        self._warned_generation = -1  # warn once per lost connection
        self._warnings: list[RunWarning] = []
        # model-visible name -> the server's own name
        self._names: dict[str, str] = {}

    @property
    def reconnect(self) -> bool:
        """Whether a failed or lost connection is retried (see the class docstring)."""
        return self._connection.reconnect

    @reconnect.setter
    def reconnect(self, value: bool) -> None:
        self._connection.reconnect = value

    def __repr__(self) -> str:
        where = self.url or shlex.join([self.command or "", *self.args])
        return f"MCPToolset({self.name!r}, {where!r})"

    @property
    def client(self) -> Client:
        """The connected ``mcp.Client`` (for resources, prompts and other MCP features).

        Raises:
            UserError: the tool set is not connected.
        """
        client = self._connection.client
        if client is None:
            raise UserError(f"MCP server {self.name!r} is not connected: use `async with` first")
        return client  # type: ignore[no-any-return]

    @property
    def connected(self) -> bool:
        """Whether a live connection is open right now."""
        return self._connection.client is not None

    async def wait_connected(self) -> None:
        """Wait until the connection is up (for a reconnecting tool set: the server is back).

        The tool set must be entered; combine with ``anyio.fail_after`` to bound the wait.
        """
        await self._connection.wait_connected()

    async def _connect(self, stack: AsyncExitStack) -> Client:
        # Called in the connection's owner task, once per attempt.
        self._auth_status = None
        options: dict[str, Any] = {"logging_callback": self._log, **self.client_options}
        client = Client(
            self._transport(stack),
            read_timeout_seconds=self.timeout,
            mode=self.protocol,
            **options,
        )
        return await stack.enter_async_context(client)

    def _transport(self, stack: AsyncExitStack) -> Any:
        if self.url is not None:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            http = create_mcp_http_client(headers=self.headers)
            # The SDK turns any HTTP error status into "Server returned an error
            # response"; remember a refusal so we can name it.
            http.event_hooks["response"].append(self._note_status)
            stack.push_async_callback(http.aclose)
            return streamable_http_client(
                self.url, http_client=http, max_sse_event_size=self.max_message_bytes
            )
        from mcp.client.stdio import stdio_client

        params = StdioServerParameters(
            command=self.command or "", args=self.args, env=self.env, cwd=self.cwd
        )
        return stdio_client(params, errlog=self.errlog or sys.stderr)

    async def _note_status(self, response: Any) -> None:
        if response.status_code in (401, 403):
            self._auth_status = response.status_code

    def _refusal(self) -> MCPAuthenticationError | None:
        status = self._auth_status
        if status is None:
            return None
        reason = "Unauthorized" if status == 401 else "Forbidden"
        return MCPAuthenticationError(
            f"MCP server {self.name!r} at {self.url} refused the credentials: HTTP {status} "
            f"{reason} (check the token in its Authorization header)",
            server=self.name,
            url=self.url or "",
            status_code=status,
        )

    # -- lifetime ---------------------------------------------------------

    async def __aenter__(self) -> MCPToolset:
        async with self._lock:
            if self._users == 0:
                failure = await self._connection.open()
                if failure is not None:
                    refused = self._refusal()
                    if refused is not None:
                        raise refused from failure
                    raise MCPServerError(
                        f"cannot connect to MCP server {self.name!r}: {describe(failure)}"
                    ) from failure
            self._users += 1
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        # Shielded: a run being cancelled must still close its connection
        # (and its subprocess), not leave it to the garbage collector.
        with anyio.CancelScope(shield=True):
            async with self._lock:
                self._users -= 1
                if self._users == 0:
                    await self._connection.close()

    async def _log(self, params: mt.LoggingMessageNotificationParams) -> None:
        level = logging.WARNING if params.level in ("warning",) else logging.INFO
        if params.level in ("error", "critical", "alert", "emergency"):
            level = logging.ERROR
        logger.log(level, "MCP server %r: %s", self.name, params.data)

    # -- the Toolset protocol ---------------------------------------------

    def _unavailable(self) -> str:
        why = self._connection.dead or "not connected"
        if self.reconnect and not self._connection.stopping:
            return f"The MCP server {self.name!r} is unavailable ({why}); reconnecting."
        return (
            f"The MCP server {self.name!r} is unavailable ({why}); "
            "its tools cannot be used for the rest of this run."
        )

    async def list_tools(self) -> list[ToolDefinition]:
        """The server's tools, with their schemas passed through unchanged.

        Raises:
            MCPServerError: the server is unavailable (it died, or a
                reconnecting tool set has not reached it yet).
        """
        if self._users == 0:
            async with self:
                return await self.list_tools()
        client = self._connection.client
        if client is None or self._connection.dead is not None:
            raise MCPServerError(self._unavailable())
        tools: list[mt.Tool] = []
        cursor: str | None = None
        try:
            with self._connection.guard():
                for _ in range(100):  # a server that paginates forever cannot hang us
                    page = await client.list_tools(cursor=cursor)
                    tools.extend(page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
        except Lost as exc:
            raise MCPServerError(f"MCP server {self.name!r} stopped answering ({exc})") from exc
        names: dict[str, str] = {}
        definitions = []
        for tool in tools:
            shown = safe_tool_name(tool.name)
            base, n = shown, 2
            while shown in names:
                shown, n = f"{base[:120]}_{n}", n + 1
            names[shown] = tool.name
            definitions.append(from_mcp_tool(tool, shown))
        self._names = names
        return definitions

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        """Call tool ``name`` on the server; every failure becomes an error result."""
        if self._users == 0:
            async with self:
                return await self.call_tool(name, arguments)
        client = self._connection.client
        if client is None or self._connection.dead is not None:
            return error_result(self._unavailable())
        remote = self._names.get(name, name)
        # Captured here, in the caller's context: the SDK runs the callback in
        # the connection's own task, which knows nothing of the MCP request we
        # may be serving (agentkit serve proxying this server).
        reporter = progress_reporter()

        async def forward(progress: float, total: float | None, message: str | None) -> None:
            if reporter is not None:
                reporter(progress, total, message)

        try:
            with self._connection.guard():
                result = await client.call_tool(
                    remote,
                    arguments,
                    read_timeout_seconds=self.call_timeout,
                    progress_callback=forward,
                )
        except Lost as exc:
            return self._died(exc)
        except MCPError as exc:
            if exc.code == mt.CONNECTION_CLOSED:
                # One response stream can fail (an event over the size limit)
                # while the connection is fine: ask before declaring it dead.
                if await self._answers_ping(client):
                    return error_result(
                        f"Tool {name} failed on MCP server {self.name!r}: its answer could not "
                        f"be read ({exc.message})"
                    )
                return self._died(exc)
            if exc.code == mt.REQUEST_TIMEOUT:
                return error_result(f"Tool {name} timed out after {self.call_timeout} s")
            refused = self._refusal()
            if refused is not None:
                return error_result(str(refused))
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
            return error_result(f"Tool {name} failed on MCP server {self.name!r}: {describe(exc)}")
        return from_mcp_result(result, name)

    async def _answers_ping(self, client: Client) -> bool:
        with anyio.move_on_after(min(5.0, self.timeout)):
            try:
                with self._connection.guard():
                    # Not ping: 2026-07-28 removed it. An uncached listing is
                    # cheap and every revision has it.
                    await client.list_tools(cache_mode="bypass")
            except Exception:
                return False
            return True
        return False

    def drain_warnings(self) -> list[RunWarning]:
        """Warnings for the run's result since the last call (the runner collects them)."""
        warnings, self._warnings = self._warnings, []
        return warnings

    def _died(self, exc: BaseException) -> ToolResultPart:
        connection = self._connection
        connection.lost(describe(exc))
        why = connection.dead
        # Concurrent callers that lose the same connection warn only once.
        if self._warned_generation != connection.generation:
            self._warned_generation = connection.generation
            self._warnings.append(
                RunWarning(
                    kind="tool",
                    feature=self.name,
                    message=f"MCP server {self.name!r} stopped answering during the run "
                    f"({why}); its tools were unavailable from then on",
                )
            )
            logger.warning(
                "MCP server %r stopped answering during the run (%s); the model is told its "
                "tools are unavailable",
                self.name,
                why,
            )
        then = (
            "reconnecting."
            if self.reconnect
            else "its tools cannot be used for the rest of this run."
        )
        return error_result(f"The MCP server {self.name!r} stopped answering ({why}); {then}")


def _is_transport_error(exc: BaseException) -> bool:
    # httpx2's errors all derive from its TransportError/HTTPError; checked by
    # name so this module does not import httpx2 for an isinstance test.
    return any(cls.__name__ in ("TransportError", "HTTPError") for cls in type(exc).__mro__)
