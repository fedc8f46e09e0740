"""The SDK's half of the stdio handoff (see ``_fast_stdio``): the real server takes the session.

The SDK server runs on in-memory streams. Lines from the wire are parsed the
way the SDK's ``stdio_server`` parses them (a line that is not a JSON-RPC
message reaches the server as the exception, as there) and delivered in
arrival order, the front's handshake first; what the server sends is written
as ``stdio_server`` writes it, minus its answer to the ``initialize`` the
front already answered.

Once the server runs, the event loop reads the wire itself (``add_reader``)
and writes to it directly: unlike ``stdio_server``, which hands every read
and every write to a worker thread, no message waits for a thread switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.shared.message import SessionMessage

from ._fast_stdio import StdioFront
from ._stdio_wire import Wire

__all__ = ["run_handed_over"]

logger = logging.getLogger("agentkit.mcp")

_CHUNK = 65536


def _parse(line: str) -> SessionMessage | Exception:
    try:
        message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except Exception as exc:
        return exc
    return SessionMessage(message)


async def run_handed_over(server: Server[Any], front: StdioFront, wire: Wire) -> None:
    """Serve the rest of the session with ``server``, until the wire closes."""
    loop = asyncio.get_running_loop()
    write = wire.write
    inbound_send, inbound = anyio.create_memory_object_stream[SessionMessage | Exception](math.inf)
    outbound, outbound_receive = anyio.create_memory_object_stream[SessionMessage](0)

    def put(item: SessionMessage | Exception) -> None:
        # A server that stopped reading has ended the session: the line has no taker.
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            inbound_send.send_nowait(item)

    def deliver(line: str) -> None:
        # Parsed here, in the reading thread, so the loop only queues it.
        item = _parse(line)
        # A finished loop (RuntimeError) means nobody serves any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(put, item)

    def finish() -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(inbound_send.close)

    def readable() -> None:
        try:
            data = os.read(wire.in_fd, _CHUNK)
        except OSError:
            data = b""
        for line in wire.lines.feed(data):
            put(_parse(line))
        if not data:
            loop.remove_reader(wire.in_fd)
            inbound_send.close()

    def read_here() -> None:
        # Queued behind every line the thread delivered before it stopped.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.add_reader, wire.in_fd, readable)

    # No await between the handoff and the replay: later lines queue behind it.
    replay, answered_id, ended = front.handoff(deliver, finish)
    for line in replay:
        put(_parse(line))
    if ended:
        inbound_send.close()
    else:
        wire.stop_reading(read_here)

    async def write_out() -> None:
        drop = answered_id
        async with outbound_receive:
            async for session_message in outbound_receive:
                message = session_message.message
                if (
                    drop is not None
                    and isinstance(message, (types.JSONRPCResponse, types.JSONRPCError))
                    and message.id == drop
                ):
                    drop = None
                    if isinstance(message, types.JSONRPCError):
                        logger.warning(
                            "the SDK refused the initialize the stdio front accepted: %s",
                            message.error.message,
                        )
                    continue
                data = message.model_dump_json(by_alias=True, exclude_unset=True)
                write((data + "\n").encode())

    async with anyio.create_task_group() as group:
        group.start_soon(write_out)
        await server.run(inbound, outbound, server.create_initialization_options())
