"""What a tool can learn about the MCP call it is serving, without importing MCP.

A ``@tool`` function stays plain Python: it calls ``report_progress`` when it
has news, and the helper finds the MCP request (if any) through a context
variable. Outside an MCP server (an agent calling the tool directly, a unit
test) the helper does nothing, so the same function works everywhere.

The server sets the variables around each ``tools/call``; context variables
follow the call into worker threads (``anyio.to_thread`` copies the context),
so sync tools report progress too.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import anyio
import anyio.from_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["ProgressUpdate", "current_request", "report_progress"]

#: One progress notification: (progress, total, message).
ProgressUpdate = tuple[float, float | None, str | None]


class ProgressChannel:
    """Carries progress from a running tool to the task that notifies the client.

    The tool side (``report`` via ``report_progress``) never blocks and never
    awaits, so it can be called from sync code in a worker thread as well as
    from async code; the server side drains ``receive`` in order.
    """

    def __init__(self) -> None:
        self.send: MemoryObjectSendStream[ProgressUpdate]
        self.receive: MemoryObjectReceiveStream[ProgressUpdate]
        self.send, self.receive = anyio.create_memory_object_stream[ProgressUpdate](math.inf)
        self._loop_thread = threading.get_ident()

    def report(self, update: ProgressUpdate) -> None:
        """Queue ``update``; dropped silently once the call has finished."""
        try:
            if threading.get_ident() == self._loop_thread:
                self.send.send_nowait(update)
            else:
                anyio.from_thread.run_sync(self.send.send_nowait, update)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, RuntimeError):
            # The call is over (or this thread is not one anyio started): a
            # late progress report has nobody to go to.
            pass

    def close(self) -> None:
        """No more updates: the draining side finishes after the queued ones."""
        self.send.close()


_progress: ContextVar[ProgressChannel | None] = ContextVar("agentkit_mcp_progress", default=None)
_request: ContextVar[Any] = ContextVar("agentkit_mcp_request", default=None)


def report_progress(
    progress: float, total: float | None = None, message: str | None = None
) -> None:
    """Tell the MCP client how far the current tool call has got.

    Call it from any tool, sync or async, as often as you like; it never
    blocks. When the tool is not running inside an MCP ``tools/call``, or the
    client did not ask for progress, nothing is sent.

    Args:
        progress: Work done so far; should increase with every call.
        total: Total work, when known.
        message: A short human-readable status.
    """
    channel = _progress.get()
    if channel is not None:
        channel.report((float(progress), None if total is None else float(total), message))


def progress_reporter() -> Callable[[float, float | None, str | None], None] | None:
    """``report_progress`` bound to the current tool call, for use from another task.

    Callbacks that an SDK runs in a task of its own (a proxied server's
    progress notifications) do not see this call's context variables; capture
    the reporter in the call and hand it to them. None outside a call.
    """
    channel = _progress.get()
    if channel is None:
        return None

    def report(progress: float, total: float | None = None, message: str | None = None) -> None:
        channel.report((float(progress), None if total is None else float(total), message))

    return report


def current_request() -> Any:
    """The MCP SDK's request context of the tool call being served, or None.

    An escape hatch for tools that need MCP features agentkit does not wrap
    (sampling, elicitation, log messages): it is an
    ``mcp.server.context.ServerRequestContext`` whose ``session`` talks back
    to the client. Outside an MCP server it is None.
    """
    return _request.get()


def set_call_context(channel: ProgressChannel | None, request: Any) -> tuple[Any, Any]:
    """Install the context of one ``tools/call``; returns tokens for ``reset_call_context``.

    ``channel`` is None when the client cannot get progress for this call.
    """
    return _progress.set(channel), _request.set(request)


def reset_call_context(tokens: tuple[Any, Any]) -> None:
    """Undo ``set_call_context``."""
    _progress.reset(tokens[0])
    _request.reset(tokens[1])
