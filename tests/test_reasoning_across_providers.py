"""Reasoning stays valid across providers: one conversation, every family in turn, a fallback.

Each family is a real adapter against its loopback emulator, scripted to answer
with its provider's own opaque reasoning: Anthropic thinking with a signature
plus ``redacted_thinking``, Gemini thought parts and ``thoughtSignature`` s,
Responses reasoning items with ``encrypted_content``, DeepSeek's
``reasoning_content``, Ollama's ``thinking`` (and Gemini and Claude again on
Vertex, where both share the provider name ``vertex``). OpenAI Chat
Completions has no reasoning on its wire: that family only receives.

The conversation goes round every family twice (``history=result.messages``),
then once through a fallback chain whose first two models, which both made
reasoning earlier, fail with retryable 5xx. For every request body each
server receives (the raw bytes), the test checks that the family's own earlier
reasoning comes back unchanged where its API wants it, that no other family's
signature, encrypted content, redacted data or reasoning text is anywhere in
it, and that the run warned about the reasoning it left out.

Markers look like ``[family|kind|n]``: no family's name is inside another's
marker, so a substring search of the body is exact.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from agentkit import (
    Agent,
    Message,
    ModelAdapter,
    ModelRequest,
    ModelSettings,
    Part,
    ReasoningPart,
    RunEndEvent,
    RunResult,
    TextPart,
    ToolCallPart,
    resolve_model,
    run_stream,
    tool,
)
from agentkit.testing import (
    AnthropicEmulator,
    GeminiEmulator,
    OllamaEmulator,
    OpenAIChatEmulator,
    OpenAIResponsesEmulator,
    VertexEmulator,
    anthropic_error,
    serve_asgi,
)

from .fake_time import FakeTime

TOKEN = "ya29.test-planted"
PROJECT = "reasoning-project"
KEY = "sk-test-planted"


@tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"the value of {key} is 42"


@dataclass
class Record:
    """One piece of reasoning a family made, and the part that followed it."""

    text: str | None
    signature: str | None = None
    redacted: str | None = None
    item_id: str | None = None
    anchor: str = ""  # the tool call's ``key`` argument, or the answer's text
    is_call: bool = True


@dataclass
class Family:
    """One provider family: its scripted model, its server, what it made and received."""

    name: str
    style: str  # how its reasoning travels: anthropic, gemini, responses, field, none
    made: list[Record] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    known: list[int] = field(default_factory=list)  # len(made) when each request came
    failing: bool = False

    def marker(self, kind: str, n: int) -> str:
        return f"[{self.name}|{kind}|{n}]"

    def answer(self, request: ModelRequest) -> list[Part]:
        self.known.append(len(self.made))
        if self.failing:
            raise anthropic_error(529 if self.name == "vxclaude" else 500, "Overloaded")
        n = len(self.made)
        is_call = request.messages[-1].role != "tool"
        anchor = f"{self.name}-key-{n}" if is_call else f"{self.name} answers {n}"
        last: Part = (
            ToolCallPart(id=f"c{n}", name="lookup", arguments={"key": anchor})
            if is_call
            else TextPart(text=anchor)
        )
        text = self.marker("thinks", n)
        record = Record(text=text, anchor=anchor, is_call=is_call)
        parts: list[Part]
        match self.style:
            case "anthropic":
                record.signature = self.marker("sig", n)
                record.redacted = self.marker("redacted", n)
                parts = [
                    ReasoningPart(text=text, signature=record.signature),
                    ReasoningPart(signature=record.redacted),
                ]
            case "gemini":
                # A thought summary, then the signature on the call or answer it belongs to.
                record.signature = self.marker("sig", n)
                parts = [ReasoningPart(text=text), ReasoningPart(signature=record.signature)]
            case "responses":
                record.signature = self.marker("encrypted", n)
                record.item_id = f"rs_{self.name}_{n}"
                parts = [ReasoningPart(text=text, signature=record.signature, id=record.item_id)]
            case "field":
                parts = [ReasoningPart(text=text)]
            case _:
                record.text = None
                parts = []
        if record.text is not None:
            self.made.append(record)
        else:
            self.made.append(Record(text=None, anchor=anchor, is_call=is_call))
        return [*parts, last]

    def foreign_markers(self) -> list[str]:
        """Every marker this family put on the wire: text, signatures, redacted data, ids."""
        found: list[str] = []
        for record in self.made:
            found += [
                v
                for v in (record.text, record.signature, record.redacted, record.item_id)
                if v is not None
            ]
        return found


class RawBodies:
    """ASGI middleware keeping the raw body of every request before the emulator reads it."""

    def __init__(self, app: Any, bodies: list[bytes]) -> None:
        self.app = app
        self.bodies = bodies

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks = bytearray()
        while True:
            message = await receive()
            chunks += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(bytes(chunks))
        sent = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(chunks), "more_body": False}
            return await receive()  # type: ignore[no-any-return]

        await self.app(scope, replay, send)


def _vertex(model_id: str, url: str) -> ModelAdapter:
    options = {"project": PROJECT, "location": "us-east5", "credentials": Credentials(token=TOKEN)}
    return resolve_model(f"vertex:{model_id}", base_url=url, **options)


#: name -> (style, emulator factory, adapter factory given the root URL)
FAMILIES: dict[str, tuple[str, Callable[[Any], Any], Callable[[str], ModelAdapter]]] = {
    "claude": (
        "anthropic",
        AnthropicEmulator,
        lambda url: resolve_model("anthropic:claude-sonnet-4-5", base_url=url, api_key=KEY),
    ),
    "gemini": (
        "gemini",
        GeminiEmulator,
        lambda url: resolve_model("gemini:gemini-3-pro-preview", base_url=url, api_key=KEY),
    ),
    "gpt5resp": (
        "responses",
        OpenAIResponsesEmulator,
        lambda url: resolve_model("openai-responses:gpt-5", base_url=f"{url}/v1", api_key=KEY),
    ),
    "gpt41chat": (
        "none",
        OpenAIChatEmulator,
        lambda url: resolve_model("openai:gpt-4.1", base_url=f"{url}/v1", api_key=KEY),
    ),
    "deepseek": (
        "field",
        lambda f: OpenAIChatEmulator(f, reasoning_field="reasoning_content"),
        lambda url: resolve_model("deepseek:deepseek-reasoner", base_url=f"{url}/v1", api_key=KEY),
    ),
    "ollama": (
        "field",
        OllamaEmulator,
        lambda url: resolve_model("ollama:qwen3", base_url=url),
    ),
    "vxgemini": (
        "gemini",
        lambda f: VertexEmulator(f, token=TOKEN, project=PROJECT),
        lambda url: _vertex("gemini-2.5-flash", url),
    ),
    "vxclaude": (
        "anthropic",
        lambda f: VertexEmulator(f, token=TOKEN, project=PROJECT),
        lambda url: _vertex("claude-sonnet-4-5@20250929", url),
    ),
}


@pytest.fixture
def families() -> Iterator[dict[str, tuple[Family, ModelAdapter]]]:
    out: dict[str, tuple[Family, ModelAdapter]] = {}
    with ExitStack() as stack:
        for name, (style, emulator, adapter) in FAMILIES.items():
            family = Family(name, style)
            url = stack.enter_context(serve_asgi(RawBodies(emulator(family.answer), family.bodies)))
            out[name] = (family, adapter(url))
        yield out


# -- where each API wants its own reasoning back ---------------------------------------------


def _anthropic_blocks(block: dict[str, Any], record: Record) -> bool:
    if record.is_call:
        return block.get("type") == "tool_use" and block["input"].get("key") == record.anchor
    return block.get("type") == "text" and block["text"] == record.anchor


def _check_anthropic(body: dict[str, Any], record: Record) -> None:
    for turn in body["messages"]:
        content = turn["content"]
        for i, block in enumerate(content if isinstance(content, list) else []):
            if turn["role"] == "assistant" and _anthropic_blocks(block, record):
                # Thinking first, as made: text and signature, then the redacted data.
                assert content[i - 2 : i] == [
                    {"type": "thinking", "thinking": record.text, "signature": record.signature},
                    {"type": "redacted_thinking", "data": record.redacted},
                ]
                return
    raise AssertionError(f"{record.anchor} is not in the request")


def _answer_span(parts: list[dict[str, Any]], start: int, anchor: str) -> int | None:
    """The end of the text parts from ``start`` that spell ``anchor`` (a stream may split it)."""
    text = ""
    for end in range(start, len(parts)):
        if "text" not in parts[end] or parts[end].get("thought"):
            return None
        text += parts[end]["text"]
        if text == anchor:
            return end
    return None


def _check_gemini(body: dict[str, Any], record: Record) -> None:
    for content in body["contents"]:
        parts = content["parts"]
        for i, part in enumerate(parts):
            call = part.get("functionCall") or {}
            end = (
                (i if (call.get("args") or {}).get("key") == record.anchor else None)
                if record.is_call
                else _answer_span(parts, i, record.anchor)
            )
            if end is not None:
                assert content["role"] == "model"
                # The signature on the very part it came on (a streamed answer's last
                # piece), the thought summary just before the call or answer.
                assert parts[end].get("thoughtSignature") == record.signature
                assert all("thoughtSignature" not in p for p in parts[i:end])
                assert parts[i - 1] == {"text": record.text, "thought": True}
                return
    raise AssertionError(f"{record.anchor} is not in the request")


def _check_responses(body: dict[str, Any], record: Record) -> None:
    items = body["input"]
    for i, item in enumerate(items):
        matches = (
            item.get("type") == "function_call" and record.anchor in item["arguments"]
            if record.is_call
            else item.get("role") == "assistant" and record.anchor in json.dumps(item["content"])
        )
        if matches:
            assert items[i - 1] == {
                "type": "reasoning",
                "id": record.item_id,
                "summary": [{"type": "summary_text", "text": record.text}],
                "encrypted_content": record.signature,
            }
            return
    raise AssertionError(f"{record.anchor} is not in the request")


def _check_field(body: dict[str, Any], record: Record, key: str) -> None:
    for message in body["messages"]:
        if message["role"] == "assistant" and record.anchor in json.dumps(message):
            assert message.get(key) == record.text
            return
    raise AssertionError(f"{record.anchor} is not in the request")


def _check_own(family: Family, body: dict[str, Any], record: Record) -> None:
    match family.style:
        case "anthropic":
            _check_anthropic(body, record)
        case "gemini":
            _check_gemini(body, record)
        case "responses":
            _check_responses(body, record)
        case "field":
            _check_field(
                body, record, "thinking" if family.name == "ollama" else "reasoning_content"
            )
        case _:
            pass


def _check_every_request(families: dict[str, tuple[Family, ModelAdapter]]) -> int:
    checked = 0
    for family, _ in families.values():
        assert len(family.bodies) == len(family.known), family.name
        others = [
            m
            for other, _ in families.values()
            if other is not family
            for m in other.foreign_markers()
        ]
        for raw, known in zip(family.bodies, family.known, strict=True):
            text = raw.decode()
            leaked = [m for m in others if m in text]
            assert not leaked, f"{family.name} was sent other providers' reasoning: {leaked}"
            body = json.loads(raw)
            for record in family.made[:known]:
                if record.text is not None:
                    _check_own(family, body, record)
            checked += 1
    return checked


# -- the conversation ------------------------------------------------------------------------

AGENT = Agent(name="reasoner", instructions="Think, look things up, answer.", tools=[lookup])
SETTINGS = ModelSettings(reasoning_effort="low")


async def _turn(
    model: ModelAdapter | list[ModelAdapter],
    question: str,
    history: list[Message],
    stream: bool,
    **options: Any,
) -> RunResult:
    events = [
        e
        async for e in run_stream(
            AGENT,
            question,
            model=model,
            history=history,
            settings=SETTINGS,
            stream=stream,
            **options,
        )
    ]
    final = events[-1]
    assert isinstance(final, RunEndEvent)
    return final.result


def _reasoning_warnings(result: RunResult, provider: str) -> list[str]:
    return [
        w.message for w in result.warnings if w.feature == "reasoning" and w.provider == provider
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_each_provider_gets_back_only_its_own_reasoning(
    families: dict[str, tuple[Family, ModelAdapter]], stream: bool
) -> None:
    history: list[Message] = []
    order = list(families) * 2
    for turn, name in enumerate(order):
        family, adapter = families[name]
        result = await _turn(adapter, f"question {turn} for {name}", history, stream)
        assert result.output == f"{name} answers {len(family.made) - 1}"
        if turn > 0:
            # Foreign reasoning is in the history: the adapter says it left it out.
            assert _reasoning_warnings(result, adapter.provider), (name, result.warnings)
        else:
            assert not _reasoning_warnings(result, adapter.provider)
        history = result.messages

    # A chain whose first two models made reasoning earlier and now fail with a 5xx.
    claude, vxclaude, responses = families["claude"], families["vxclaude"], families["gpt5resp"]
    claude[0].failing = vxclaude[0].failing = True
    before = len(claude[0].bodies), len(vxclaude[0].bodies)
    time = FakeTime()
    result = await _turn(
        [claude[1], vxclaude[1], responses[1]],
        "the fallback question",
        history,
        stream,
        retry=time.policy(max_attempts=2),
    )
    assert result.model == f"{responses[1].provider}:{responses[1].model_id}"
    assert [w.kind for w in result.warnings].count("fallback") >= 1
    # Two model calls (the tool call, the answer), each tried twice on both failing models.
    assert len(claude[0].bodies) - before[0] == 4
    assert len(vxclaude[0].bodies) - before[1] == 4
    history = result.messages

    # Back on the first model, which now answers: its reasoning survived the detour.
    claude[0].failing = False
    result = await _turn(claude[1], "the last question", history, stream)
    assert result.output.startswith("claude answers")

    checked = _check_every_request(families)
    assert checked == 2 * 2 * len(families) + 4 + 4 + 2 + 2
