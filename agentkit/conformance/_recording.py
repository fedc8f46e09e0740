"""Record and replay harnesses: cassettes written and played at the loopback boundary.

Recording puts a loopback proxy (``RecordingProxy``) between the adapter and
its upstream (the emulator, or the live API) and points the adapter at the
proxy through ``base_url``; replay points it at a loopback server that
answers from the cassette (``CassetteServer``). Neither touches the adapter's
HTTP stack, so both work for any adapter whose factory takes ``base_url``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._model import ModelAdapter, ModelRequest
from ..exceptions import UserError
from ._harness import EmulatedHarness, request_parsers, wait_for_event
from ._loopback import CassetteServer, RecordingProxy
from ._scenarios import Scenario
from ._script import render_script
from ._wires import WIRES

__all__ = ["RecordingHarness", "ReplayHarness", "refuse_unrecordable", "wire_base_path"]


def refuse_unrecordable(scenario: Scenario) -> None:
    """Make ``scenario`` n/a, saying why, when a cassette could not hold its exchange.

    A refused connection has no exchange at all, and a server that stalls
    until the client gives up leaves one without an answer that the cassette
    server would play at once: both are judged in emulated mode only.

    Raises:
        ScriptNotRenderable: the scenario's script refuses the connection or stalls.
    """
    from ._script import ScriptNotRenderable

    if "connect" in scenario.script:
        raise ScriptNotRenderable(
            "a refused connection leaves no exchange for a cassette: checked in emulated mode only"
        )
    if "stall" in scenario.script:
        raise ScriptNotRenderable(
            "a cassette cannot replay a server that never answers: checked in emulated mode only"
        )


def wire_base_path(protocol: str | None) -> str:
    """What follows a server's root in the ``base_url`` of an adapter speaking ``protocol``.

    OpenAI's wires (Chat Completions, Responses) take the API root with
    ``/v1``; Gemini's and Anthropic's adapters add their version themselves;
    Ollama's takes the root. Each wire's entry in ``WIRES`` says it.
    """
    wire = WIRES.get(protocol or "")
    return wire.base_path if wire is not None else ""


class RecordingHarness:
    """Runs the adapter through a loopback recording proxy and writes each scenario's cassette.

    Args:
        make_adapter: Builds the adapter for a ``base_url`` (the proxy's root
            plus the upstream's path).
        directory: Where cassettes go (``DIR/<provider>/<scenario>.json``).
        target: The model string, naming the cassettes' folder.
        upstream: An emulated harness (not yet entered: its emulator is run
            and scripted here), or the live upstream's URL (e.g.
            ``https://api.openai.com/v1``).
        folder: The cassettes' folder, when not the provider's (a host's wire).
    """

    def __init__(
        self,
        make_adapter: Callable[[str], ModelAdapter],
        directory: str | Path,
        target: str,
        upstream: EmulatedHarness | str,
        folder: str | None = None,
    ) -> None:
        self.folder = folder
        self.inner = upstream if isinstance(upstream, EmulatedHarness) else None
        self.mode = "emulated" if self.inner is not None else "live"
        self.protocol = self.inner.protocol if self.inner is not None else None
        if isinstance(upstream, str):
            self.base_path = urlsplit(upstream).path.rstrip("/")
            self._upstream = upstream
        else:
            self.base_path = wire_base_path(self.protocol)
            self._upstream = ""
        self._make_adapter = make_adapter
        self.directory = Path(directory)
        self.target = target
        self.proxy: RecordingProxy | None = None
        self.recorded = 0
        self._stack = ExitStack()
        self._current: Scenario | None = None

    def __enter__(self) -> RecordingHarness:
        from ..testing import serve_asgi

        try:
            upstream = self._upstream
            if self.inner is not None:
                upstream = self._stack.enter_context(self.inner.serve())
            self.proxy = RecordingProxy(upstream)
            root = self._stack.enter_context(serve_asgi(self.proxy))
            self.url = root
            self.adapter = self.make_adapter(root)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def make_adapter(self, root: str) -> ModelAdapter:
        """Another adapter like the one under test, pointed at the server at ``root``."""
        return self._make_adapter(root + self.base_path)

    def _proxy(self) -> RecordingProxy:
        assert self.proxy is not None, "enter the harness first"
        return self.proxy

    def prepare(self, scenario: Scenario) -> None:
        """Script the emulator (when there is one) and start a fresh recording.

        Raises:
            ScriptNotRenderable: the scenario leaves nothing a cassette can hold.
        """
        self._current = None
        refuse_unrecordable(scenario)
        self._proxy().reset()
        if self.inner is not None:
            self.inner.prepare(scenario)
        self._current = scenario

    def finish(self, scenario: Scenario) -> list[str]:
        """Write the scenario's cassette; nothing to complain about."""
        from ._cassette import cassette_path, write_cassette

        if self._current is not scenario:
            return []
        interactions = self._proxy().take()
        self.recorded += len(interactions)
        meta = {
            "target": self.target,
            "scenario": scenario.id,
            "recorded_mode": self.mode,
            "protocol": self.protocol,
            "base_path": self.base_path,
        }
        path = cassette_path(self.directory, self.target, scenario.id, self.folder)
        write_cassette(path, meta, interactions)
        return []

    def received(self) -> ModelRequest | None:
        """As the emulator saw it; unobservable live."""
        return self.inner.received() if self.inner is not None else None

    def observes_requests(self) -> bool:
        """Only an emulator sees what the model was sent."""
        return self.inner is not None

    def request_count(self) -> int:
        """HTTP requests that went through the proxy in this scenario."""
        return self._proxy().requests

    def disconnected(self, timeout: float) -> bool | None:
        """Whether the adapter hung up on the proxy mid-stream."""
        return self._proxy().disconnected.wait(timeout)

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """Whether the adapter hung up on the proxy mid-stream, waiting up to ``timeout``."""
        return await wait_for_event(self._proxy().disconnected, timeout)


class ReplayHarness:
    """Plays each scenario's cassette from a loopback server: no network, no keys, no emulator.

    Outcomes are judged by the rules of the mode the cassettes were recorded
    in. What the model was sent is read back from the replayed request (for
    cassettes recorded against an emulator), and every request must match the
    recorded one, so a replay also proves the adapter still sends the same
    thing; recorded requests the adapter never made fail the scenario too.
    A scenario without a cassette is n/a.

    Args:
        directory: The cassettes' root (``DIR/<provider>/<scenario>.json``).
        target: The model string, naming the cassettes' folder.
        make_adapter: Builds the adapter for a ``base_url`` (the server's
            root plus the cassettes' ``base_path``).
        folder: The cassettes' folder, when not the provider's (a host's wire).

    Raises:
        UserError: there are no cassettes for ``target`` in ``directory``.
    """

    mode = "replay"

    def __init__(
        self,
        directory: str | Path,
        target: str,
        make_adapter: Callable[[str], ModelAdapter],
        folder: str | None = None,
    ) -> None:
        from ._cassette import cassette_path, load_cassette

        self.folder = cassette_path(directory, target, "x", folder).parent
        files = sorted(self.folder.glob("*.json"))
        if not files:
            raise UserError(f"no cassettes for {target!r} in {self.folder}")
        first = load_cassette(files[0])
        self.judged_as = str(first.get("recorded_mode") or "live")
        self.protocol: str | None = first.get("protocol")
        # Cassettes from before base_path was written were all recorded from an emulator.
        self.base_path = str(first.get("base_path", wire_base_path(self.protocol)))
        self._make_adapter = make_adapter
        self.server = CassetteServer()
        self._stack = ExitStack()

    def __enter__(self) -> ReplayHarness:
        from ..testing import serve_asgi

        root = self._stack.enter_context(serve_asgi(self.server))
        self.url = root
        try:
            self.adapter = self.make_adapter(root)
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def make_adapter(self, root: str) -> ModelAdapter:
        """Another adapter like the one under test, pointed at the server at ``root``."""
        return self._make_adapter(root + self.base_path)

    def prepare(self, scenario: Scenario) -> None:
        """Load the scenario's cassette (``ScriptNotRenderable`` when there is none)."""
        from ._cassette import load_cassette
        from ._script import ScriptNotRenderable

        refuse_unrecordable(scenario)
        path = self.folder / f"{scenario.id}.json"
        if not path.exists():
            if self.judged_as == "emulated" and self.protocol is not None:
                # Not recorded because the emulated wire could not carry it: say so.
                render_script(scenario.script, self.protocol)
            raise ScriptNotRenderable(f"no cassette recorded ({path.name})")
        self.server.load(load_cassette(path)["interactions"])

    def finish(self, scenario: Scenario) -> list[str]:
        """Mismatches, and recorded requests the adapter never made."""
        problems = list(self.server.problems)
        left = self.server.leftover()
        if left:
            problems.append(
                f"cassette: {left} recorded request(s) were never made "
                f"(is the adapter sending to the base_url it was given?)"
            )
        return problems

    def received(self) -> ModelRequest | None:
        """The last replayed request, read as the emulator read it when recording."""
        body: Any = self.server.last_request
        if self.judged_as != "emulated" or body is None or self.protocol is None:
            return None
        return request_parsers()[self.protocol](body)

    def observes_requests(self) -> bool:
        """Only cassettes recorded against an emulator are judged on what was sent."""
        return self.judged_as == "emulated"

    def request_count(self) -> int:
        """HTTP requests the cassette server got in this scenario."""
        return self.server.requests

    def disconnected(self, timeout: float) -> bool | None:
        """Unobservable: a replay sends each answer at once."""
        return None

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """Unobservable: a replay sends each answer at once."""
        return None
