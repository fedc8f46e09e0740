"""Relay plugs into agentkit by entry point, and its sessions live and die with their loops."""

from __future__ import annotations

import gc
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


def test_an_agent_runs_on_relay_twice_each_run_on_its_own_loop_and_session() -> None:
    agent = Agent(name="weather", instructions="Be brief.", tools=[get_weather])
    emulator = OpenAIChatEmulator(script, api_key=KEY)
    options = {"api_key": KEY}
    with serve_asgi(emulator) as url, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        options["base_url"] = f"{url}/v1"
        for _ in range(2):
            # run_sync starts a fresh event loop each time: a session from the
            # first run must not be reused by the second.
            result = run_sync(
                agent, "Weather in Oslo?", model="relay:relay-1", model_options=options
            )
            assert result.output == "Relay says: 12°C and rain in Oslo"
            assert result.turns == 2
        gc.collect()
    assert len(emulator.calls) == 4
    unclosed = [w for w in caught if "nclosed" in str(w.message)]
    assert not unclosed, unclosed
    assert not _session._sessions  # each loop's session was closed when that loop ended


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
