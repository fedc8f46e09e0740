"""Serving: the official MCP Python client against agentkit's server, in-process."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel

from agentkit import Agent, ImagePart, ModelRequest, ResourcePart, TextPart, tool
from agentkit.exceptions import ToolError
from agentkit.mcp import AgentToolset, build_server, report_progress
from agentkit.testing import FunctionAdapter

pytestmark = pytest.mark.anyio

MODES = ["legacy", "auto"]  # 2025-11-25 handshake, and 2026-07-28 via server/discover


class Forecast(BaseModel):
    city: str
    celsius: int


@tool(title="Forecast", annotations={"readOnlyHint": True})
def forecast(city: str) -> Forecast:
    """Tomorrow's forecast.

    Args:
        city: City name.
    """
    return Forecast(city=city, celsius=18)


@tool
def refuse(city: str) -> str:
    """Always fails with a message for people."""
    raise ToolError(f"No forecast for {city}: try a capital city")


@tool
def crash() -> str:
    """Fails with a plain exception."""
    raise RuntimeError("disk full")


@tool
async def count(n: int) -> str:
    """Counts, reporting progress."""
    for i in range(1, n + 1):
        report_progress(i, n, f"step {i}")
        await anyio.sleep(0.01)
    return f"counted {n}"


@tool
def count_sync(n: int) -> str:
    """Counts in a worker thread, reporting progress."""
    for i in range(1, n + 1):
        report_progress(i, n)
    return "ok"


CANCELLED = anyio.Event()


@tool
async def hang() -> str:
    """Never finishes unless cancelled."""
    try:
        await anyio.sleep(60)
    except anyio.get_cancelled_exc_class():
        CANCELLED.set()
        raise
    return "finished"


@tool
def media() -> Any:
    """Mixed content blocks."""
    from agentkit import ToolResultPart

    return ToolResultPart(
        call_id="",
        content=[
            TextPart(text="look"),
            ImagePart(data=b"\x89PNG", media_type="image/png"),
            ResourcePart(uri="file:///a.txt", name="a.txt", media_type="text/plain"),
        ],
    )


SERVER = build_server([forecast, refuse, crash, count, count_sync, hang, media])


@pytest.mark.parametrize("mode", MODES)
async def test_tools_keep_schemas_title_and_annotations(mode: str) -> None:
    async with Client(SERVER, mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    listed = tools["forecast"]
    assert listed.title == "Forecast"
    assert listed.annotations is not None
    assert listed.annotations.read_only_hint is True
    assert listed.input_schema["required"] == ["city"]
    assert listed.input_schema["properties"]["city"]["description"] == "City name."
    assert listed.output_schema is not None
    assert set(listed.output_schema["properties"]) == {"city", "celsius"}


@pytest.mark.parametrize("mode", MODES)
async def test_results_carry_content_and_structured_content(mode: str) -> None:
    async with Client(SERVER, mode=mode) as client:
        result = await client.call_tool("forecast", {"city": "Oslo"})
        mixed = await client.call_tool("media", {})
    assert result.is_error is False
    assert result.structured_content == {"city": "Oslo", "celsius": 18}
    assert result.content[0].text == '{"city": "Oslo", "celsius": 18}'  # type: ignore[union-attr]
    assert [c.type for c in mixed.content] == ["text", "image", "resource_link"]
    assert mixed.content[1].mime_type == "image/png"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
async def test_tool_errors_keep_their_message(mode: str) -> None:
    async with Client(SERVER, mode=mode) as client:
        refused = await client.call_tool("refuse", {"city": "Atlantis"})
        crashed = await client.call_tool("crash", {})
        invalid = await client.call_tool("forecast", {"city": 3})
    assert refused.is_error is True
    assert refused.content[0].text == "No forecast for Atlantis: try a capital city"  # type: ignore[union-attr]
    assert crashed.is_error is True
    assert "RuntimeError: disk full" in crashed.content[0].text  # type: ignore[union-attr]
    assert "Error executing tool" not in crashed.content[0].text  # type: ignore[union-attr]
    assert invalid.is_error is True
    assert "city" in invalid.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", MODES)
async def test_unknown_tool_is_a_protocol_error(mode: str) -> None:
    async with Client(SERVER, mode=mode) as client:
        with pytest.raises(MCPError, match="Unknown tool: nope"):
            await client.call_tool("nope", {})


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["count", "count_sync"])
async def test_progress_reaches_the_client(mode: str, name: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(SERVER, mode=mode) as client:
        result = await client.call_tool(name, {"n": 3}, progress_callback=on_progress)
    assert not result.is_error
    assert [p for p, _, _ in seen] == [1.0, 2.0, 3.0]
    assert all(total == 3.0 for _, total, _ in seen)
    if name == "count":
        assert [m for _, _, m in seen] == ["step 1", "step 2", "step 3"]


def test_report_progress_outside_mcp_is_a_no_op() -> None:
    report_progress(1, 2, "nobody listens")  # must not raise
    assert count_sync.function(2) == "ok"


async def test_cancelled_request_cancels_the_running_tool() -> None:
    # Legacy mode runs JSON-RPC over streams, so the client's timeout sends
    # notifications/cancelled and the server must stop the tool.
    async with Client(SERVER, mode="legacy") as client:
        with pytest.raises((MCPError, TimeoutError)):
            await client.call_tool("hang", {}, read_timeout_seconds=0.3)
        with anyio.fail_after(5):
            await CANCELLED.wait()


async def test_an_agent_is_served_as_one_tool() -> None:
    class Answer(BaseModel):
        city: str
        summary: str

    def model(request: ModelRequest) -> str:
        asked = request.messages[-1].text
        return '{"city": "Oslo", "summary": "' + asked + '"}'

    agent = Agent(name="planner", description="Plans trips.", output_type=Answer)
    server = build_server([AgentToolset(agent, FunctionAdapter(model))])
    async with Client(server, mode="legacy") as client:
        listed = (await client.list_tools()).tools
        result = await client.call_tool("planner", {"input": "a day in Oslo"})
        empty = await client.call_tool("planner", {"input": ""})
    assert [t.name for t in listed] == ["planner"]
    assert listed[0].description == "Plans trips."
    assert listed[0].input_schema["required"] == ["input"]
    assert listed[0].output_schema is not None
    assert result.structured_content == {"city": "Oslo", "summary": "a day in Oslo"}
    assert empty.is_error is True
