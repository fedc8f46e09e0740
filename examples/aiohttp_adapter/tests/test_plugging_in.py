"""Relay plugs into agentkit by entry point, and its sessions live and die with their loops."""

from __future__ import annotations

import gc
import threading
import warnings
from importlib.metadata import entry_points
from typing import Any

import aiohttp
import anyio
import pytest
from relay_agentkit import RelayAdapter, _session, create_relay_adapter

from agentkit import Agent, ModelRequest, ToolCallPart, ToolResultPart, resolve_model, run_sync
from agentkit.testing import OpenAIChatEmulator, serve_asgi

KEY = "sk-test-relay"


def test_the_entry_point_is_installed_and_declares_its_wire() -> None:
    (entry,) = [e for e in entry_points(group="agentkit.adapters") if e.name == "relay"]
    assert entry.value == "relay_agentkit:create_relay_adapter"
    factory = entry.load()
    assert factory is create_relay_adapter
    assert getattr(factory, "wire_protocol", None) == "openai-chat"


def test_a_model_string_resolves_to_the_adapter_with_options() -> None:
    adapter = resolve_model("relay:relay-1", base_url="http://127.0.0.1:9/v1", api_key=KEY)
    assert isinstance(adapter, RelayAdapter)
    assert adapter.model_id == "relay-1"
    assert adapter.base_url == "http://127.0.0.1:9/v1"


def get_weather(city: str) -> str:
    """The weather in ``city``."""
    return f"12°C and rain in {city}"


def script(request: ModelRequest) -> Any:
    results = [p for p in request.messages[-1].parts if isinstance(p, ToolResultPart)]
    if results:
        return f"Relay says: {results[0].text}"
    return [ToolCallPart(id="call_1", name="get_weather", arguments={"city": "Oslo"})]


def _one_run(url: str) -> None:
    agent = Agent(name="weather", instructions="Be brief.", tools=[get_weather])
    options = {"api_key": KEY, "base_url": f"{url}/v1"}
    result = run_sync(agent, "Weather in Oslo?", model="relay:relay-1", model_options=options)
    assert result.output == "Relay says: 12°C and rain in Oslo"
    assert result.turns == 2


def _two_runs(url: str) -> None:
    _one_run(url)
    _one_run(url)


def _open_sessions() -> list[aiohttp.ClientSession]:
    return [entry.session for entry in _session._sessions.values() if not entry.session.closed]


def test_two_runs_in_the_main_thread_share_its_loop_and_session() -> None:
    emulator = OpenAIChatEmulator(script, api_key=KEY)
    with serve_asgi(emulator) as url:
        _one_run(url)
        after_first = _open_sessions()
        _one_run(url)
        # run_sync keeps the main thread's loop between calls, and with it the session.
        assert _open_sessions() == after_first
    assert len(after_first) == 1
    assert len(emulator.calls) == 4


def test_a_thread_gets_its_own_loop_and_session_closed_once_the_thread_ended() -> None:
    emulator = OpenAIChatEmulator(script, api_key=KEY)
    before = _open_sessions()
    seen: list[list[aiohttp.ClientSession]] = []
    errors: list[BaseException] = []

    def in_thread(url: str) -> None:
        try:
            _two_runs(url)
            seen.append(_open_sessions())
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)

    with serve_asgi(emulator) as url, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        thread = threading.Thread(target=in_thread, args=(url,))
        thread.start()
        thread.join()
        assert not errors, errors
        (theirs,) = [s for s in seen[0] if s not in before]  # one session for both runs
        # run_sync closes the loop of a thread that has ended at its next call,
        # and with that loop the session the adapter made on it.
        _one_run(url)
        gc.collect()
    assert theirs.closed
    assert len(emulator.calls) == 6
    unclosed = [w for w in caught if "nclosed" in str(w.message)]
    assert not unclosed, unclosed


def test_each_loop_gets_one_session_closed_when_the_loop_ends() -> None:
    sessions: list[aiohttp.ClientSession] = []

    async def take() -> None:
        first = _session.loop_session("relay")
        assert _session.loop_session("relay") is first  # one per loop
        assert not first.closed
        sessions.append(first)

    anyio.run(take)
    anyio.run(take)
    assert sessions[0] is not sessions[1]
    assert all(s.closed for s in sessions)


@pytest.mark.anyio
async def test_aclose_sessions_closes_this_loops_session_now() -> None:
    from relay_agentkit import aclose_sessions

    session = _session.loop_session("relay")
    await aclose_sessions()
    assert session.closed
    assert _session.loop_session("relay") is not session
    await aclose_sessions()
