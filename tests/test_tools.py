"""``@tool``: schemas from signatures and docstrings, validation, failures as results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Literal

import anyio
import pytest
from pydantic import BaseModel, Field

from agentkit import FunctionToolset, ImagePart, TextPart, Tool, tool
from agentkit._tools import parse_docstring
from agentkit.exceptions import ToolError, UserError


class Forecast(BaseModel):
    city: str
    days: list[int]


@tool
def forecast(city: str, days: int = 3, unit: Literal["c", "f"] = "c") -> Forecast:
    """Forecast the weather.

    Longer text that is not the summary.

    Args:
        city: The city's name.
        days: How many days ahead,
            between 1 and 7.
        unit: Temperature unit.

    Returns:
        The forecast.
    """
    return Forecast(city=city, days=list(range(days)))


def test_input_schema_from_signature_and_docstring() -> None:
    d = forecast.definition
    assert d.name == "forecast"
    assert d.description == "Forecast the weather.\n\nLonger text that is not the summary."
    assert d.input_schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name."},
            "days": {
                "type": "integer",
                "default": 3,
                "description": "How many days ahead, between 1 and 7.",
            },
            "unit": {
                "type": "string",
                "enum": ["c", "f"],
                "default": "c",
                "description": "Temperature unit.",
            },
        },
        "required": ["city"],
    }


def test_output_schema_for_structured_return() -> None:
    assert forecast.definition.output_schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["city", "days"],
    }


def test_scalar_return_is_wrapped_as_mcp_requires() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    assert add.definition.output_schema == {
        "type": "object",
        "properties": {"result": {"type": "integer"}},
        "required": ["result"],
    }
    result = anyio.run(add.run, {"a": 2, "b": 3})
    assert result.structured_content == {"result": 5}
    assert result.text == "5"


def test_text_return_has_no_output_schema() -> None:
    @tool
    def hello(name: str) -> str:
        return f"hi {name}"

    assert hello.definition.output_schema is None
    assert hello.definition.description is None
    result = anyio.run(hello.run, {"name": "Ada"})
    assert result.text == "hi Ada"
    assert result.structured_content is None
    assert not result.is_error


def test_annotated_field_and_dataclass_return() -> None:
    @dataclass
    class Point:
        x: int
        y: int

    @tool(name="make_point", title="Make a point", timeout=5)
    def mk(x: Annotated[int, Field(ge=0, description="x coordinate")], y: int = 0) -> Point:
        return Point(x, y)

    d = mk.definition
    assert d.name == "make_point"
    assert d.title == "Make a point"
    assert d.input_schema["properties"]["x"] == {
        "type": "integer",
        "minimum": 0,
        "description": "x coordinate",
    }
    assert d.output_schema is not None
    assert d.output_schema["required"] == ["x", "y"]
    result = anyio.run(mk.run, {"x": 1, "y": 2})
    assert result.structured_content == {"x": 1, "y": 2}
    bad = anyio.run(mk.run, {"x": -1})
    assert bad.is_error
    assert "x: -1 is less than the minimum of 0" in bad.text


@pytest.mark.anyio
async def test_invalid_arguments_become_an_error_result() -> None:
    result = await forecast.run({"city": 5, "days": "three"})
    assert result.is_error
    assert result.text.startswith("Invalid arguments for tool forecast:")
    assert "city: 5 is not of type 'string'" in result.text
    assert "days: 'three' is not of type 'integer'" in result.text
    missing = await forecast.run({})
    assert "'city' is a required property" in missing.text


@pytest.mark.anyio
async def test_exceptions_inside_a_tool_become_error_results() -> None:
    @tool
    def boom(x: int) -> str:
        raise RuntimeError(f"disk full at {x}")

    @tool
    async def refuse(x: int) -> str:
        raise ToolError("x must be even; try 2")

    r1 = await boom.run({"x": 1})
    assert r1.is_error
    assert r1.text == "Tool boom failed: RuntimeError: disk full at 1"
    r2 = await refuse.run({"x": 1})
    assert r2.is_error
    assert r2.text == "x must be even; try 2"


@pytest.mark.anyio
@pytest.mark.parametrize("blocking", [None, False])
async def test_timeout_for_async_and_sync_tools(blocking: bool | None) -> None:
    # blocking=False only moves sync tools onto the loop; an async tool is on the
    # loop either way and its timeout must stop it in both spellings.
    @tool(timeout=0.05, blocking=blocking)
    async def slow() -> str:
        await anyio.sleep(5)
        return "late"

    @tool
    def blocking() -> str:
        time.sleep(0.3)
        return "late"

    started = time.perf_counter()
    r1 = await slow.run({})
    assert r1.is_error
    assert r1.text == "Tool slow timed out after 0.05 seconds"
    r2 = await blocking.run({}, timeout=0.05)
    assert r2.is_error
    assert "timed out" in r2.text
    assert time.perf_counter() - started < 0.3


@pytest.mark.anyio
@pytest.mark.parametrize(("blocking", "expected"), [(None, "loop ran"), (False, "loop blocked")])
async def test_sync_tools_run_off_the_event_loop(blocking: bool | None, expected: str) -> None:
    import threading

    loop_ran = threading.Event()

    # The tool blocks until a task on the event loop has run. That task can only
    # run while the tool blocks if the tool is off the loop, in a worker thread;
    # inline (blocking=False, the control case) the wait times out.
    @tool(blocking=blocking)
    def block() -> str:
        return "loop ran" if loop_ran.wait(timeout=0.5) else "loop blocked"

    async def mark() -> None:
        loop_ran.set()

    async with anyio.create_task_group() as group:
        group.start_soon(mark)
        result = await block.run({})
    assert result.text == expected


@pytest.mark.anyio
async def test_content_block_return_passes_through() -> None:
    @tool
    def picture() -> ImagePart:
        return ImagePart(data=b"\x89PNG", media_type="image/png")

    result = await picture.run({})
    assert result.content == [ImagePart(data=b"\x89PNG", media_type="image/png")]


@pytest.mark.anyio
async def test_function_toolset() -> None:
    def plain(a: str) -> str:
        """Echo."""
        return a

    ts = FunctionToolset([forecast, plain])
    names = [d.name for d in await ts.list_tools()]
    assert names == ["forecast", "plain"]
    assert (await ts.call_tool("plain", {"a": "x"})).content == [TextPart(text="x")]
    unknown = await ts.call_tool("nope", {})
    assert unknown.is_error
    assert unknown.text == "Unknown tool 'nope'. Available tools: forecast, plain"
    with pytest.raises(UserError, match="two tools are named 'plain'"):
        FunctionToolset([plain, plain])


def test_varargs_are_rejected() -> None:
    def f(*args: int) -> None: ...

    with pytest.raises(UserError, match="cannot be described"):
        Tool(f)


def test_tool_stays_callable() -> None:
    assert forecast("Oslo", days=1) == Forecast(city="Oslo", days=[0])


def test_parse_docstring_sections() -> None:
    summary, args = parse_docstring(
        """Do it.

        Args:
            a (int): first
            b: second
                continued

        Raises:
            ValueError: never
        """
    )
    assert summary == "Do it."
    assert args == {"a": "first", "b": "second continued"}


@pytest.mark.anyio
async def test_blocking_false_runs_inline_on_the_loop_thread() -> None:
    import threading

    seen: list[str] = []

    @tool(blocking=False)
    def inline() -> str:
        seen.append(threading.current_thread().name)
        return "x"

    @tool
    def threaded() -> str:
        seen.append(threading.current_thread().name)
        return "y"

    await inline.run({})
    await threaded.run({})
    assert seen[0] == threading.current_thread().name
    assert seen[1] != threading.current_thread().name
