"""Consuming: agents use real MCP servers' tools (mcp-server-time, the everything server)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from agentkit_tools.time import toolset as time_toolset
from mcp_peers import NodePeers, RunningServer, free_port, start_server, stop_server

from agentkit import Agent, ImagePart, ModelRequest, ToolCallPart, ToolResultPart, run
from agentkit.mcp import MCPToolset, load_mcp_config
from agentkit.mcp._client import MCPServerError
from agentkit.testing import FunctionAdapter

pytestmark = pytest.mark.anyio

HERE = Path(__file__).parent


def scripted(*calls: tuple[str, dict[str, Any]]) -> FunctionAdapter:
    """A model that makes ``calls`` one per turn, then answers with the last result."""

    def model(request: ModelRequest) -> Any:
        turn = sum(1 for m in request.messages if m.role == "assistant")
        if turn < len(calls):
            name, arguments = calls[turn]
            return [ToolCallPart(id=f"c{turn}", name=name, arguments=arguments)]
        result = request.messages[-1].parts[0]
        assert isinstance(result, ToolResultPart)
        return json.dumps(result.structured_content) if result.structured_content else result.text

    return FunctionAdapter(model)


def results(messages: list[Any]) -> list[ToolResultPart]:
    return [p for m in messages if m.role == "tool" for p in m.parts]


def mcp_server_time() -> MCPToolset:
    return MCPToolset(
        command=sys.executable,
        args=["-m", "mcp_server_time", "--local-timezone", "UTC"],
        name="mcptime",
    )


async def test_agent_uses_mcp_server_time_over_stdio() -> None:
    model = scripted(
        (
            "convert_time",
            {"source_timezone": "Europe/Paris", "time": "16:30", "target_timezone": "Asia/Tokyo"},
        )
    )
    agent = Agent(name="clock", tools=[mcp_server_time()])
    result = await run(agent, "16:30 in Paris is what in Tokyo?", model=model)
    assert "convert_time" in [t.name for t in model.calls[0].tools]
    answer = json.loads(result.output)
    assert answer["source"]["timezone"] == "Europe/Paris"
    assert answer["target"]["timezone"] == "Asia/Tokyo"
    assert answer["target"]["datetime"].endswith("+09:00")


async def test_colliding_names_are_prefixed_and_reported() -> None:
    # agentkit's own time tools and mcp-server-time both offer convert_time.
    model = scripted(
        (
            "mcptime_convert_time",
            {"source_timezone": "UTC", "time": "12:00", "target_timezone": "UTC"},
        )
    )
    agent = Agent(name="clock", tools=[time_toolset, mcp_server_time()])
    result = await run(agent, "noon?", model=model)
    names = [t.name for t in model.calls[0].tools]
    assert {"now", "convert_time", "get_current_time", "mcptime_convert_time"} <= set(names)
    assert any("mcptime_convert_time" in w.message for w in result.warnings)
    assert not results(result.messages)[0].is_error


async def test_everything_server_over_stdio(node_peers: NodePeers) -> None:
    everything = MCPToolset(
        command=str(node_peers.everything),
        env={"PATH": node_peers.env()["PATH"]},
        name="everything",
    )
    model = scripted(
        ("echo", {"message": "hi there"}), ("get-sum", {"a": 2, "b": 40}), ("get-tiny-image", {})
    )
    agent = Agent(name="e", tools=[everything])
    result = await run(agent, "go", model=model)
    echo, total, image = results(result.messages)
    assert echo.text == "Echo: hi there"
    assert "42" in total.text
    assert any(isinstance(p, ImagePart) and p.media_type == "image/png" for p in image.content)
    # The connection was per run: closed again once the run ended.
    assert not everything.connected


async def test_everything_server_over_http_shared_across_runs(
    everything_http: RunningServer,
) -> None:
    toolset = MCPToolset(everything_http.url, name="everything")
    agent = Agent(name="e", tools=[toolset])
    async with toolset:  # entered by the user: one connection serves both runs
        client = toolset.client
        for word in ("one", "two"):
            result = await run(agent, "go", model=scripted(("echo", {"message": word})))
            assert result.output == f"Echo: {word}"
            assert toolset.client is client
    assert not toolset.connected


async def test_a_server_that_dies_mid_run_gives_an_error_result(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dying = MCPToolset(command=sys.executable, args=[str(HERE / "dying_server.py")], name="dying")
    model = scripted(("alive", {}), ("die", {}), ("alive", {}))
    agent = Agent(name="d", tools=[dying], tool_retries=5, tool_timeout=20)
    with caplog.at_level(logging.WARNING, logger="agentkit.mcp"):
        result = await run(agent, "go", model=model)
    alive, died, after = results(result.messages)
    assert alive.text == "yes"
    assert not alive.is_error
    assert died.is_error
    assert "stopped answering" in died.text
    assert after.is_error
    assert "unavailable" in after.text
    assert any("stopped answering" in r.getMessage() for r in caplog.records)
    # And the person running the agent sees it in the result, once.
    [warning] = [w for w in result.warnings if w.feature == "dying"]
    assert warning.kind == "tool"
    assert "stopped answering during the run" in warning.message


@pytest.fixture
def dying_http(request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """``dying_server.py`` over streamable HTTP: agentkit's server or the official SDK's."""
    port = free_port()
    command = [sys.executable, str(HERE / "dying_server.py"), "--http", str(port)]
    if request.param == "official":
        command.append("--official")
    server = start_server(command, port)
    yield server
    stop_server(server)


@pytest.mark.parametrize(
    ("dying_http", "protocol"),
    [("agentkit", "auto"), ("agentkit", "legacy"), ("official", "auto"), ("official", "legacy")],
    indirect=["dying_http"],
)
async def test_an_http_server_that_dies_mid_run_gives_an_error_result(
    dying_http: RunningServer, protocol: str
) -> None:
    # Over HTTP the SDK's transport fails in a task group the connection owns;
    # that used to cancel the run itself (CancelledError out of run()).
    dying = MCPToolset(dying_http.url, name="dying", protocol=protocol)
    model = scripted(("alive", {}), ("die", {}), ("alive", {}))
    agent = Agent(name="d", tools=[dying], tool_retries=5, tool_timeout=20)
    with anyio.fail_after(30):
        result = await run(agent, "go", model=model)
    alive, died, after = results(result.messages)
    assert alive.text == "yes"
    assert died.is_error
    assert "stopped answering" in died.text
    assert after.is_error
    assert "unavailable" in after.text
    [warning] = [w for w in result.warnings if w.feature == "dying"]
    assert "stopped answering during the run" in warning.message
    assert dying._users == 0
    assert not dying.connected


async def test_concurrent_runs_share_one_toolset() -> None:
    # Each run enters and leaves the same tool set from its own task, in an
    # order nobody controls: the connection must not belong to any of them.
    shared = MCPToolset(command=sys.executable, args=[str(HERE / "dying_server.py")], name="d")
    agent = Agent(name="d", tools=[shared])
    outputs: dict[int, str] = {}

    async def one(i: int) -> None:
        calls = [("alive", {})] * (1 + i % 3)
        result = await run(agent, "go", model=scripted(*calls))
        outputs[i] = result.output

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            for i in range(6):
                group.start_soon(one, i)
    assert outputs == dict.fromkeys(range(6), "yes")
    assert shared._users == 0
    assert not shared.connected
    # And it opens again for the next run.
    again = await run(agent, "go", model=scripted(("alive", {})))
    assert again.output == "yes"


async def test_unstartable_server_is_a_clear_error() -> None:
    broken = MCPToolset(command="/nonexistent/mcp-server", name="broken")
    with pytest.raises(MCPServerError, match="cannot connect to MCP server 'broken'"):
        async with broken:
            pass


def test_load_mcp_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTES_TOKEN", "abc")
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
                    "notes": {
                        "url": "http://127.0.0.1:9/mcp",
                        "headers": {"Authorization": "Bearer ${NOTES_TOKEN}"},
                    },
                    "off": {"command": "x", "disabled": True},
                }
            }
        ),
        encoding="utf-8",
    )
    time_server, notes = load_mcp_config(config)
    assert (time_server.name, time_server.command, time_server.args) == (
        "time",
        "uvx",
        ["mcp-server-time"],
    )
    assert time_server.env == {"TZ": "UTC"}
    assert (notes.name, notes.url, notes.headers) == (
        "notes",
        "http://127.0.0.1:9/mcp",
        {"Authorization": "Bearer abc"},
    )


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"servers": {"a": {}}}, "exactly one of 'command'"),
        ({"mcpServers": {"a": {"command": "x", "url": "http://h/mcp"}}}, "exactly one"),
        ({"mcpServers": {"a": {"url": "http://h/sse", "type": "sse"}}}, "legacy SSE"),
        (
            {"mcpServers": {"a": {"command": "x", "env": {"K": "${UNSET_VAR_FOR_TEST}"}}}},
            "UNSET_VAR_FOR_TEST",
        ),
        ({"other": {}}, "mcpServers"),
    ],
)
def test_bad_mcp_config_is_a_user_error(document: dict[str, Any], problem: str) -> None:
    from agentkit.exceptions import UserError

    with pytest.raises(UserError, match=problem):
        load_mcp_config(document)


async def test_agent_file_lists_mcp_servers(tmp_path: Path) -> None:
    from agentkit import load_agent

    (tmp_path / "mcp.json").write_text(
        json.dumps({"mcpServers": {"web": {"url": "http://127.0.0.1:9/mcp"}}}), encoding="utf-8"
    )
    (tmp_path / "agent.yaml").write_text(
        "name: clock\n"
        "mcp_config: mcp.json\n"
        "mcp_servers:\n"
        f"  - name: mcptime\n    command: {sys.executable}\n"
        "    args: [-m, mcp_server_time, --local-timezone, UTC]\n",
        encoding="utf-8",
    )
    agent = load_agent(tmp_path / "agent.yaml")
    kinds = [(t.name, t.url or t.command) for t in agent.toolsets if isinstance(t, MCPToolset)]
    assert kinds == [("mcptime", sys.executable), ("web", "http://127.0.0.1:9/mcp")]
    # Only the stdio one is reachable here: run with just it.
    agent.toolsets.pop()
    model = scripted(("get_current_time", {"timezone": "UTC"}))
    result = await run(agent, "time?", model=model)
    assert json.loads(result.output)["timezone"] == "UTC"
