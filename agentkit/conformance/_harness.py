"""Where the adapter under test gets its answers: an emulator, a function, or a real model.

A harness hands out the adapter, plays each scenario's script (when it can)
and reports what the model was sent and whether the client hung up, so the
checks can look at both ends of the exchange.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol

import anyio

from .._model import ModelAdapter, ModelRequest, ModelResponse
from ._scenarios import Scenario
from ._script import render_script

__all__ = [
    "EMULATED_PROVIDERS",
    "ENDPOINT_PROTOCOLS",
    "EmulatedHarness",
    "FunctionHarness",
    "Harness",
    "LiveHarness",
    "RecordingHarness",
    "ReplayHarness",
    "emulated_harness_for",
    "endpoint_adapter",
    "judged_mode",
    "replay_adapter_factory",
]


class Harness(Protocol):
    """What the runner needs from a harness."""

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
        """HTTP requests the server saw in the current scenario; None when unobservable."""
        ...

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """Await the client hanging up, up to ``timeout``, without blocking the loop.

        Returns None when a disconnect cannot be observed.
        """
        ...

    def adapter_for(self, base_url: str) -> ModelAdapter | None:
        """The adapter under test, built the same way but pointed at ``base_url``.

        None when the harness cannot build one (the check is then not observed).
        """
        ...


async def _poll(flag: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
    # The emulator sets its flag from its own thread; polling with anyio.sleep
    # lets the client under test finish closing on this loop meanwhile (a
    # blocking wait here would stop exactly the close it waits for).
    deadline = time.monotonic() + timeout
    while not flag():
        if time.monotonic() >= deadline:
            return False
        await anyio.sleep(0.005)
    return True


class _Counting:
    """ASGI middleware counting HTTP requests, whatever the emulator answers."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            self.count += 1
        await self.app(scope, receive, send)


class _Scripted:
    """The model function given to an emulator: plays whichever script is current."""

    def __init__(self) -> None:
        self.current: Callable[[ModelRequest], ModelResponse] | None = None

    def __call__(self, request: ModelRequest) -> ModelResponse:
        if self.current is None:  # pragma: no cover - the runner always prepares
            raise RuntimeError("no scenario is prepared")
        return self.current(request)


#: Emulator class by protocol name.
def _emulators() -> dict[str, Any]:
    from ..testing import (
        GeminiEmulator,
        OllamaEmulator,
        OpenAIChatEmulator,
        OpenAIResponsesEmulator,
    )

    return {
        "openai-chat": OpenAIChatEmulator,
        "openai-responses": OpenAIResponsesEmulator,
        "gemini": GeminiEmulator,
        "ollama": OllamaEmulator,
    }


class _Truncating:
    """ASGI middleware that can end a 200 stream early, as a dropped connection would.

    The body ends cleanly after ``cut_after`` chunks, with no finish chunk and
    no terminator, so every streaming protocol gets the same kind of
    truncation without the emulators knowing about it.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cut_after: int | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        limit = self.cut_after
        if limit is None or scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        sent = 0

        async def cutting_send(message: Any) -> None:
            nonlocal sent
            if message["type"] != "http.response.body":
                await send(message)
                return
            if sent > limit:
                return  # already ended: swallow the rest
            sent += 1
            if sent > limit:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, cutting_send)


class EmulatedHarness:
    """Runs an adapter against a loopback emulator of its wire protocol.

    Args:
        protocol: ``openai-chat``, ``openai-responses``, ``gemini`` or ``ollama``.
        make_adapter: Builds the adapter given the emulator's root URL.

    Use as a context manager: the emulator runs while it is open.
    """

    mode = "emulated"

    def __init__(self, protocol: str, make_adapter: Callable[[str], ModelAdapter]) -> None:
        from ..testing._asgi import Stalling

        self.protocol = protocol
        self._script = _Scripted()
        self.emulator = _emulators()[protocol](self._script)
        self._app = _Truncating(self.emulator)
        self._stalling = Stalling(self._app)
        self._counter = _Counting(self._stalling)
        self._make_adapter = make_adapter
        self._stack = ExitStack()
        self._seen = 0
        self._counted = 0

    def __enter__(self) -> EmulatedHarness:
        from ..testing import serve_asgi

        url = self._stack.enter_context(serve_asgi(self._counter))
        self.adapter = self._make_adapter(url)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def prepare(self, scenario: Scenario) -> None:
        """Script the emulator for ``scenario``."""
        self._script.current = render_script(scenario.script, self.protocol)
        self.emulator.stream_delay = scenario.script.get("stream_delay", 0.0)
        self.emulator.disconnected.clear()
        cut = scenario.script.get("stream_cut")
        self._app.cut_after = cut.get("after_chunks", 3) if cut else None
        self._seen = len(self.emulator.calls)
        self._counted = self._counter.count
        self._stalling.seconds = scenario.script.get("stall")

    def received(self) -> ModelRequest | None:
        """The request the emulator read back from the wire in this scenario."""
        calls: list[ModelRequest] = self.emulator.calls
        return calls[-1] if len(calls) > self._seen else None

    def observes_requests(self) -> bool:
        """The emulator sees every request."""
        return True

    def disconnected(self, timeout: float) -> bool | None:
        """Whether the emulator saw the client hang up mid-stream."""
        return bool(self.emulator.disconnected.wait(timeout))

    def request_count(self) -> int | None:
        """HTTP requests the emulator received since ``prepare``."""
        return self._counter.count - self._counted

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """Await the emulator seeing the client hang up."""
        return await _poll(self.emulator.disconnected.is_set, timeout)

    def adapter_for(self, base_url: str) -> ModelAdapter | None:
        """The adapter built by the same factory, pointed at ``base_url``."""
        return self._make_adapter(base_url)


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

    def request_count(self) -> int | None:
        """Calls the function got since ``prepare``."""
        return len(self.inner.calls) - self._seen

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """No connection to observe."""
        return None

    def adapter_for(self, base_url: str) -> ModelAdapter | None:
        """No wire: nothing to point elsewhere."""
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

    def adapter_for(self, base_url: str) -> ModelAdapter | None:
        """A live adapter cannot be rebuilt here."""
        return None


#: Our providers the kit knows how to point at an emulator:
#: provider -> (protocol, environment for the adapter factory given the emulator's root URL).
EMULATED_PROVIDERS: dict[str, tuple[str, Callable[[str], dict[str, str]]]] = {
    "openai": ("openai-chat", lambda url: {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "k"}),
    "openai-responses": (
        "openai-responses",
        lambda url: {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "k"},
    ),
    "gemini": ("gemini", lambda url: {"GEMINI_BASE_URL": url, "GEMINI_API_KEY": "k"}),
    "ollama": ("ollama", lambda url: {"OLLAMA_HOST": url}),
    "vllm": ("openai-chat", lambda url: {"VLLM_BASE_URL": f"{url}/v1"}),
    "llamacpp-server": ("openai-chat", lambda url: {"LLAMACPP_SERVER_URL": f"{url}/v1"}),
    "ollama-openai": ("openai-chat", lambda url: {"OLLAMA_HOST": url}),
}


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    # Our factories read their URL and key from the environment when they are
    # called, so the variables only need to be set around that call.
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def emulated_harness_for(model: str) -> EmulatedHarness:
    """An emulated harness for one of our model strings, like ``gemini:gemini-2.5-flash``.

    Raises:
        UserError: the provider speaks no protocol the kit can emulate.
    """
    from .._registry import resolve_model
    from ..exceptions import UserError

    provider = model.partition(":")[0]
    if provider not in EMULATED_PROVIDERS:
        raise UserError(
            f"emulated mode does not know the wire protocol of {provider!r}; "
            f"known: {', '.join(sorted(EMULATED_PROVIDERS))} (use --mode live)"
        )
    protocol, env = EMULATED_PROVIDERS[provider]

    def make(url: str) -> ModelAdapter:
        with _environment(env(url)):
            return resolve_model(model)

    return EmulatedHarness(protocol, make)


# -- record, replay and endpoint ---------------------------------------------------------------


def judged_mode(harness: Harness) -> str:
    """The mode whose rules judge ``harness``'s outcomes (a replay is judged as recorded)."""
    return str(getattr(harness, "judged_as", harness.mode))


def _request_parsers() -> dict[str, Callable[[Any], ModelRequest]]:
    from ..testing import _gemini_emulator, _ollama_emulator, _openai_emulator, _responses_emulator

    return {
        "openai-chat": _openai_emulator.parse_chat_request,
        "openai-responses": _responses_emulator.parse_responses_request,
        "gemini": _gemini_emulator.parse_gemini_request,
        "ollama": _ollama_emulator.parse_ollama_request,
    }


class RecordingHarness:
    """Wraps another harness and writes each scenario's HTTP exchanges to a cassette.

    The recording transport is installed (``transport_override``) by whoever
    runs the kit, for the duration of the run: see ``check_adapter``.

    Args:
        inner: The harness that does the real work (emulated or live).
        directory: Where cassettes go (``DIR/<provider>/<scenario>.json``).
        target: The model string, naming the cassettes' folder.
        transport: The recording transport the adapter sends through.
    """

    def __init__(
        self, inner: EmulatedHarness | LiveHarness, directory: str, target: str, transport: Any
    ) -> None:
        self.inner = inner
        self.mode = inner.mode
        self.directory = directory
        self.target = target
        self.transport = transport
        self._current: Scenario | None = None

    def __enter__(self) -> RecordingHarness:
        self.inner.__enter__()
        self.adapter = self.inner.adapter
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)

    def prepare(self, scenario: Scenario) -> None:
        """Prepare the inner harness and start a fresh recording."""
        self._current = None
        self.transport.take()
        self.inner.prepare(scenario)
        self._current = scenario

    def finish(self, scenario: Scenario) -> list[str]:
        """Write the scenario's cassette; nothing to complain about."""
        from ._cassette import cassette_path, write_cassette

        if self._current is scenario:
            protocol = getattr(self.inner, "protocol", None)
            meta = {
                "target": self.target,
                "scenario": scenario.id,
                "recorded_mode": self.inner.mode,
                "protocol": protocol,
            }
            path = cassette_path(self.directory, self.target, scenario.id)
            write_cassette(path, meta, self.transport.take())
        return []

    def received(self) -> ModelRequest | None:
        """As the inner harness saw it."""
        return self.inner.received()

    def observes_requests(self) -> bool:
        """As the inner harness."""
        return self.inner.observes_requests()

    def disconnected(self, timeout: float) -> bool | None:
        """As the inner harness saw it."""
        return self.inner.disconnected(timeout)

    def request_count(self) -> int | None:
        """As the inner harness counted."""
        return self.inner.request_count()

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """As the inner harness sees it."""
        return await self.inner.wait_disconnected(timeout)

    def adapter_for(self, base_url: str) -> ModelAdapter | None:
        """Not recorded: a refused connection leaves nothing to replay."""
        return None


class ReplayHarness:
    """Plays each scenario's cassette to the adapter: no network, no keys, no emulator.

    Outcomes are judged by the rules of the mode the cassettes were recorded
    in. What the model was sent is read back from the replayed request (for
    cassettes recorded against an emulator), and every request must match the
    recorded one, so a replay also proves the adapter still sends the same
    thing. A scenario without a cassette is n/a.

    Args:
        directory: The cassettes' root (``DIR/<provider>/<scenario>.json``).
        target: The model string, naming the cassettes' folder.
        make_adapter: Builds the adapter (its HTTP goes through ``transport``).
        transport: The replay transport, installed by whoever runs the kit.

    Raises:
        UserError: there are no cassettes for ``target`` in ``directory``.
    """

    mode = "replay"

    def __init__(
        self,
        directory: str,
        target: str,
        make_adapter: Callable[[], ModelAdapter],
        transport: Any,
    ) -> None:
        from ..exceptions import UserError
        from ._cassette import cassette_path, load_cassette

        self.folder = cassette_path(directory, target, "x").parent
        files = sorted(self.folder.glob("*.json"))
        if not files:
            raise UserError(f"no cassettes for {target!r} in {self.folder}")
        first = load_cassette(files[0])
        self.judged_as = str(first.get("recorded_mode") or "live")
        self.protocol = first.get("protocol")
        self._make_adapter = make_adapter
        self.transport = transport

    def __enter__(self) -> ReplayHarness:
        self.adapter = self._make_adapter()
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def prepare(self, scenario: Scenario) -> None:
        """Load the scenario's cassette (``ScriptNotRenderable`` when there is none)."""
        from ._cassette import load_cassette
        from ._script import ScriptNotRenderable

        path = self.folder / f"{scenario.id}.json"
        if not path.exists():
            raise ScriptNotRenderable(f"no cassette recorded ({path.name})")
        self.transport.load(load_cassette(path)["interactions"])

    def finish(self, scenario: Scenario) -> list[str]:
        """Mismatches, and recorded requests the adapter never made."""
        problems = list(self.transport.problems)
        if self.transport.leftover():
            problems.append(
                f"cassette: {self.transport.leftover()} recorded request(s) were never made"
            )
        return problems

    def received(self) -> ModelRequest | None:
        """The last replayed request, read as the emulator read it when recording."""
        body = self.transport.last_request
        if self.judged_as != "emulated" or body is None or self.protocol is None:
            return None
        return _request_parsers()[str(self.protocol)](body)

    def observes_requests(self) -> bool:
        """Only cassettes recorded against an emulator are judged on what was sent."""
        return self.judged_as == "emulated"

    def disconnected(self, timeout: float) -> bool | None:
        """Unobservable in a replay."""
        return None

    def request_count(self) -> int | None:
        """Not counted here: the cassette's own matching refuses extra requests."""
        return None

    async def wait_disconnected(self, timeout: float) -> bool | None:  # noqa: ASYNC109
        """Unobservable in a replay."""
        return None

    def adapter_for(self, base_url: str) -> ModelAdapter | None:
        """A replay cannot point the adapter at a real socket."""
        return None


#: Protocols the endpoint mode can check: name -> the provider whose adapter speaks it.
#: The ``openai-chat`` presets check a server against the capabilities that preset claims.
ENDPOINT_PROTOCOLS: dict[str, str] = {
    "openai-chat": "openai",
    "openai-responses": "openai-responses",
    "gemini": "gemini",
    "ollama": "ollama",
    "vllm": "vllm",
    "llamacpp-server": "llamacpp-server",
    "ollama-openai": "ollama-openai",
}


def endpoint_adapter(url: str, protocol: str, model: str | None = None) -> ModelAdapter:
    """Our adapter for ``protocol``, pointed at the server at ``url``.

    Keys come from the environment when set there (``OPENAI_API_KEY``...);
    otherwise a placeholder is sent, which local servers ignore.

    Raises:
        UserError: an unknown protocol.
    """
    from .._registry import resolve_model
    from ..exceptions import UserError

    provider = ENDPOINT_PROTOCOLS.get(protocol)
    if provider is None:
        raise UserError(
            f"unknown protocol {protocol!r}; known: {', '.join(sorted(ENDPOINT_PROTOCOLS))}"
        )
    root = url.rstrip("/")
    root = root.removesuffix("/v1").removesuffix("/v1beta")
    env = EMULATED_PROVIDERS[provider][1](root)
    env = {k: os.environ.get(k, v) if k.endswith("_API_KEY") else v for k, v in env.items()}
    with _environment(env):
        return resolve_model(f"{provider}:{model or 'default'}")


def replay_adapter_factory(model: str) -> Callable[[], ModelAdapter]:
    """Builds ``model``'s adapter for a replay: placeholder URL and key, nothing is contacted."""
    from .._registry import resolve_model

    provider = model.partition(":")[0]

    def make() -> ModelAdapter:
        if provider not in EMULATED_PROVIDERS:
            return resolve_model(model)
        with _environment(EMULATED_PROVIDERS[provider][1]("http://127.0.0.1:9")):
            return resolve_model(model)

    return make
