"""The fault matrix: every planned fault through every HTTP adapter, streaming and not.

Shared by ``test_fault_matrix.py`` (which asserts) and ``table.py`` (which
prints the matrix for ``.ci/fault-matrix.sh``). A case is one run of a
one-tool agent through ``agentkit.run``/``run_stream`` against a
``FaultServer``; its outcome is ``recovered`` (with the retries the result
shows) or the class of the error the run raised, and the texts it produced
(result, messages, events, the error chain, log records) are kept so the
planted key can be looked for in all of them.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from agentkit import (
    Agent,
    Message,
    ModelRequest,
    ModelSettings,
    RetryPolicy,
    RunEndEvent,
    ToolCallPart,
    ToolResultPart,
    run,
    run_stream,
    tool,
)
from agentkit.exceptions import AgentkitError, RunError
from agentkit.testing import Fault, FaultServer, serve_asgi
from agentkit.testing._faults import Wire

#: The key every adapter is given; it must never come back out.
KEY = f"sk-test-planted-{secrets.token_hex(12)}"

#: Deadline (s) of a call under a stall or a trickle; 5 s for every other case.
#: At 0.2 s a healthy retry once outlasted it too, on a loaded CI machine (the
#: case saw 2 retries, not 1); 0.5 s keeps every case far under ``BOUND``.
SHORT = 0.5
LONG = 5.0

ANSWER = "It is sunny in Paris."


@dataclass(frozen=True)
class AdapterCase:
    """One adapter: its model string, the wire it speaks, and how its base URL looks."""

    name: str
    model: str
    wire: Wire
    suffix: str = ""


ADAPTERS: tuple[AdapterCase, ...] = (
    AdapterCase("openai", "openai:gpt-4.1-mini", "openai-chat", "/v1"),
    AdapterCase("openai-responses", "openai-responses:gpt-4.1-mini", "openai-responses", "/v1"),
    AdapterCase("gemini", "gemini:gemini-2.5-flash", "gemini"),
    AdapterCase("ollama", "ollama:llama3.2", "ollama"),
    AdapterCase("anthropic", "anthropic:claude-sonnet-4-5", "anthropic"),
    AdapterCase("groq", "groq:llama-3.3-70b-versatile", "openai-chat", "/v1"),
)


@dataclass(frozen=True)
class FaultCase:
    """A fault (one or more planned requests) and the outcomes it may end in.

    ``allowed`` names ``recovered`` and/or exception classes (the run's own,
    or its ``cause``'s for a ``ModelCallError``); ``retries`` is how many
    retries a recovery must show.
    """

    name: str
    faults: tuple[Fault, ...]
    allowed: frozenset[str]
    retries: int = 0
    deadline: float = LONG


def _case(
    name: str, *faults: Fault, allowed: set[str], retries: int = 0, deadline: float = LONG
) -> FaultCase:
    return FaultCase(name, faults, frozenset(allowed), retries, deadline)


# After the deadline a timed-out call is retried; a stream that already showed
# text cannot be retried (the user saw it), so it ends in the named error.
_TIMEOUT = {"recovered", "ProviderTimeoutError"}

FAULTS: tuple[FaultCase, ...] = (
    _case("429", Fault.error_status(429), allowed={"recovered"}, retries=1),
    _case(
        "429 Retry-After",
        Fault.error_status(429, retry_after=7),
        allowed={"recovered"},
        retries=1,
    ),
    _case("429 on every attempt", *[Fault.error_status(429)] * 3, allowed={"RateLimitError"}),
    _case("500", Fault.error_status(500), allowed={"recovered"}, retries=1),
    _case("502", Fault.error_status(502), allowed={"recovered"}, retries=1),
    _case("503", Fault.error_status(503), allowed={"recovered"}, retries=1),
    _case(
        "reset mid-body",
        Fault.reset(),
        allowed={"recovered", "ProviderConnectionError"},
        retries=1,
    ),
    _case("stream cut half-way", Fault.cut(), allowed={"UnexpectedResponseError"}),
    _case("stall", Fault.stall(), allowed=_TIMEOUT, retries=1, deadline=SHORT),
    _case("keep-alive trickle", Fault.trickle(), allowed=_TIMEOUT, retries=1, deadline=SHORT),
    _case("malformed JSON", Fault.malformed_json(), allowed={"UnexpectedResponseError"}),
    _case("invalid UTF-8", Fault.invalid_utf8(), allowed={"UnexpectedResponseError"}),
    _case("huge body (2 MB)", Fault.huge_body(2_000_000), allowed={"recovered"}),
    _case("huge error (5 MB)", Fault.huge_error(5_000_000), allowed={"BadRequestError"}),
    _case("unknown events", Fault.unknown_events(), allowed={"recovered"}),
    _case("non-JSON tool arguments", Fault.bad_arguments(), allowed={"recovered"}),
    _case("unknown tool", Fault.unknown_tool(), allowed={"recovered"}),
    _case("200 carrying an error", Fault.error_in_200(), allowed={"recovered"}, retries=1),
    _case("401 echoing the key", Fault.echo_key(), allowed={"AuthenticationError"}),
)


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


AGENT = Agent(name="weather", instructions="Be brief.", tools=[get_weather], tool_retries=2)


def script(request: ModelRequest) -> Message | str:
    """The model: call ``get_weather`` until it has answered, then say the weather."""
    if not request.tools:  # an agent without the tool (the CLI's)
        return ANSWER
    last = request.messages[-1]
    # Most wires do not carry is_error: the tool's own words say it worked.
    results = [p for p in last.parts if isinstance(p, ToolResultPart)]
    if last.role == "tool" and any("sunny in" in r.text for r in results):
        return ANSWER
    call = ToolCallPart(id="call_1", name="get_weather", arguments={"city": "Paris"})
    return Message(role="assistant", parts=[call])


@dataclass
class Outcome:
    """What one case ended in, and every text it produced."""

    label: str
    kind: str
    retries: int
    seconds: float
    error: BaseException | None = None
    output: Any = None
    texts: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def show(self) -> str:
        """The matrix cell: ``recovered (2 retries)``, ``RateLimitError``..."""
        if self.kind == "recovered":
            if not self.retries:
                return "recovered"
            return f"recovered ({self.retries} retr{'y' if self.retries == 1 else 'ies'})"
        return self.kind


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(f"{record.getMessage()} {record.args!r} {record.exc_text or ''}")


@contextmanager
def servers() -> Iterator[dict[Wire, tuple[FaultServer, str]]]:
    """One ``FaultServer`` per wire, served on loopback for as long as the block runs."""
    found: dict[Wire, tuple[FaultServer, str]] = {}
    with ExitStack() as stack:
        for wire in {a.wire for a in ADAPTERS}:
            # Large chunks: a 2 MB answer in a few hundred frames, not a million.
            server = FaultServer(wire, script, chunk_size=4096)
            found[wire] = (server, stack.enter_context(serve_asgi(server)))
        yield found


def chain(error: BaseException | None) -> Iterator[Any]:
    """The error, everything it chains, and everything those hold, once each."""
    seen: set[int] = set()
    todo: list[Any] = [error]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen or isinstance(item, str | int | float | bool):
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, BaseException):
            todo += [item.__cause__, item.__context__, *item.args, *vars(item).values()]
        elif isinstance(item, list | tuple | set):
            todo += list(item)
        elif isinstance(item, dict):
            todo += list(item.values())


def chain_texts(error: BaseException | None) -> list[str]:
    """``str`` and ``repr`` of everything along the chain, request headers included."""
    texts = []
    for item in chain(error):
        texts += [repr(item)]
        if isinstance(item, BaseException):
            texts += [str(item), repr(vars(item))]
            request = getattr(item, "_request", None)
            if request is not None:
                texts.append(repr(dict(request.headers)))
    return texts


async def run_case(
    adapter: AdapterCase,
    fault: FaultCase,
    stream: bool,
    served: dict[Wire, tuple[FaultServer, str]],
) -> Outcome:
    """Plan ``fault`` on the adapter's server, run the agent once, and say what happened."""
    server, root = served[adapter.wire]
    server.plan(*fault.faults)
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    policy = RetryPolicy(max_attempts=3, clock=lambda: now[0], sleep=sleep)
    options = {"base_url": root + adapter.suffix, "api_key": KEY}
    settings = ModelSettings(timeout=fault.deadline)
    records = _Records()
    logging.getLogger().addHandler(records)
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    started = time.perf_counter()
    texts: list[str] = []
    call: dict[str, Any] = {
        "model": adapter.model,
        "settings": settings,
        "retry": policy,
        "model_options": options,
    }
    try:
        if stream:
            events = run_stream(AGENT, "Weather in Paris?", **call)
            result = None
            async for event in events:
                texts.append(event.model_dump_json())
                if isinstance(event, RunEndEvent):
                    result = event.result
            assert result is not None
        else:
            result = await run(AGENT, "Weather in Paris?", **call)
    except AgentkitError as exc:
        seconds = time.perf_counter() - started
        cause = exc.cause if isinstance(exc, RunError) and exc.cause is not None else exc
        messages = exc.messages if isinstance(exc, RunError) else []
        texts += chain_texts(exc) + [m.model_dump_json() for m in messages]
        return Outcome(
            label=f"{adapter.name} {'stream' if stream else 'whole'} {fault.name}",
            kind=type(cause).__name__,
            retries=len(waits),
            seconds=seconds,
            error=exc,
            texts=texts + records.texts,
            waits=waits,
            messages=list(messages),
        )
    finally:
        logging.getLogger().removeHandler(records)
        logging.getLogger().setLevel(level)
        # A case that ended before using its plan must not leave it to the next.
        server.clear()
    seconds = time.perf_counter() - started
    texts += [result.model_dump_json(), repr(result), str(result.output)]
    return Outcome(
        label=f"{adapter.name} {'stream' if stream else 'whole'} {fault.name}",
        kind="recovered",
        retries=len(result.retries),
        seconds=seconds,
        output=result.output,
        texts=texts + records.texts,
        waits=waits,
        messages=list(result.messages),
    )
