"""Generated conversations survive each adapter's converter and its emulator's parser.

A neutral history (system and user text, images, assistant text, tool calls
with their results, reasoning from several providers) is converted to each
wire by the adapter's pure request converter, and read back by the parser
its loopback emulator uses. What the provider can carry must come back:
every text, every tool call (name and arguments), every tool result's text,
every image. What it cannot carry must not vanish silently: the converter
raises ``UnsupportedFeatureError`` or returns a warning.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from agentkit_adapters.anthropic import to_anthropic_request
from agentkit_adapters.gemini import to_gemini_request
from agentkit_adapters.ollama import to_ollama_request
from agentkit_adapters.openai import to_openai_request
from agentkit_adapters.openai_responses import to_responses_request
from hypothesis import event, given, settings
from hypothesis import strategies as st

from agentkit import (
    ImagePart,
    Message,
    ModelRequest,
    ReasoningPart,
    RunWarning,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from agentkit.exceptions import UnsupportedFeatureError
from agentkit.testing import (
    parse_anthropic_request,
    parse_chat_request,
    parse_gemini_request,
    parse_ollama_request,
    parse_responses_request,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8

Wire = Callable[[ModelRequest], tuple[Any, list[RunWarning]]]


def _responses(request: ModelRequest) -> tuple[Any, list[RunWarning]]:
    prepared = to_responses_request(request, model_id="gpt-4o", stream=False)
    return prepared.body, prepared.warnings


#: (name, the provider that reasons in its own format, to wire, from wire)
WIRES: list[tuple[str, str, Wire, Callable[[Any], ModelRequest]]] = [
    (
        "openai-chat",
        "openai",
        lambda r: to_openai_request(r, model_id="gpt-4o", stream=False),
        parse_chat_request,
    ),
    ("openai-responses", "openai", _responses, parse_responses_request),
    (
        "gemini",
        "gemini",
        lambda r: to_gemini_request(r, model_id="gemini-2.5-flash"),
        lambda b: parse_gemini_request(b, "gemini-2.5-flash"),
    ),
    (
        "ollama",
        "ollama",
        lambda r: to_ollama_request(r, model_id="llama3.2", stream=False),
        parse_ollama_request,
    ),
    (
        "anthropic",
        "anthropic",
        lambda r: to_anthropic_request(r, model_id="claude-sonnet-4-0", stream=False),
        lambda b: parse_anthropic_request(b, "claude-sonnet-4-0"),
    ),
]

_words = st.text(alphabet="abcdefghij é✓", min_size=1, max_size=12).filter(str.strip)
_args = st.dictionaries(
    st.sampled_from(["city", "n", "flag"]),
    st.one_of(_words, st.integers(-5, 5), st.booleans()),
    max_size=3,
)
_image = st.one_of(
    st.just(ImagePart(url="https://example.test/cat.png")),
    st.just(ImagePart(data=PNG, media_type="image/png")),
)
_reasoning = st.builds(
    lambda provider, text: ReasoningPart(
        text=text, signature=f"sig-{provider}", provider=provider, model="m"
    ),
    st.sampled_from(["openai", "gemini", "anthropic", "ollama"]),
    _words,
)


@st.composite
def _turn(draw: st.DrawFn, index: int) -> list[Message]:
    """One exchange: a user message, then maybe tool calls and results, then an answer."""
    user: list[Any] = [TextPart(text=draw(_words))]
    user += draw(st.lists(_image, max_size=1))
    out = [Message(role="user", parts=user)]
    calls = [
        ToolCallPart(
            id=f"call_{index}_{i}",
            name=draw(st.sampled_from(["weather", "add"])),
            arguments=draw(_args),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    if calls:
        before: list[Any] = draw(st.lists(_reasoning, max_size=1))
        before += draw(st.lists(_words.map(lambda t: TextPart(text=t)), max_size=1))
        out.append(Message(role="assistant", parts=[*before, *calls]))
        results = [
            ToolResultPart(call_id=c.id, name=c.name, content=[TextPart(text=draw(_words))])
            for c in calls
        ]
        out.append(Message(role="tool", parts=results))
    out.append(Message(role="assistant", parts=[TextPart(text=draw(_words))]))
    return out


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    messages: list[Message] = []
    if draw(st.booleans()):
        messages.append(Message.system(draw(_words)))
    for index in range(draw(st.integers(1, 3))):
        messages += draw(_turn(index))
    return messages[:-1] if draw(st.booleans()) else messages  # end on the user's turn


def _texts(messages: list[Message], role: str) -> str:
    return "\n".join(
        p.text for m in messages if m.role == role for p in m.parts if isinstance(p, TextPart)
    )


def _calls(messages: list[Message]) -> Counter[str]:
    return Counter(
        json.dumps([p.name, p.arguments], sort_keys=True)
        for m in messages
        for p in m.parts
        if isinstance(p, ToolCallPart)
    )


def _results(messages: list[Message]) -> Counter[str]:
    return Counter(
        "".join(c.text for c in p.content if isinstance(c, TextPart))
        for m in messages
        for p in m.parts
        if isinstance(p, ToolResultPart)
    )


def _count(messages: list[Message], kind: type) -> int:
    return sum(isinstance(p, kind) for m in messages for p in m.parts)


@pytest.mark.parametrize("wire", WIRES, ids=[w[0] for w in WIRES])
@settings(max_examples=25)
@given(messages=conversations())
def test_conversations_round_trip_or_say_what_they_lose(
    wire: tuple[str, str, Wire, Callable[[Any], ModelRequest]], messages: list[Message]
) -> None:
    name, _, to_wire, from_wire = wire
    request = ModelRequest(messages=messages)
    try:
        body, warnings = to_wire(request)
    except UnsupportedFeatureError:
        event(f"{name}: unsupported")  # said out loud: allowed
        return
    event(f"{name}: converted, {len(warnings)} warning(s)")
    back = from_wire(json.loads(json.dumps(body))).messages
    for role in ("system", "user", "assistant"):
        sent = [
            p.text for m in messages if m.role == role for p in m.parts if isinstance(p, TextPart)
        ]
        got = _texts(back, role)
        for text in sent:
            assert text in got, (name, role, text, got)
    assert _calls(back) == _calls(messages), name
    assert _results(back) == _results(messages), name
    lost_images = _count(messages, ImagePart) - _count(back, ImagePart)
    # parse_responses_request reads reasoning back without a provider stamp (the
    # Gemini and Anthropic parsers stamp theirs), so what came back is counted as is.
    lost_reasoning = _count(messages, ReasoningPart) - _count(back, ReasoningPart)
    if lost_images > 0 or lost_reasoning > 0:
        assert warnings, (name, "parts left out without a warning", lost_images, lost_reasoning)
