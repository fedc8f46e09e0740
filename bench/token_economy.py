"""Tokens and dollars per session, with and without prompt caching and history compaction.

Runs the example agents (``examples/weather``, ``examples/trip_planner``)
through the real adapters against the loopback emulators of OpenAI Chat,
Anthropic and Gemini, each behind a model of its provider's prefix cache:

- every request is laid out as its prompt (the fixed fields, then the
  messages in order) and counted at four bytes a token;
- OpenAI caches any earlier prefix of 1,024 tokens or more automatically, in
  blocks of 128 tokens (the setting adds ``prompt_cache_key``, which routes
  calls to one cache; under no load the emulator cannot show that);
- Anthropic caches only what a ``cache_control`` mark asks for: a read is
  the longest earlier marked prefix this prompt starts with, a write is the
  rest up to this prompt's last mark (1,024 tokens at least);
- Gemini 2.5 caches implicitly from 1,024 tokens (explicit caches start at
  ``PromptCache.explicit_min_tokens``, far above these agents' prefixes).

The modelled usage is what the emulator reports, so the adapters parse it,
the runs' ledgers carry it, and prices come from genai-prices exactly as for
a real run. A session is several user questions, each continuing the
conversation (``history=``), so the history grows as it does in a chat.

    uv run python bench/token_economy.py [--questions 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextvars
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio

from agentkit import (
    Agent,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    ToolCallPart,
    ToolResultPart,
    Usage,
    load_agent,
    run,
)
from agentkit._compaction import Compaction
from agentkit.testing import AnthropicEmulator, GeminiEmulator, OpenAIChatEmulator, serve_asgi

ROOT = Path(__file__).resolve().parent.parent
BYTES_PER_TOKEN = 4
MESSAGE_KEYS = ("messages", "input", "contents")
#: Request fields that are no part of the prompt: not counted, not cached.
NOT_PROMPT = frozenset(
    {
        "model", "stream", "stream_options", "cachedContent", "prompt_cache_key",
        "prompt_cache_retention", "temperature", "top_p", "max_tokens", "max_completion_tokens",
        "seed", "stop", "stop_sequences", "parallel_tool_calls", "anthropic_version", "store",
    }
)  # fmt: skip

#: The modelled usage of the request being answered, set by the cache model.
_USAGE: contextvars.ContextVar[Usage] = contextvars.ContextVar("usage")


def _strip_marks(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_marks(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_marks(v) for v in value]
    return value


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def layout(body: dict[str, Any]) -> tuple[str, list[int]]:
    """The prompt a body stands for, and the byte offsets just after each cache mark."""
    key = next(k for k in MESSAGE_KEYS if k in body)
    fixed = {k: v for k, v in body.items() if k != key and k not in NOT_PROMPT}
    # Anthropic's prompt order is tools, system, messages: the fixed part first.
    text = _dump(_strip_marks(fixed))
    marks = [len(text)] if "cache_control" in _dump(fixed) else []
    for message in body[key]:
        text += _dump(_strip_marks(message))
        if "cache_control" in _dump(message):
            marks.append(len(text))
    return text, marks


def _common(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _tokens(size: int) -> int:
    return math.ceil(size / BYTES_PER_TOKEN)


@dataclass
class PrefixCache:
    """A provider's prefix cache, as the bench models it.

    Attributes:
        explicit_marks: Only marked prefixes are cached (Anthropic); else any (OpenAI, Gemini).
        min_tokens: The shortest prefix that is cached.
        block: Cached lengths are multiples of this many tokens (1: any length).
    """

    explicit_marks: bool
    min_tokens: int = 1024
    block: int = 1
    seen: list[str] = field(default_factory=list)

    def usage(self, body: dict[str, Any], output_tokens: int) -> Usage:
        prompt, marks = layout(body)
        total = _tokens(len(prompt))
        best = max((_common(prompt, old) for old in self.seen), default=0)
        read = _tokens(best) // self.block * self.block if best else 0
        write = 0
        if self.explicit_marks:
            # Reads only up to a point that an earlier call marked and stored.
            stored = [len(old) for old in self.seen if prompt.startswith(old)]
            read = _tokens(max(stored, default=0))
            if marks:
                self.seen.extend(prompt[:m] for m in marks if _tokens(m) >= self.min_tokens)
                write = (
                    max(0, _tokens(marks[-1]) - read)
                    if _tokens(marks[-1]) >= self.min_tokens
                    else 0
                )
        else:
            self.seen.append(prompt)
        if read < self.min_tokens:
            read = 0
        read = min(read, total)
        return Usage(
            input_tokens=total,
            output_tokens=output_tokens,
            cache_read_input_tokens=read,
            cache_creation_input_tokens=min(write, total - read),
        )


class CachingApp:
    """ASGI middleware: reads the body, models the usage, hands both on to the emulator."""

    def __init__(self, app: Any, cache: PrefixCache, output_tokens: int = 30) -> None:
        self.app, self.cache, self.output_tokens = app, cache, output_tokens

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        body = json.loads(raw)
        _USAGE.set(self.cache.usage(body, self.output_tokens))
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": raw, "more_body": False}
            message: dict[str, Any] = await receive()
            return message

        await self.app(scope, replay, send)


def answered(message: Message | str | list[Any], finish: str = "stop") -> ModelResponse:
    if isinstance(message, str):
        message = Message.assistant(message)
    elif isinstance(message, list):
        message = Message(role="assistant", parts=message)
        finish = "tool_calls"
    return ModelResponse(
        message=message,
        finish_reason=finish,
        usage=_USAGE.get(),
        provider="emulated",
        model_id="emulated",
    )


STYLE_GUIDE = "\nHouse style:\n" + "".join(
    f"- Rule {i}: state the temperature in Celsius first, then the conditions, and name the "
    f"city exactly as the tool spells it; never guess a value the tool did not give.\n"
    for i in range(1, 41)
)

CITIES = ["Paris", "Lisbon", "Oslo", "Cairo", "Lima", "Osaka", "Quito", "Perth", "Turin", "Accra"]


def weather_script(request: ModelRequest) -> ModelResponse:
    last = request.messages[-1]
    results = [p for p in last.parts if isinstance(p, ToolResultPart)]
    if results:
        data = results[0].structured_content or json.loads(results[0].text)
        return answered(
            f"It is {data['temperature_c']}°C and {data['conditions']} in {data['city']}."
        )
    city = last.text.rsplit(" ", 1)[-1].rstrip("?")
    return answered([ToolCallPart(id=f"call_{city}", name="get_weather", arguments={"city": city})])


def trip_script(request: ModelRequest) -> ModelResponse:
    last = request.messages[-1]
    if any(isinstance(p, ToolResultPart) for p in last.parts):
        plan = {
            "departure_local": "2026-12-02T09:00:00+01:00",
            "arrival_local": "2026-12-02T18:40:00+09:00",
            "budget_eur": 1240.0,
            "notes": ["book the early train"],
        }
        if any(t.name == "final_result" for t in request.tools):
            return answered([ToolCallPart(id="call_final", name="final_result", arguments=plan)])
        return answered(json.dumps(plan))
    city = last.text.rsplit(" ", 1)[-1].rstrip("?")
    arguments = {"timezone": "Asia/Tokyo" if city != "Paris" else "Europe/Paris"}
    return answered([ToolCallPart(id=f"call_{city}", name="get_current_time", arguments=arguments)])


@dataclass(frozen=True)
class Provider:
    model: str
    emulator: Callable[..., Any]
    cache: Callable[[], PrefixCache]
    options: Callable[[str], dict[str, Any]]


PROVIDERS = [
    Provider(
        "openai:gpt-4.1-mini",
        OpenAIChatEmulator,
        lambda: PrefixCache(explicit_marks=False, block=128),
        lambda url: {"base_url": f"{url}/v1", "api_key": "sk-test-planted"},
    ),
    Provider(
        "anthropic:claude-sonnet-4-5",
        AnthropicEmulator,
        lambda: PrefixCache(explicit_marks=True),
        lambda url: {"base_url": url, "api_key": "sk-test-planted"},
    ),
    Provider(
        "gemini:gemini-2.5-flash",
        GeminiEmulator,
        lambda: PrefixCache(explicit_marks=False),
        lambda url: {"base_url": url, "api_key": "sk-test-planted"},
    ),
]

VARIANTS: dict[str, tuple[bool, Compaction | None]] = {
    "baseline": (False, None),
    "caching": (True, None),
    "compaction": (False, Compaction(keep_last_turns=6)),
    "both": (True, Compaction(keep_last_turns=6)),
}


@dataclass
class Tally:
    calls: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    written_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, usage: Usage, cost: float | None) -> None:
        self.calls += usage.requests
        self.input_tokens += usage.input_tokens
        self.cached_tokens += usage.cache_read_input_tokens
        self.written_tokens += usage.cache_creation_input_tokens
        self.output_tokens += usage.output_tokens
        self.cost_usd += cost or 0.0


async def session(
    agent: Agent, provider: Provider, script: Callable[..., Any], questions: int, variant: str
) -> Tally:
    cache, compaction = VARIANTS[variant]
    settings = ModelSettings(prompt_cache=True) if cache else None
    agent = replace(agent, compaction=compaction)
    tally = Tally()
    emulator = CachingApp(provider.emulator(script), provider.cache())
    with serve_asgi(emulator) as url:
        history: list[Message] | None = None
        for i in range(questions):
            result = await run(
                agent,
                f"And what about {CITIES[i % len(CITIES)]}?",
                model=provider.model,
                history=history,
                settings=settings,
                model_options=provider.options(url),
            )
            history = result.messages
            assert result.usage is not None
            tally.add(result.usage, result.cost_usd)
    return tally


async def main(questions: int, only: list[str] | None = None) -> dict[str, Any]:
    examples = {
        "weather": (load_agent(ROOT / "examples/weather/agent.yaml"), weather_script),
        "trip_planner": (load_agent(ROOT / "examples/trip_planner/agent.yaml"), trip_script),
    }
    # Production prompts are longer than the example's: the same agent with a
    # house style guide of about 1,500 tokens, which is where caches start to pay.
    weather = examples["weather"][0]
    examples["weather+guide"] = (
        replace(weather, instructions=weather.instructions + STYLE_GUIDE),
        weather_script,
    )
    examples = {k: v for k, v in examples.items() if not only or k in only}
    rows: list[dict[str, Any]] = []
    for name, (agent, script) in examples.items():
        for provider in PROVIDERS:
            base = None
            for variant in VARIANTS:
                tally = await session(agent, provider, script, questions, variant)
                print(f"  {name} {provider.model} {variant}: done", file=sys.stderr)
                base = base or tally
                rows.append(
                    {
                        "example": name,
                        "model": provider.model,
                        "variant": variant,
                        "calls": tally.calls,
                        "input_tokens": tally.input_tokens,
                        "cached_tokens": tally.cached_tokens,
                        "cache_write_tokens": tally.written_tokens,
                        "output_tokens": tally.output_tokens,
                        "hit_rate": tally.cached_tokens / tally.input_tokens,
                        "cost_usd": tally.cost_usd,
                        "tokens_ratio": (tally.input_tokens + tally.output_tokens)
                        / (base.input_tokens + base.output_tokens),
                        "cost_ratio": tally.cost_usd / base.cost_usd if base.cost_usd else None,
                    }
                )
    return {"questions": questions, "rows": rows}


def report(data: dict[str, Any]) -> str:
    header = [
        "example",
        "model",
        "variant",
        "calls",
        "input",
        "cached",
        "written",
        "hit",
        "$/session",
        "tokens x",
        "$ x",
    ]
    lines = [header]
    for r in data["rows"]:
        lines.append(
            [
                r["example"],
                r["model"],
                r["variant"],
                str(r["calls"]),
                str(r["input_tokens"]),
                str(r["cached_tokens"]),
                str(r["cache_write_tokens"]),
                f"{r['hit_rate']:.0%}",
                f"{r['cost_usd']:.5f}",
                f"{r['tokens_ratio']:.2f}",
                "-" if r["cost_ratio"] is None else f"{r['cost_ratio']:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = [
        "  ".join(
            c.ljust(w) if i < 3 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in lines
    ]
    # What a token saved is worth: compaction's token cut against its dollar cut.
    for r in data["rows"]:
        if r["variant"] == "compaction" and r["cost_ratio"] is not None and r["tokens_ratio"] < 1:
            cut = 1 - r["tokens_ratio"]
            out.append(
                f"{r['example']} on {r['model']}: compaction sent {cut:.0%} fewer tokens and "
                f"saved {1 - r['cost_ratio']:.0%} of the dollars; 10% fewer tokens saved "
                f"{(1 - r['cost_ratio']) / cut * 10:.1f}% of the cost"
            )
    out.append(
        f"{data['questions']} questions a session, each continuing the conversation; tokens at "
        f"{BYTES_PER_TOKEN} bytes each; prices from genai-prices; x = ratio to baseline"
    )
    return "\n".join(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--example", action="append", help="weather, weather+guide, trip_planner (default: all)"
    )
    args = parser.parse_args()
    result = anyio.run(main, args.questions, args.example)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(report(result), file=sys.stdout)
