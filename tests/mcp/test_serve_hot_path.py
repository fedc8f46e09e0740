"""The per-call work of ``serve`` over streamable HTTP, on both protocol revisions.

A ``tools/call`` must not cost a ``tools/list`` (the SDK's fallback for the
``Mcp-Param-*`` header check of 2026-07-28), and a call whose client asked for
no progress must not pay for the progress plumbing; progress still arrives
when it is asked for.
"""

from __future__ import annotations

from typing import Any

import pytest
from http_serving import serving
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types.methods import serialize_server_result

import agentkit.mcp._server as served
from agentkit import tool
from agentkit._messages import AudioPart, ImagePart, ResourcePart, TextPart, ToolResultPart
from agentkit._model import ToolDefinition
from agentkit._tools import FunctionToolset
from agentkit.mcp import build_server, report_progress
from agentkit.mcp._convert import to_mcp_result, to_mcp_result_wire

pytestmark = pytest.mark.anyio

REVISIONS = ["legacy", "2026-07-28"]


@tool
def count(n: int) -> int:
    """Counts to n, reporting progress at each step."""
    for i in range(n):
        report_progress(i + 1, n)
    return n


class CountingToolset:
    """A tool set that counts how often it is listed."""

    def __init__(self) -> None:
        self.inner = FunctionToolset([count])
        self.listed = 0

    async def list_tools(self) -> list[ToolDefinition]:
        self.listed += 1
        return await self.inner.list_tools()

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> ToolResultPart:
        return await self.inner.call_tool(name, arguments)


@pytest.mark.parametrize("mode", REVISIONS)
async def test_a_call_does_not_list_the_tools(mode: str) -> None:
    toolset = CountingToolset()
    async with serving(build_server([toolset])) as url, Client(url, mode=mode) as client:
        await client.list_tools()
        before = toolset.listed
        for n in range(1, 6):
            result = await client.call_tool("count", {"n": n})
            assert result.structured_content == {"result": n}
        # Without the server's own schema lookup, the SDK ran a whole
        # tools/list for each 2026-07-28 call to check its Mcp-Param headers.
        assert toolset.listed == before


async def test_the_schema_lookup_follows_the_listing() -> None:
    server = build_server([count])
    lookup = server.get_tool_input_schema
    assert lookup is not None
    async with Client(server, mode="legacy") as client:
        await client.list_tools()
        schema = lookup("count")
        assert schema is not None
        assert schema["properties"]["n"]["type"] == "integer"
        assert lookup("no_such_tool") is None


@pytest.mark.parametrize("mode", REVISIONS)
async def test_progress_plumbing_only_when_asked(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    real = served.ProgressChannel

    def counted() -> object:
        channel = real()
        made.append(channel)
        return channel

    monkeypatch.setattr(served, "ProgressChannel", counted)
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with serving(build_server([count])) as url, Client(url, mode=mode) as client:
        plain = await client.call_tool("count", {"n": 2})
        assert not plain.is_error
        assert made == []  # no token: the SDK would drop the progress anyway
        followed = await client.call_tool("count", {"n": 3}, progress_callback=on_progress)
        assert not followed.is_error
    assert len(made) == 1
    assert seen == [1.0, 2.0, 3.0]


RESULTS = [
    ToolResultPart(call_id="", content=[TextPart(text="98")], structured_content={"result": 98}),
    ToolResultPart(call_id="", content=[TextPart(text="no such file")], is_error=True),
    ToolResultPart(call_id="", content=[]),
    ToolResultPart(
        call_id="",
        content=[
            TextPart(text="all kinds"),
            ImagePart(data=b"\x89PNG", media_type="image/png"),
            ImagePart(url="https://example.invalid/cat.png"),
            AudioPart(data=b"RIFF", media_type="audio/wav"),
            ResourcePart(uri="file:///a.txt", media_type="text/plain", text="a"),
            ResourcePart(uri="file:///b.bin", data=b"\x00\x01"),
            ResourcePart(uri="file:///c", name="c"),
        ],
        structured_content={"when": "2026-12-01", "n": [1, 2.5, None]},
    ),
]


@pytest.mark.parametrize("result", RESULTS)
@pytest.mark.parametrize("version", ["2025-11-25", "2026-07-28"])
def test_the_wire_dump_is_what_the_model_sends(result: ToolResultPart, version: str) -> None:
    # The handler answers with a dict instead of a CallToolResult: after the
    # SDK's own validation and dump, the client must get the very same bytes.
    model = to_mcp_result(result)
    expected = serialize_server_result(
        "tools/call", version, model.model_dump(by_alias=True, mode="json", exclude_none=True)
    )
    assert to_mcp_result_wire(result) == model.model_dump(
        by_alias=True, mode="json", exclude_none=True
    )
    assert serialize_server_result("tools/call", version, to_mcp_result_wire(result)) == expected


async def test_two_tools_of_one_name_still_start_the_server() -> None:
    # The up-front listing must not turn the clash into a failed start: the
    # client hears of it at tools/list, as it did before that listing existed.
    server = build_server([FunctionToolset([count]), FunctionToolset([count])])
    async with Client(server, mode="legacy") as client:
        with pytest.raises(MCPError):
            await client.list_tools()
