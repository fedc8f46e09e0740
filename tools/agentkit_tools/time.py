"""``time``: the current time anywhere, and conversions between time zones.

Zone names are IANA names (``Europe/Paris``, ``America/New_York``), read with
``zoneinfo``; the ``tzdata`` package supplies the database on machines
without a system one. Serve it with ``agentkit serve time``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from agentkit import tool
from agentkit.exceptions import ToolError

from ._base import NamedToolset

__all__ = ["Conversion", "TimeInfo", "convert_time", "now", "toolset"]


class TimeInfo(BaseModel):
    """A moment in one time zone."""

    timezone: str
    datetime: str
    day_of_week: str
    utc_offset: str
    is_dst: bool


class Conversion(BaseModel):
    """The same moment in two time zones."""

    source: TimeInfo
    target: TimeInfo
    time_difference: str


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"Unknown time zone {name!r}. Use an IANA name such as 'Europe/Paris', "
            "'America/New_York' or 'UTC'."
        ) from None


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _info(moment: datetime, zone_name: str) -> TimeInfo:
    return TimeInfo(
        timezone=zone_name,
        datetime=moment.isoformat(timespec="seconds"),
        day_of_week=moment.strftime("%A"),
        utc_offset=_offset(moment.utcoffset()),
        is_dst=bool(moment.dst()),
    )


@tool(annotations={"readOnlyHint": True, "openWorldHint": False}, title="Current time")
def now(timezone: str = "UTC") -> TimeInfo:
    """Get the current date and time in a time zone.

    Args:
        timezone: IANA time zone name, e.g. "Europe/Paris" or "UTC".
    """
    zone = _zone(timezone)
    return _info(datetime.now(zone), timezone.strip())


@tool(annotations={"readOnlyHint": True, "openWorldHint": False}, title="Convert time")
def convert_time(time: str, source_timezone: str, target_timezone: str) -> Conversion:
    """Convert a time from one time zone to another.

    Args:
        time: "HH:MM" (today in the source zone) or an ISO date-time like "2026-03-29T01:30".
        source_timezone: IANA name of the zone the time is given in.
        target_timezone: IANA name of the zone to convert to.
    """
    source, target = _zone(source_timezone), _zone(target_timezone)
    text = time.strip()
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(p) for p in text.split(":"))
            moment = datetime.now(source).replace(hour=hour, minute=minute, second=0, microsecond=0)
        else:
            parsed = datetime.fromisoformat(text)
            moment = parsed.replace(tzinfo=source) if parsed.tzinfo is None else parsed
    except ValueError:
        raise ToolError(
            f"Cannot read the time {time!r}: give HH:MM in 24-hour form (e.g. '16:30') "
            "or an ISO date-time (e.g. '2026-03-29T01:30')."
        ) from None
    converted = moment.astimezone(target)
    difference = (converted.utcoffset() or timedelta()) - (moment.utcoffset() or timedelta())
    hours = difference.total_seconds() / 3600
    shown = f"{hours:+.2f}".rstrip("0").rstrip(".") + "h"
    return Conversion(
        source=_info(moment, source_timezone.strip()),
        target=_info(converted, target_timezone.strip()),
        time_difference=shown,
    )


#: The ``time`` tool set (entry point ``time``).
toolset = NamedToolset("time", [now, convert_time])
