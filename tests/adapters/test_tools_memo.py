"""The tool-list converters remember their result per set of definitions (``_memo.py``).

Each test makes its own ``ToolDefinition`` objects: the memo is keyed by
their identity, so definitions shared between tests would be served from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from agentkit_adapters import _memo
from agentkit_adapters.gemini import to_gemini_tools
from agentkit_adapters.ollama import to_ollama_tools
from agentkit_adapters.openai import to_openai_tools
from agentkit_adapters.openai._strict import tools_with_added_nulls
from agentkit_adapters.openai_responses import to_responses_tools

from agentkit import ToolDefinition
from agentkit import _schema_compile as compiler

# Open, with an optional property: strict mode closes it (a lossy change, so the
# schema goes without strict and a warning says why) or, lossy allowed, adds a null.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
    "required": ["city"],
}

CONVERTERS: dict[str, Callable[[list[ToolDefinition]], Any]] = {
    "openai": lambda tools: to_openai_tools(tools, strict_mode=True),
    "openai nulls": lambda tools: tools_with_added_nulls(tools, allow_lossy=True),
    "responses": lambda tools: to_responses_tools(tools),
    "gemini": lambda tools: to_gemini_tools(tools),
    "ollama": lambda tools: to_ollama_tools(tools, allow_lossy=True, provider="ollama"),
}


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The targets of every real schema compilation, from an empty compiler memo."""
    seen: list[str] = []
    real = compiler.compile_schema

    def counting(schema: Any, target: Any, **options: Any) -> Any:
        seen.append(target)
        return real(schema, target, **options)

    monkeypatch.setattr(compiler, "compile_schema", counting)
    compiler._cache.clear()
    yield seen
    compiler._cache.clear()


def _tools() -> list[ToolDefinition]:
    return [ToolDefinition(name="weather", description="Weather.", input_schema=SCHEMA)]


@pytest.mark.parametrize("name", CONVERTERS)
def test_the_same_definitions_are_converted_once(name: str, compiled: list[str]) -> None:
    convert = CONVERTERS[name]
    tools = _tools()
    first = convert(tools)
    assert compiled, "the first call compiles"
    compiled.clear()
    compiler._cache.clear()  # so a second compilation could not be served by the compiler
    again = convert(list(tools))  # another list of the same definitions, as each turn builds
    assert compiled == []
    assert again == first


@pytest.mark.parametrize("name", CONVERTERS)
def test_other_definitions_with_the_same_content_are_converted_afresh(
    name: str, compiled: list[str]
) -> None:
    convert = CONVERTERS[name]
    first = convert(_tools())
    compiled.clear()
    compiler._cache.clear()
    assert convert(_tools()) == first
    assert compiled, "new definitions are not served from the memo"


def test_options_are_part_of_the_key(compiled: list[str]) -> None:
    tools = _tools()
    _, strict_warnings = to_openai_tools(tools, strict_mode=True)
    _, plain_warnings = to_openai_tools(tools, strict_mode=False)
    assert [w.feature for w in strict_warnings] == ["strict_disabled"]
    assert plain_warnings == []
    assert to_openai_tools(tools, strict_mode=True)[1] == strict_warnings


def test_a_caller_that_extends_its_lists_does_not_change_the_next_answer() -> None:
    tools = _tools()
    out, warnings = to_openai_tools(tools, strict_mode=True)
    out.append({"type": "function", "function": {"name": "extra"}})
    warnings.clear()
    again, warnings_again = to_openai_tools(tools, strict_mode=True)
    assert [t["function"]["name"] for t in again] == ["weather"]
    assert len(warnings_again) == 1


def test_a_failure_is_not_remembered() -> None:
    bad = [ToolDefinition(name="weather", input_schema={"type": "object", "$ref": "https://x"})]
    for _ in range(2):
        with pytest.raises(Exception, match="ref"):
            to_responses_tools(bad)


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_memo, "SIZE", 2)
    made: list[int] = []

    @_memo.memo_by_tools
    def count(tools: list[ToolDefinition]) -> list[str]:
        made.append(len(tools))
        return [t.name for t in tools]

    sets = [_tools() for _ in range(3)]
    for tools in sets:
        count(tools)
    count(sets[2])  # kept: the most recent
    count(sets[0])  # pushed out by the third: made again
    assert made == [1, 1, 1, 1]
