"""``agentkit serve`` over stdio: answer the handshake while the MCP SDK loads.

Importing the SDK costs most of a second (its types module builds hundreds of
pydantic models), and a client spawning a stdio server waits for
``initialize`` and ``tools/list`` before anything else. So the front here owns
the process's stdin and stdout from the start: it answers ``initialize`` and
``tools/list`` from ``FastAnswers`` (plain JSON, the same answers the SDK
server gives) while the main thread imports the SDK and builds the real
server. Then the session is handed over: the SDK server is fed the
``initialize`` and ``notifications/initialized`` the front already answered
(its second answer to ``initialize`` is dropped) and every message the front
left alone, in arrival order, and from then on reads and writes the wire
itself. Anything the front does not know, from a ``ping`` to a malformed
line, waits for the SDK, and once one message waits, every later one does too,
so nothing is answered out of turn.

The wire itself (private descriptors, line decoding) is ``_stdio_wire``.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from .._model import ToolDefinition
from .._tools import Toolset
from ._fast_answers import FastAnswers

__all__ = ["StdioFront", "fast_answers", "serve_stdio_fast"]

_NO_ID = object()
#: The longest the SDK import waits for the front to finish the handshake.
_SETTLE_SECONDS = 0.5


def _drive(coroutine: Any) -> Any:
    """Run a coroutine that never waits (a static tool set's ``list_tools``) without a loop.

    Raises:
        LookupError: it did wait: the caller lists it the ordinary way instead.
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise LookupError("the coroutine waited")


def _definitions(toolsets: Sequence[Toolset]) -> list[ToolDefinition] | None:
    """What ``build_server``'s ``tools/list`` would list, or None if that needs a loop or I/O.

    Tool sets with a lifetime (proxied MCP servers) are opened by the server's
    lifespan before they can list anything: those are left to the SDK path.
    """
    from .._toolindex import ToolIndex
    from ._toolhost import Listed

    if any(isinstance(t, AbstractAsyncContextManager) for t in toolsets):
        return None
    try:
        listed = [Listed(t, _drive(t.list_tools())) for t in toolsets]
        index = _drive(ToolIndex.build(listed))
    except Exception:
        # Whatever went wrong, the SDK server meets it again and reports it its way.
        return None
    return list(index.definitions)


def fast_answers(
    toolsets: Sequence[Toolset], *, name: str, instructions: str | None = None
) -> FastAnswers | None:
    """The front's answers for serving ``toolsets`` as ``build_server`` would, or None."""
    from .. import __version__

    definitions = _definitions(toolsets)
    if definitions is None:
        return None
    return FastAnswers(
        name=name, version=__version__, instructions=instructions, definitions=definitions
    )


def _reject_constant(text: str) -> Any:
    # NaN and Infinity are not JSON; the SDK's parser refuses them, so it should see them.
    raise ValueError(text)


def _request_id(message: dict[str, Any]) -> Any:
    value = message.get("id", _NO_ID)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return _NO_ID
    return value


def _encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class StdioFront:
    """The session until the SDK takes it: fast answers, and everything else kept in order.

    ``receive`` is called with each line read from the wire, ``end`` at EOF,
    both from the reading thread; ``handoff`` from the thread that has the
    SDK server ready.

    Args:
        answers: What to answer fast.
        write: Writes one encoded message to the wire (thread-safe).
    """

    def __init__(self, answers: FastAnswers, write: Callable[[bytes], None]) -> None:
        self._answers = answers
        self._write = write
        self._lock = threading.Lock()
        self._negotiated: str | None = None
        self._answered_id: Any = _NO_ID
        # The handshake the front answered, which the SDK must still see.
        self._handshake: list[str] = []
        self._waiting: list[str] = []
        self._ended = False
        self._deliver: Callable[[str], None] | None = None
        self._finish: Callable[[], None] | None = None
        #: Requests answered here (by method), for diagnostics and tests.
        self.answered: list[str] = []
        #: Set once the front has nothing more to do soon: tools listed, a
        #: message waiting for the SDK, or EOF.
        self.settled = threading.Event()

    def receive(self, line: str) -> None:
        """One line from the wire."""
        with self._lock:
            deliver = self._deliver
            if deliver is None:
                self._take(line)
                return
        deliver(line)

    def end(self) -> None:
        """The wire reached EOF."""
        with self._lock:
            finish = self._finish
            if finish is None:
                self._ended = True
                self.settled.set()
                return
        finish()

    def handoff(
        self, deliver: Callable[[str], None], finish: Callable[[], None]
    ) -> tuple[list[str], Any, bool]:
        """Give the session to the SDK.

        Args:
            deliver: Takes each later line.
            finish: Called at EOF, if it comes later.

        Returns:
            The lines to replay to the SDK first, in order; the id of the
            ``initialize`` the front answered (the SDK's own answer to it is
            to be dropped) or None; whether EOF already came.
        """
        with self._lock:
            self._deliver, self._finish = deliver, finish
            replay = [*self._handshake, *self._waiting]
            self._handshake, self._waiting = [], []
            answered = None if self._answered_id is _NO_ID else self._answered_id
            return replay, answered, self._ended

    def _take(self, line: str) -> None:
        if self._waiting or not self._answer(line):
            self._waiting.append(line)
            self.settled.set()

    def _answer(self, line: str) -> bool:
        """Answer ``line`` here if it is one of the cases the front knows; False if not."""
        try:
            message = json.loads(line, parse_constant=_reject_constant)
        except ValueError:
            return False
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return False
        if not set(message) <= {"jsonrpc", "id", "method", "params"}:
            return False
        method, params = message.get("method"), message.get("params")
        if "id" not in message:
            if method == "notifications/initialized" and len(self._handshake) == 1:
                self._handshake.append(line)
                return True
            return False
        request_id = _request_id(message)
        if request_id is _NO_ID:
            return False
        if method == "initialize" and self._negotiated is None:
            settled = self._answers.initialize(params)
            if settled is None:
                return False
            result, self._negotiated = settled
            self._answered_id = request_id
            self._handshake.append(line)
        elif method == "tools/list" and self._negotiated is not None:
            listed = self._answers.tools_list(params, self._negotiated)
            if listed is None:
                return False
            result = listed
        else:
            return False
        self._write(_encode({"jsonrpc": "2.0", "id": request_id, "result": result}))
        self.answered.append(method)
        if method == "tools/list":
            self.settled.set()
        return True


def serve_stdio_fast(
    toolsets: Sequence[Toolset],
    *,
    name: str,
    tool_timeout: float | None,
    build: Callable[[], Any] | None = None,
) -> None:
    """Serve ``toolsets`` over stdio, answering the handshake before the SDK loads.

    Falls back to the ordinary ``serve_stdio`` when the front cannot know the
    answers (tool sets that must be opened or awaited to list their tools).

    Args:
        toolsets: What to serve.
        name: The server name.
        tool_timeout: See ``build_server``.
        build: Makes the SDK server (default: ``build_server`` of the above);
            called once the front is answering.
    """
    import anyio

    answers = fast_answers(toolsets, name=name) if sys.platform != "win32" else None

    def make() -> Any:
        if build is not None:
            return build()
        from ._server import build_server

        return build_server(toolsets, name=name, tool_timeout=tool_timeout)

    if answers is None:
        from ._transports import serve_stdio

        anyio.run(serve_stdio, make())
        return
    from ._stdio_wire import Wire

    wire = Wire()
    front = StdioFront(answers, wire.write)
    threading.Thread(target=wire.read_into, args=(front,), name="mcp-stdin", daemon=True).start()
    # The SDK import holds the GIL for long stretches (pydantic-core builds each
    # validator in one call), which would delay the front's answers by tens of
    # milliseconds: start it once the handshake is through, or soon anyway.
    front.settled.wait(_SETTLE_SECONDS)
    # Switching sooner lets the reading thread answer meanwhile without waiting 5 ms.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        server = make()
    finally:
        sys.setswitchinterval(interval)
    from ._handoff import run_handed_over

    anyio.run(run_handed_over, server, front, wire)
