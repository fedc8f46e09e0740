"""The ``time`` tool set: now and conversions, errors a model can act on."""

from __future__ import annotations

import pytest
from agentkit_tools.time import toolset

pytestmark = pytest.mark.anyio


async def test_convert_across_a_dst_change() -> None:
    result = await toolset.call_tool(
        "convert_time",
        {
            "time": "2026-07-01T12:00",
            "source_timezone": "Europe/Paris",
            "target_timezone": "America/New_York",
        },
    )
    data = result.structured_content
    assert data is not None
    assert not result.is_error
    assert data["source"]["utc_offset"] == "+02:00"
    assert data["source"]["is_dst"] is True
    assert data["target"]["datetime"] == "2026-07-01T06:00:00-04:00"
    assert data["time_difference"] == "-6h"


async def test_half_hour_zone_and_hh_mm() -> None:
    result = await toolset.call_tool(
        "convert_time",
        {"time": "10:00", "source_timezone": "UTC", "target_timezone": "Asia/Kolkata"},
    )
    assert result.structured_content is not None
    assert result.structured_content["target"]["datetime"].endswith("15:30:00+05:30")
    assert result.structured_content["time_difference"] == "+5.5h"


async def test_now_in_a_zone() -> None:
    result = await toolset.call_tool("now", {"timezone": "Asia/Tokyo"})
    assert result.structured_content is not None
    assert result.structured_content["utc_offset"] == "+09:00"
    assert result.structured_content["datetime"].endswith("+09:00")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "Unknown time zone 'Mars/Olympus'"),
        ({"timezone": "../../etc/passwd"}, "Unknown time zone"),
    ],
)
async def test_bad_zone(arguments: dict[str, str], message: str) -> None:
    result = await toolset.call_tool("now", arguments)
    assert result.is_error
    assert message in result.text


async def test_bad_time() -> None:
    result = await toolset.call_tool(
        "convert_time", {"time": "noonish", "source_timezone": "UTC", "target_timezone": "UTC"}
    )
    assert result.is_error
    assert "HH:MM" in result.text
