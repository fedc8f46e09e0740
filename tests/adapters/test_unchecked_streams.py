"""Streamed answers built without validation are the objects the validating constructors build.

``StreamAccumulator`` (and ``response_events``) build their parts, messages,
responses and events unvalidated when the adapter's values are of their
fields' types, and through pydantic otherwise. Each recorded real stream is
read twice by its family's chunk reader: as shipped, and with every such
build swapped for the constructor call it stands for (how they were built
before). Both must give the same events, field sets and JSON; and a value a
third-party adapter gets wrong must raise the same error both ways.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import agentkit_adapters.anthropic._parse as anthropic_parse
import agentkit_adapters.gemini._parse as gemini_parse
import agentkit_adapters.ollama._parse as ollama_parse
import agentkit_adapters.openai._parse as openai_parse
import agentkit_adapters.openai_responses._parse as responses_parse
import pytest
from pydantic import BaseModel

import agentkit._stream as stream_module
from agentkit import (
    Message,
    ModelResponse,
    ReasoningPart,
    ResponseEndEvent,
    ResponseStartEvent,
    RunWarning,
    StreamAccumulator,
    TextPart,
    ToolCallPart,
    ToolCallStartEvent,
    Usage,
)
from agentkit.adapter import SSEDecoder, response_events, unchecked

from .test_unchecked_responses import CHAT, WARNINGS, assert_same

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real_traffic"


def _validating_trusted(cls: type[BaseModel], values: dict[str, Any], fields: set[str]) -> Any:
    return cls(**{name: values[name] for name in fields})


def _validated(patch: pytest.MonkeyPatch) -> None:
    """Every unvalidated build of ``_stream`` replaced by its constructor call."""
    patch.setattr(stream_module, "trusted", _validating_trusted)
    patch.setattr(
        stream_module,
        "_response_start",
        lambda provider, model_id, response_id: ResponseStartEvent(
            provider=provider, model_id=model_id, response_id=response_id
        ),
    )
    patch.setattr(
        stream_module,
        "_call_start",
        lambda index, call_id, name: ToolCallStartEvent(index=index, id=call_id, name=name),
    )
    patch.setattr(
        stream_module,
        "_call_part",
        lambda call_id, name, arguments, invalid, raw: ToolCallPart(
            id=call_id, name=name, arguments=arguments, raw_arguments=invalid
        ),
    )
    patch.setattr(stream_module, "_message", lambda parts: Message(role="assistant", parts=parts))
    patch.setattr(
        stream_module,
        "_response",
        lambda message, finish, raw, usage, provider, model_id, response_id, refusal, warnings: (
            ModelResponse(
                message=message,
                finish_reason=finish,
                raw_finish_reason=raw,
                usage=usage,
                provider=provider,
                model_id=model_id,
                response_id=response_id,
                refusal=refusal,
                warnings=warnings,
            )
        ),
    )


def _outcome(read: Callable[[], list[Any]]) -> list[Any] | Exception:
    try:
        return read()
    except Exception as exc:  # compared below: both ways must raise alike
        return exc


def both_ways(monkeypatch: pytest.MonkeyPatch, read: Callable[[], list[Any]]) -> list[Any] | None:
    """``read()`` as shipped and validated; the shipped events, or None when both raised alike."""
    fast = _outcome(read)
    with monkeypatch.context() as patch:
        _validated(patch)
        validated = _outcome(read)
    if isinstance(fast, Exception) or isinstance(validated, Exception):
        assert type(fast) is type(validated), (fast, validated)
        assert str(fast) == str(validated)
        return None
    assert len(fast) == len(validated)
    for mine, theirs in zip(fast, validated, strict=True):
        assert_same(mine, theirs)
    return fast


def _payloads(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(event name, payload)`` of a recorded stream, ``[DONE]`` left out."""
    if path.suffix == ".sse":
        decoder = SSEDecoder()
        events = decoder.feed(path.read_bytes()) + decoder.flush()
        frames = [(e.event, e.data) for e in events]
    else:
        lines = path.read_text().splitlines()
        frames = [("message", line) for line in lines if line.strip()]
    for name, data in frames:
        if data.strip() != "[DONE]":
            yield name, json.loads(data)


def _family(path: Path) -> str:
    family, case = path.parts[-3], path.parts[-2]
    if family == "azure_openai":
        return "responses" if "responses" in case else "chat"
    if family == "vertex":
        return "anthropic" if case.startswith("claude") else "gemini"
    return {
        "openai_chat": "chat",
        "openai_compatible": "chat",
        "openai_responses": "responses",
        "open_responses": "responses",
    }.get(family, family)


def _read(path: Path, warnings: list[RunWarning] | None) -> Callable[[], list[Any]]:
    """A reader of the recording, as its family's adapter reads it."""
    family = _family(path)

    def read() -> list[Any]:
        events: list[Any] = []
        if family == "chat":
            chat = openai_parse.OpenAIChunkReader("openai", "asked", warnings=warnings)
            for _, payload in _payloads(path):
                events += chat.feed(payload)
            return events + chat.finish(done=True)
        if family == "responses":
            responses = responses_parse.ResponsesEventReader("openai", "asked", warnings=warnings)
            for name, payload in _payloads(path):
                events += responses.feed(payload, name)
            return events + responses.finish()
        reader: Any = {
            "anthropic": anthropic_parse.AnthropicStreamReader,
            "gemini": gemini_parse.GeminiChunkReader,
            "ollama": ollama_parse.OllamaChunkReader,
        }[family](family, "asked", warnings=warnings)
        for _, payload in _payloads(path):
            events += reader.feed(payload)
        return events + reader.finish()

    return read


STREAMS = sorted(
    p
    for pattern in ("*/*.sse", "*/*.chunks.jsonl", "*/*.ndjson")
    for p in FIXTURES.glob(f"*/{pattern}")
)


def test_there_are_recorded_streams_of_every_family() -> None:
    families = {_family(p) for p in STREAMS}
    assert families == {"chat", "responses", "anthropic", "gemini", "ollama"}
    assert len(STREAMS) >= 40


@pytest.mark.parametrize("path", STREAMS, ids=[f"{p.parts[-2]}/{p.name}" for p in STREAMS])
@pytest.mark.parametrize("warnings", [None, WARNINGS])
def test_recorded_streams_build_the_validated_objects(
    monkeypatch: pytest.MonkeyPatch, path: Path, warnings: list[RunWarning] | None
) -> None:
    events = both_ways(monkeypatch, _read(path, warnings))
    if events is None:
        return  # an error stream: both ways raised the same error
    end = events[-1]
    assert isinstance(end, ResponseEndEvent)
    # Kept, not shared: the response owns its lists, as a validated one does.
    assert end.response.warnings is not warnings
    assert end.response.warnings == (warnings or [])


def test_most_recorded_streams_end_in_a_response() -> None:
    # The comparison above is only worth something when the streams get that far.
    ended = 0
    for path in STREAMS:
        outcome = _outcome(_read(path, None))
        ended += isinstance(outcome, list) and isinstance(outcome[-1], ResponseEndEvent)
    assert ended >= len(STREAMS) - 3


def _accumulate(scenario: Callable[[StreamAccumulator], Any]) -> Callable[[], list[Any]]:
    def read() -> list[Any]:
        acc = StreamAccumulator("p", "m")
        events = [acc.start("r1")]
        return events + list(scenario(acc) or [])

    return read


class _Text(TextPart):
    pass


class _Usage(Usage):
    pass


class _Word(str):
    pass


#: What a third-party adapter may hand the accumulator; fine or not, both ways agree.
THIRD_PARTY: dict[str, Callable[[StreamAccumulator], Any]] = {
    "valid: every kind of part": lambda acc: (
        acc.add_reasoning("hm")
        + acc.add_text("hi")
        + acc.add_refusal("no")
        + acc.whole_call(0, "c0", "f", {"a": {"b": [1]}})
        + acc.start_call(1, "c1", "g")
        + acc.add_arguments(1, '{"x": ')
        + acc.finish(
            "tool_calls",
            raw_finish_reason="tool_use",
            usage=Usage(input_tokens=3),
            warnings=list(WARNINGS),
        )
    ),
    "an unknown finish reason": lambda acc: acc.finish("bogus"),  # type: ignore[arg-type]
    "a finish reason that is a number": lambda acc: acc.finish(3),  # type: ignore[arg-type]
    "a finish reason of a str subclass": lambda acc: acc.finish(_Word("stop")),
    "a raw finish reason that is a number": lambda acc: acc.finish(
        "stop",
        raw_finish_reason=5,  # type: ignore[arg-type]
    ),
    "a raw finish reason of a str subclass": lambda acc: acc.finish(
        "stop", raw_finish_reason=_Word("end")
    ),
    "usage as a dict": lambda acc: acc.finish("stop", usage={"input_tokens": 2}),  # type: ignore[arg-type]
    "usage as a bad dict": lambda acc: acc.finish("stop", usage={"input_tokens": -1}),  # type: ignore[arg-type]
    "usage of a subclass": lambda acc: acc.finish("stop", usage=_Usage(output_tokens=1)),
    "warnings as a tuple": lambda acc: acc.finish("stop", warnings=tuple(WARNINGS)),  # type: ignore[arg-type]
    "warnings as dicts": lambda acc: acc.finish(
        "stop",
        warnings=[{"kind": "other", "message": "m"}],  # type: ignore[list-item]
    ),
    "a warning of an unknown kind": lambda acc: acc.finish(
        "stop",
        warnings=[{"kind": "nope", "message": "m"}],  # type: ignore[list-item]
    ),
    "a call id that is a number": lambda acc: acc.start_call(0, 5, "f"),  # type: ignore[arg-type]
    "a call name that is None": lambda acc: acc.start_call(0, "c", None),  # type: ignore[arg-type]
    "a call index that is a bool": lambda acc: (
        acc.start_call(True, "c", "f") + acc.finish("tool_calls")  # type: ignore[arg-type]
    ),
    "a call index that is a str": lambda acc: (
        acc.start_call("0", "c", "f") + acc.finish("tool_calls")  # type: ignore[arg-type]
    ),
    "arguments with a key that is a number": lambda acc: acc.whole_call(
        0,
        "c",
        "f",
        {1: "x"},  # type: ignore[dict-item]
    ),
    "arguments as an ordered dict": lambda acc: (
        acc.whole_call(0, "c", "f", OrderedDict(a=1)) + acc.finish("tool_calls")
    ),
    "arguments with keys of a str subclass": lambda acc: (
        acc.whole_call(0, "c", "f", {_Word("a"): 1}) + acc.finish("tool_calls")
    ),
    "invalid arguments of a str subclass": lambda acc: (
        acc.start_call(0, "c", "f") + acc.end_call(0, _Word("{not json")) + acc.finish("stop")
    ),
    "a part given as a dict": lambda acc: (
        acc.add_part({"type": "text", "text": "x"}),  # type: ignore[arg-type, func-returns-value]
        acc.finish("stop"),
    )[1],
    "a part given as a bad dict": lambda acc: (
        acc.add_part({"type": "nothing"}),  # type: ignore[arg-type, func-returns-value]
        acc.finish("stop"),
    )[1],
    "a part of a subclass": lambda acc: (
        acc.add_part(_Text(text="x")),  # type: ignore[func-returns-value]
        acc.finish("stop"),
    )[1],
    "a reasoning part of the adapter's": lambda acc: (
        acc.add_part(ReasoningPart(signature="sig", provider="p")),  # type: ignore[func-returns-value]
        acc.finish("stop"),
    )[1],
}


def _with_provider(provider: Any, model_id: Any = "m", response_id: Any = None) -> Any:
    def read() -> list[Any]:
        acc = StreamAccumulator(provider, "m")
        events = [acc.start(response_id, model_id)]
        return events + acc.add_reasoning("r") + acc.add_text("t") + acc.finish("stop")

    return read


@pytest.mark.parametrize("scenario", list(THIRD_PARTY.values()), ids=list(THIRD_PARTY))
def test_third_party_values_give_what_validation_gives(
    monkeypatch: pytest.MonkeyPatch, scenario: Callable[[StreamAccumulator], Any]
) -> None:
    both_ways(monkeypatch, _accumulate(scenario))


@pytest.mark.parametrize(
    ("provider", "model_id", "response_id"),
    [("p", "m", "r"), (5, "m", None), ("p", 7, None), ("p", "m", 12), (_Word("p"), "m", None)],
)
def test_provider_model_and_id_of_the_wrong_type_raise_as_before(
    monkeypatch: pytest.MonkeyPatch, provider: Any, model_id: Any, response_id: Any
) -> None:
    both_ways(monkeypatch, _with_provider(provider, model_id, response_id))


def test_bad_values_still_raise_validation_errors() -> None:
    # The cheap checks must not let a bad value through unnoticed.
    for scenario in (
        "an unknown finish reason",
        "a call id that is a number",
        "usage as a bad dict",
    ):
        with pytest.raises(ValueError, match="validation error"):
            _accumulate(THIRD_PARTY[scenario])()
    with pytest.raises(ValueError, match="model_id"):
        _with_provider("p", 7)()


def test_the_response_owns_its_parts_and_the_adapters_arguments() -> None:
    acc = StreamAccumulator("p", "m")
    acc.start()
    arguments = {"a": [1]}
    (_, _, end) = acc.whole_call(0, "c", "f", arguments)
    (last,) = acc.finish("tool_calls")
    assert end.call.arguments == arguments
    assert end.call.arguments is not arguments  # copied, as validation copies it
    response = last.response
    assert response.message.parts is not acc._parts
    acc.add_text("more")
    assert len(response.message.parts) == 1


def _whole_answers() -> Iterator[tuple[str, ModelResponse]]:
    for name, body in CHAT:
        try:
            yield name, openai_parse.from_openai_response(body, provider="openai", model_id="m")
        except Exception:  # a body the parser refuses has no events to compare
            continue


WHOLE = list(_whole_answers())
#: Whole responses an adapter may hand back, valid or built unchecked from wrong values.
ODD_RESPONSES: dict[str, ModelResponse] = {
    "reasoning, calls, refusal": ModelResponse(
        message=Message(
            role="assistant",
            parts=[
                ReasoningPart(text="hm", provider="p"),
                ReasoningPart(signature="s"),
                TextPart(text="a"),
                ToolCallPart(id="c", name="f", arguments={"x": 1}),
                ToolCallPart(id="d", name="g", raw_arguments="{bad"),
            ],
        ),
        finish_reason="tool_calls",
        provider="p",
        model_id="m",
        refusal="no",
    ),
    "a provider that is a number": unchecked(
        ModelResponse,
        message=Message(role="assistant", parts=[]),
        finish_reason="stop",
        provider=5,  # type: ignore[arg-type]
        model_id="m",
    ),
    "text that is a number": unchecked(
        ModelResponse,
        message=unchecked(Message, role="assistant", parts=[unchecked(TextPart, text=3)]),  # type: ignore[arg-type]
        finish_reason="stop",
        provider="p",
        model_id="m",
    ),
    "a call id of a str subclass": unchecked(
        ModelResponse,
        message=unchecked(
            Message,
            role="assistant",
            parts=[unchecked(ToolCallPart, id=_Word("c"), name="f", arguments={})],
        ),
        finish_reason="tool_calls",
        provider="p",
        model_id="m",
    ),
    "raw arguments that are a number": unchecked(
        ModelResponse,
        message=unchecked(
            Message,
            role="assistant",
            parts=[unchecked(ToolCallPart, id="c", name="f", arguments={}, raw_arguments=7)],  # type: ignore[arg-type]
        ),
        finish_reason="tool_calls",
        provider="p",
        model_id="m",
    ),
    "a refusal that is a number": unchecked(
        ModelResponse,
        message=Message(role="assistant", parts=[]),
        finish_reason="refusal",
        provider="p",
        model_id="m",
        refusal=9,  # type: ignore[arg-type]
    ),
}


def test_there_are_recorded_whole_answers_to_replay() -> None:
    assert len(WHOLE) >= 10


@pytest.mark.parametrize(
    "response",
    [r for _, r in WHOLE] + list(ODD_RESPONSES.values()),
    ids=[n for n, _ in WHOLE] + list(ODD_RESPONSES),
)
def test_response_events_are_the_validated_events(
    monkeypatch: pytest.MonkeyPatch, response: ModelResponse
) -> None:
    events = both_ways(monkeypatch, lambda: list(response_events(response)))
    if events is not None:
        assert events[-1].response is response
