"""The one schema-compile memo every adapter uses: keyed by everything the result depends on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agentkit_adapters.gemini import to_gemini_tools
from agentkit_adapters.ollama import to_ollama_request
from agentkit_adapters.openai import to_openai_tools
from agentkit_adapters.openai_responses import to_responses_tools

from agentkit import Message, ModelRequest, ToolDefinition
from agentkit import _schema_compile as module
from agentkit.adapter import compile_schema, compile_schema_cached
from agentkit.exceptions import SchemaCompileError

# An open object: closing it for strict mode is a lossy change.
OPEN: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool, str | None]]]:
    """Every real compilation, as ``(target, allow_lossy, name)``, from an empty memo."""
    seen: list[tuple[str, bool, str | None]] = []
    real = module.compile_schema

    def counting(schema: Any, target: Any, *, allow_lossy: bool = False, name: Any = None) -> Any:
        seen.append((target, allow_lossy, name))
        return real(schema, target, allow_lossy=allow_lossy, name=name)

    monkeypatch.setattr(module, "compile_schema", counting)
    module._cache.clear()
    yield seen
    module._cache.clear()


def test_the_same_request_is_compiled_once(calls: list[Any]) -> None:
    first = compile_schema_cached(OPEN, "gemini", name="weather")
    assert compile_schema_cached(OPEN, "gemini", name="weather") is first
    # Equal content in another object is the same entry.
    assert compile_schema_cached(dict(OPEN), "gemini", name="weather") is first
    assert calls == [("gemini", False, "weather")]
    assert first == compile_schema(OPEN, "gemini", name="weather")


def test_allow_lossy_is_part_of_the_key(calls: list[Any]) -> None:
    # Strict mode must close the object: refused without allow_lossy, done with it.
    with pytest.raises(SchemaCompileError):
        compile_schema_cached(OPEN, "openai-strict", name="weather")
    lossy = compile_schema_cached(OPEN, "openai-strict", allow_lossy=True, name="weather")
    assert lossy.schema["additionalProperties"] is False
    with pytest.raises(SchemaCompileError):  # the lossy entry is not served to a strict caller
        compile_schema_cached(OPEN, "openai-strict", name="weather")
    assert calls == [("openai-strict", False, "weather"), ("openai-strict", True, "weather")]


def test_the_tool_name_is_part_of_the_key(calls: list[Any]) -> None:
    with pytest.raises(SchemaCompileError, match="'weather'") as weather:
        compile_schema_cached(OPEN, "openai-strict", name="weather")
    with pytest.raises(SchemaCompileError, match="'forecast'") as forecast:
        compile_schema_cached(OPEN, "openai-strict", name="forecast")
    assert (weather.value.tool, forecast.value.tool) == ("weather", "forecast")
    assert len(calls) == 2


def test_the_target_is_part_of_the_key(calls: list[Any]) -> None:
    gemini = compile_schema_cached(OPEN, "gemini")
    ollama = compile_schema_cached(OPEN, "ollama")
    assert (gemini.target, ollama.target) == ("gemini", "ollama")


def test_content_is_the_key_not_the_object(calls: list[Any]) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
    before = compile_schema_cached(schema, "ollama")
    schema["properties"]["b"] = {"type": "integer"}  # changed in place: a new key
    after = compile_schema_cached(schema, "ollama")
    assert "b" not in before.schema["properties"]
    assert "b" in after.schema["properties"]
    # Key order is content too: the compiled schema keeps the order it was given.
    reordered = {"properties": schema["properties"], "type": "object"}
    assert list(compile_schema_cached(reordered, "ollama").schema) == ["properties", "type"]
    assert len(calls) == 3


def test_failures_are_remembered_and_raised_afresh(calls: list[Any]) -> None:
    errors = []
    for _ in range(2):
        with pytest.raises(SchemaCompileError) as info:
            compile_schema_cached(OPEN, "openai-strict", name="weather")
        errors.append(info.value)
    assert len(calls) == 1
    assert errors[0] is not errors[1]
    assert (str(errors[0]), errors[0].changes) == (str(errors[1]), errors[1].changes)


def test_the_memo_is_bounded(calls: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "CACHE_SIZE", 2)
    for name in ("a", "b", "c"):
        compile_schema_cached(OPEN, "gemini", name=name)
    assert len(module._cache) == 2
    compile_schema_cached(OPEN, "gemini", name="c")  # kept: the most recent
    compile_schema_cached(OPEN, "gemini", name="a")  # pushed out: compiled again
    assert [name for _, _, name in calls] == ["a", "b", "c", "a"]


def test_a_schema_that_is_not_json_is_compiled_uncached(calls: list[Any]) -> None:
    odd = {"type": "object", "properties": {"a": {"type": "number", "default": float("nan")}}}
    compile_schema_cached(odd, "ollama")
    compile_schema_cached(odd, "ollama")
    assert len(calls) == 2
    assert len(module._cache) == 0


def test_every_adapter_compiles_a_runs_schemas_once(calls: list[Any]) -> None:
    tool = ToolDefinition(name="weather", input_schema=OPEN)
    ask = ModelRequest(messages=[Message.user("hi")], tools=[tool])
    for _ in range(3):  # three turns of one run
        to_openai_tools([tool], strict_mode=True)
        to_responses_tools([tool])
        to_gemini_tools([tool])
        to_ollama_request(ask, model_id="m", stream=False)
    assert len(calls) == len(set(calls))
    assert {target for target, _, _ in calls} >= {"openai-strict", "openai", "gemini", "ollama"}
