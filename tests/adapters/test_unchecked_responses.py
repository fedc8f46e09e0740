"""Responses built with ``unchecked`` are the objects the validating constructors build.

Each whole-response parser is run twice on the same body: as shipped (its
models built by ``agentkit.adapter.unchecked``), and with ``unchecked``
swapped for the validating constructor, which is how the parsers built them
before. Both must give the same object, field set and JSON, for every
recorded real answer of the family and for the lax hosts' variations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import agentkit_adapters.anthropic._parse as anthropic_parse
import agentkit_adapters.gemini._parse as gemini_parse
import agentkit_adapters.ollama._parse as ollama_parse
import agentkit_adapters.openai._adapter as openai_adapter
import agentkit_adapters.openai._parse as openai_parse
import agentkit_adapters.openai_responses._parse as responses_parse
import pytest
from pydantic import BaseModel

from agentkit import Message, ModelResponse, RunWarning, TextPart, ToolCallPart, Usage
from agentkit.adapter import unchecked

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real_traffic"
WARNINGS = [RunWarning(kind="other", message="planted", provider="p")]


def _validating(cls: Callable[..., BaseModel], /, **values: Any) -> BaseModel:
    return cls(**values)


def _bodies(families: tuple[str, ...], endpoint: str) -> Iterator[tuple[str, Any]]:
    """Every recorded 200 JSON answer of ``families`` sent to an ``endpoint`` URI."""
    for family in families:
        for meta_path in sorted((FIXTURES / family).glob("*/*meta.json")):
            meta = json.loads(meta_path.read_text())
            uri = str(meta.get("uri", "")).split("?")[0]
            if (
                meta.get("status") == 200
                and str(meta.get("content_type", "")).startswith("application/json")
                and uri.endswith(endpoint)
            ):
                body = json.loads((meta_path.parent / meta["response_file"]).read_text())
                yield f"{meta_path.parent.name}/{meta_path.name}", body


def assert_same(fast: BaseModel, validated: BaseModel) -> None:
    """``fast`` and ``validated`` agree in every way a run's values are compared or dumped."""
    assert type(fast) is type(validated)
    assert fast == validated
    assert fast.model_fields_set == validated.model_fields_set
    assert fast.model_dump_json() == validated.model_dump_json()
    assert fast.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    assert repr(fast) == repr(validated)
    for name in type(fast).model_fields:
        mine, theirs = getattr(fast, name), getattr(validated, name)
        assert type(mine) is type(theirs), name
        if isinstance(mine, BaseModel):
            assert_same(mine, theirs)
        elif isinstance(mine, list):
            assert len(mine) == len(theirs)
            for a, b in zip(mine, theirs, strict=True):
                if isinstance(a, BaseModel):
                    assert_same(a, b)
                else:
                    assert type(a) is type(b)


def _outcome(parse: Callable[[], BaseModel]) -> BaseModel | Exception:
    try:
        return parse()
    except Exception as exc:  # compared below: both ways must raise alike
        return exc


def both_ways(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, parse: Callable[[], BaseModel]
) -> tuple[BaseModel, BaseModel] | None:
    """``parse()`` as shipped, then with ``module``'s ``unchecked`` validating.

    Returns:
        The two results, or None when both raised the same error (a body the
        family's parser refuses, such as Azure's filtered answer without a message).
    """
    fast = _outcome(parse)
    with monkeypatch.context() as patch:
        patch.setattr(module, "unchecked", _validating)
        validated = _outcome(parse)
    if isinstance(fast, Exception) or isinstance(validated, Exception):
        assert type(fast) is type(validated)
        assert str(fast) == str(validated)
        return None
    return fast, validated


CHAT = list(_bodies(("openai_chat", "openai_compatible", "azure_openai"), "/chat/completions"))

#: What lax OpenAI-compatible hosts send (each case named in _parse.py's comments).
LAX_CHAT: dict[str, dict[str, Any]] = {
    "content parts, object arguments, no ids": {
        "model": 7,
        "choices": [
            {
                "message": {
                    "content": [{"type": "text", "text": "a"}, {"text": 2}],
                    "tool_calls": [{"function": {"name": "f", "arguments": {"x": [1]}}}],
                },
                "finish_reason": "eos",
            }
        ],
        "usage": {"prompt_tokens": None, "completion_tokens": 2.0, "cached_tokens": "3"},
    },
    "reasoning, refusal, invalid arguments": {
        "id": 12,
        "model": "m",
        "choices": [
            {
                "message": {
                    "reasoning_content": "think",
                    "refusal": "no",
                    "tool_calls": [
                        {"id": "c", "function": {"name": "f", "arguments": "{not json"}},
                        {"id": "d", "function": {"name": "g", "arguments": [1, 2]}},
                    ],
                },
                "finish_reason": None,
            }
        ],
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 1,
            "total_tokens": 9,
            "completion_tokens_details": {"reasoning_tokens": 3},
            "prompt_tokens_details": {"cached_tokens": -1},
        },
    },
    "no usage, unknown finish": {
        "choices": [{"message": {"content": None}, "finish_reason": "weird"}],
        "usage": "none",
    },
}


def test_there_are_recorded_chat_answers_to_compare() -> None:
    assert len(CHAT) >= 10


@pytest.mark.parametrize(
    "body",
    [b for _, b in CHAT] + list(LAX_CHAT.values()),
    ids=[n for n, _ in CHAT] + list(LAX_CHAT),
)
@pytest.mark.parametrize("warnings", [None, WARNINGS])
def test_openai_chat_answers_build_the_validated_objects(
    monkeypatch: pytest.MonkeyPatch, body: Any, warnings: list[RunWarning] | None
) -> None:
    def parse() -> BaseModel:
        return openai_parse.from_openai_response(
            body, provider="openai", model_id="asked", warnings=warnings
        )

    built = both_ways(monkeypatch, openai_parse, parse)
    if built is None:
        return
    fast, validated = built
    assert_same(fast, validated)
    assert isinstance(fast, ModelResponse)
    # Kept, not shared: the response owns its lists, as a validated one does.
    assert fast.warnings is not warnings
    for part in fast.message.parts:
        if isinstance(part, ToolCallPart):
            calls = [c["function"].get("arguments") for c in _calls(body)]
            assert all(part.arguments is not wire for wire in calls)


def _calls(body: Any) -> list[dict[str, Any]]:
    return list(body["choices"][0]["message"].get("tool_calls") or [])


def test_the_adapter_module_uses_the_same_parser() -> None:
    # The adapter calls the parser module's function: the one compared above.
    assert openai_adapter.from_openai_response is openai_parse.from_openai_response


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": 3, "completion_tokens": 4},
        {"prompt_tokens": 1.5, "completion_tokens": "x", "prompt_cache_hit_tokens": 2},
        {"prompt_tokens_details": None, "completion_tokens_details": {"reasoning_tokens": 2}},
    ],
)
def test_openai_usage_builds_the_validated_usage(
    monkeypatch: pytest.MonkeyPatch, usage: dict[str, Any]
) -> None:
    built = both_ways(
        monkeypatch,
        openai_parse,
        lambda: openai_parse.from_openai_usage(usage) or Usage(requests=0),
    )
    assert built is not None
    assert_same(*built)


def test_unchecked_builds_only_the_models_of_a_response() -> None:
    from agentkit import ImagePart, ToolResultPart

    for cls in (ImagePart, ToolResultPart):
        with pytest.raises(TypeError, match="only the parts of a ModelResponse"):
            unchecked(cls, url="https://example.test/a.png")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="TextPart"):
        unchecked(TextPart, texts="hi")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="keywords"):
        unchecked(TextPart, "hi")  # type: ignore[call-arg]


def test_an_unchecked_response_is_frozen_and_keeps_its_defaults_unset() -> None:
    message = unchecked(Message, role="assistant", parts=[unchecked(TextPart, text="hi")])
    response = unchecked(
        ModelResponse, message=message, finish_reason="stop", provider="p", model_id="m"
    )
    assert response.model_fields_set == {"message", "finish_reason", "provider", "model_id"}
    assert response.warnings == []
    assert response.usage is None
    again = unchecked(
        ModelResponse, message=message, finish_reason="stop", provider="p", model_id="m"
    )
    assert response.warnings is not again.warnings  # a default list of its own
    with pytest.raises(Exception, match="frozen"):
        response.provider = "q"  # type: ignore[misc]


RESPONSES = list(_bodies(("openai_responses", "open_responses", "azure_openai"), "/responses"))
ANTHROPIC = list(_bodies(("anthropic", "vertex"), "/messages")) + list(
    _bodies(("vertex",), ":rawPredict")
)
GEMINI = list(_bodies(("gemini", "vertex"), ":generateContent"))


def _ollama_whole(path: Path) -> dict[str, Any]:
    """The ``stream: false`` answer a recorded NDJSON stream stands for: its pieces
    joined, the final object's fields kept."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    whole = dict(lines[-1])
    message: dict[str, Any] = {"role": "assistant", "content": ""}
    for line in lines:
        piece = line.get("message") or {}
        message["content"] += piece.get("content") or ""
        if piece.get("thinking"):
            message["thinking"] = message.get("thinking", "") + piece["thinking"]
        if piece.get("tool_calls"):
            message.setdefault("tool_calls", []).extend(piece["tool_calls"])
    whole["message"] = message
    return whole


OLLAMA = [
    (path.parent.name, _ollama_whole(path))
    for path in sorted((FIXTURES / "ollama").glob("*/response.ndjson"))
]
LAX_OLLAMA: dict[str, dict[str, Any]] = {
    "thinking, object and text arguments, ids": {
        "model": "qwen3",
        "created_at": "2025-01-01T00:00:00Z",
        "message": {
            "role": "assistant",
            "thinking": "hmm",
            "content": 5,
            "tool_calls": [
                {"id": "t1", "function": {"name": "f", "arguments": {"a": {"b": 1}}}},
                {"function": {"name": "g", "arguments": "not json"}},
                {"function": {"name": "h", "arguments": [1]}},
            ],
        },
        "done_reason": "length",
        "prompt_eval_count": 3.5,
    },
    "a done_reason that is no string": {
        "message": {"content": "x"},
        "done_reason": 3,
        "eval_count": 1,
    },
}
LAX_RESPONSES: dict[str, dict[str, Any]] = {
    "reasoning, custom and object-argument calls, refusal, unknown item": {
        "id": "resp_1",
        "model": "m",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"text": "a"}, {"text": "b"}],
                "encrypted_content": "sig",
            },
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": {"x": [1]}},
            {"type": "custom_tool_call", "id": "c2", "name": "g", "input": "raw"},
            {"type": "function_call", "call_id": "c3", "name": "h", "arguments": "{bad"},
            {
                "type": "message",
                "content": [
                    {"type": "output_text", "text": "hi"},
                    {"type": "refusal", "refusal": "no"},
                ],
            },
            {"type": "web_search_call", "id": "ws"},
        ],
        "usage": {
            "input_tokens": 9,
            "output_tokens": -1,
            "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 2},
            "output_tokens_details": {"reasoning_tokens": 1.0},
        },
    },
    "an id and a signature that are no strings": {
        "id": 42,
        "output": [{"type": "reasoning", "id": 7, "encrypted_content": ["x"]}],
    },
}


def _case_params(cases: list[tuple[str, Any]], lax: dict[str, Any]) -> Any:
    return pytest.mark.parametrize(
        "body", [b for _, b in cases] + list(lax.values()), ids=[n for n, _ in cases] + list(lax)
    )


def test_there_are_recorded_answers_of_each_family() -> None:
    assert len(RESPONSES) >= 8
    assert len(ANTHROPIC) >= 8
    assert len(GEMINI) >= 6
    assert len(OLLAMA) >= 3


def _compare(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, parse: Callable[[], BaseModel]
) -> BaseModel | None:
    built = both_ways(monkeypatch, module, parse)
    if built is None:
        return None
    assert_same(*built)
    return built[0]


@_case_params(RESPONSES, LAX_RESPONSES)
@pytest.mark.parametrize("warnings", [None, WARNINGS])
def test_openai_responses_answers_build_the_validated_objects(
    monkeypatch: pytest.MonkeyPatch, body: Any, warnings: list[RunWarning] | None
) -> None:
    def parse() -> BaseModel:
        return responses_parse.from_responses_response(
            body, provider="openai", model_id="asked", warnings=warnings
        )

    fast = _compare(monkeypatch, responses_parse, parse)
    if isinstance(fast, ModelResponse):
        assert fast.warnings is not warnings
        wire = [item.get("arguments") for item in body.get("output") or ()]
        for part in fast.message.tool_calls:
            assert all(part.arguments is not value for value in wire)


@_case_params(OLLAMA, LAX_OLLAMA)
@pytest.mark.parametrize("warnings", [None, WARNINGS])
def test_ollama_answers_build_the_validated_objects(
    monkeypatch: pytest.MonkeyPatch, body: Any, warnings: list[RunWarning] | None
) -> None:
    def parse() -> BaseModel:
        return ollama_parse.from_ollama_response(
            body, provider="ollama", model_id="asked", warnings=warnings
        )

    fast = _compare(monkeypatch, ollama_parse, parse)
    if isinstance(fast, ModelResponse):
        assert fast.warnings is not warnings
        wire = [c["function"].get("arguments") for c in body["message"].get("tool_calls") or ()]
        for part in fast.message.tool_calls:
            assert all(part.arguments is not value for value in wire)


def test_a_done_reason_that_is_no_string_is_still_refused_by_validation() -> None:
    with pytest.raises(ValueError, match="raw_finish_reason"):
        ollama_parse.from_ollama_response(
            LAX_OLLAMA["a done_reason that is no string"], provider="ollama", model_id="m"
        )


@pytest.mark.parametrize("body", [b for _, b in ANTHROPIC], ids=[n for n, _ in ANTHROPIC])
def test_anthropic_answers_build_the_validated_objects(
    monkeypatch: pytest.MonkeyPatch, body: Any
) -> None:
    _compare(
        monkeypatch,
        anthropic_parse,
        lambda: anthropic_parse.from_anthropic_response(
            body, provider="anthropic", model_id="asked"
        ),
    )


@pytest.mark.parametrize("body", [b for _, b in GEMINI], ids=[n for n, _ in GEMINI])
def test_gemini_answers_build_the_validated_objects(
    monkeypatch: pytest.MonkeyPatch, body: Any
) -> None:
    _compare(
        monkeypatch,
        gemini_parse,
        lambda: gemini_parse.from_gemini_response(body, provider="gemini", model_id="asked"),
    )
