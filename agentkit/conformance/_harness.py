"""Where the adapter under test gets its answers: an emulator, a function, or a real model.

A harness hands out the adapter, plays each scenario's script (when it can)
and reports what the model was sent, how many HTTP requests reached the
server side and whether the client hung up, so the checks can look at both
ends of the exchange. Harnesses that serve HTTP do it on a loopback port and
reach the adapter only through the ``base_url`` its factory was given, so an
adapter's own HTTP stack (httpx, aiohttp, an SDK, a thread with urllib) does
not matter. Record and replay live in ``_recording.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol

import anyio

from .._model import ModelAdapter, ModelRequest, ModelResponse
from ..testing._asgi import Stalling
from ._loopback import Counting, Truncating
from ._scenarios import Scenario
from ._script import render_script
from ._wires import WIRES

__all__ = [
    "EmulatedHarness",
    "FunctionHarness",
    "Harness",
    "LiveHarness",
    "judged_mode",
    "request_parsers",
    "wait_for_event",
]


class Harness(Protocol):
    """What the runner needs from a harness.

    A harness whose adapter talks to a server of its own also has
    ``make_adapter(root)``: another adapter from the same factory, pointed at
    the server at ``root`` (the kit points one at a closed port to see a
    refused connection). Without it, that scenario is n/a.
    """

    mode: str
    adapter: ModelAdapter

    def prepare(self, scenario: Scenario) -> None:
        """Script the next call (raises ``ScriptNotRenderable`` when it cannot)."""
        ...

    def received(self) -> ModelRequest | None:
        """What the model was sent in the last call, or None when unobservable."""
        ...

    def observes_requests(self) -> bool:
        """Whether ``received`` can see requests at all."""
        ...

    def disconnected(self, timeout: float) -> bool | None:
        """Whether the client hung up mid-stream, waiting up to ``timeout``; None: unknown."""
        ...

    def request_count(self) -> int | None:
        """HTTP requests the server side saw since ``prepare``; None when unobservable."""
        ...

    # The timeout is the check's own (how long a hang-up may take), not a
    # deadline on the caller, so it is a parameter: hence the noqa.
    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """Like ``disconnected``, without blocking the event loop."""
        ...


async def wait_for_event(event: threading.Event, timeout: float) -> bool:  # noqa: ASYNC109
    """Whether ``event`` (set by a server thread) is set within ``timeout`` seconds.

    Polls in small steps so the event loop keeps running meanwhile.
    """
    # The event is set from the server's thread, which an anyio.Event cannot be.
    with anyio.move_on_after(timeout):
        while not event.is_set():  # noqa: ASYNC110
            await anyio.sleep(0.01)
    return event.is_set()


class _Scripted:
    """The model function given to an emulator: plays whichever script is current."""

    def __init__(self) -> None:
        self.current: Callable[[ModelRequest], ModelResponse] | None = None

    def __call__(self, request: ModelRequest) -> ModelResponse:
        if self.current is None:  # pragma: no cover - the runner always prepares
            raise RuntimeError("no scenario is prepared")
        return self.current(request)


class EmulatedHarness:
    """Runs an adapter against a loopback emulator of its wire protocol.

    Args:
        protocol: A wire the kit emulates (a key of ``WIRES``: ``openai-chat``,
            ``openai-responses``, ``gemini``, ``ollama``, ``anthropic``...).
        make_adapter: Builds the adapter given a server's root URL
            (``http://127.0.0.1:PORT``): the emulator's, or another one's
            (``make_adapter`` below).

    Use as a context manager: the emulator runs while it is open.
    """

    mode = "emulated"

    def __init__(self, protocol: str, make_adapter: Callable[[str], ModelAdapter]) -> None:
        self.protocol = protocol
        self._script = _Scripted()
        wire = WIRES[protocol]
        self.emulator = wire.emulator(self._script)
        # A host's URL shapes (Azure's, Vertex's) in front of the wire's emulator.
        served = wire.host(self.emulator, self._script) if wire.host else self.emulator
        #: What the adapter's requests reach first: the host's wrapper, or the emulator.
        self.served = served
        self._truncating = Truncating(served)
        self._stalling = Stalling(self._truncating)
        # Outermost, so every request counts, whatever the emulator answers (a 429, a 500).
        self._app = Counting(self._stalling)
        self._make_adapter = make_adapter
        self._stack = ExitStack()
        self._seen = 0
        self._counted = 0
        self.url = ""

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Run the emulator on a loopback port, without building an adapter; yields its root."""
        from ..testing import serve_asgi

        with serve_asgi(self._app) as url:
            self.url = url
            yield url

    def __enter__(self) -> EmulatedHarness:
        url = self._stack.enter_context(self.serve())
        try:
            self.adapter = self._make_adapter(url)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def make_adapter(self, root: str) -> ModelAdapter:
        """Another adapter like the one under test, pointed at the server at ``root``."""
        return self._make_adapter(root)

    def prepare(self, scenario: Scenario) -> None:
        """Script the emulator for ``scenario``."""
        self._script.current = render_script(scenario.script, self.protocol)
        self.emulator.stream_delay = scenario.script.get("stream_delay", 0.0)
        self.emulator.disconnected.clear()
        cut = scenario.script.get("stream_cut")
        self._truncating.cut_after = cut.get("after_chunks", 3) if cut else None
        self._stalling.seconds = scenario.script.get("stall")
        self._seen = len(self.emulator.calls)
        self._counted = self._app.count

    def received(self) -> ModelRequest | None:
        """The request the emulator read back from the wire in this scenario."""
        calls: list[ModelRequest] = self.emulator.calls
        return calls[-1] if len(calls) > self._seen else None

    def observes_requests(self) -> bool:
        """The emulator sees every request."""
        return True

    def request_count(self) -> int:
        """HTTP requests that reached the emulator in this scenario."""
        return self._app.count - self._counted

    def disconnected(self, timeout: float) -> bool | None:
        """Whether the emulator saw the client hang up mid-stream."""
        return bool(self.emulator.disconnected.wait(timeout))

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """Whether the emulator saw the client hang up mid-stream, waiting up to ``timeout``."""
        return await wait_for_event(self.emulator.disconnected, timeout)


class FunctionHarness:
    """Runs an adapter built around a ``FunctionAdapter`` that plays the script.

    For adapters that wrap another adapter (middleware, the broken adapters in
    the kit's own tests) and need no wire.

    Args:
        wrap: Turns the scripted ``FunctionAdapter`` into the adapter under test.
    """

    mode = "emulated"
    protocol = "function"

    def __init__(self, wrap: Callable[[ModelAdapter], ModelAdapter] | None = None) -> None:
        from .._model import Capabilities
        from ..testing import FunctionAdapter

        self._script = _Scripted()
        # FunctionAdapter's defaults claim streamed tool-call arguments, but it
        # sends each call's arguments in one delta: claim only what it does.
        caps = Capabilities(image_input=True, tool_call_streaming=False)
        self.inner = FunctionAdapter(self._script, model_id="scripted", capabilities=caps)
        self.adapter = wrap(self.inner) if wrap else self.inner
        self._seen = 0

    def __enter__(self) -> FunctionHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def prepare(self, scenario: Scenario) -> None:
        """Script the function for ``scenario``."""
        self._script.current = render_script(scenario.script, "function")
        self._seen = len(self.inner.calls)

    def received(self) -> ModelRequest | None:
        """The request the function was given in this scenario."""
        return self.inner.calls[-1] if len(self.inner.calls) > self._seen else None

    def observes_requests(self) -> bool:
        """The function sees every request."""
        return True

    def disconnected(self, timeout: float) -> bool | None:
        """No connection to observe."""
        return None

    def request_count(self) -> int:
        """Calls the function got in this scenario (one per request an adapter would send)."""
        return len(self.inner.calls) - self._seen

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """No connection to observe."""
        return None


class LiveHarness:
    """Runs an adapter against whatever model it talks to; nothing is scripted.

    Args:
        adapter: The adapter under test.
    """

    mode = "live"

    def __init__(self, adapter: ModelAdapter) -> None:
        self.adapter = adapter

    def __enter__(self) -> LiveHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def prepare(self, scenario: Scenario) -> None:
        """Nothing to script."""

    def received(self) -> ModelRequest | None:
        """Unobservable."""
        return None

    def observes_requests(self) -> bool:
        """A real model's input cannot be seen."""
        return False

    def disconnected(self, timeout: float) -> bool | None:
        """Unobservable."""
        return None

    def request_count(self) -> int | None:
        """Unobservable."""
        return None

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """Unobservable."""
        return None


def judged_mode(harness: Harness) -> str:
    """The mode whose rules judge ``harness``'s outcomes (a replay is judged as recorded)."""
    return str(getattr(harness, "judged_as", harness.mode))


def request_parsers() -> dict[str, Callable[[Any], ModelRequest]]:
    """How each emulated wire reads a request body back into a neutral request."""
    return {name: wire.parse_request for name, wire in WIRES.items()}
