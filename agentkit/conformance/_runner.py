"""Run scenarios against an adapter and turn outcomes into verdicts.

Verdicts come from the adapter's declared ``Capabilities``: a scenario that
needs something the adapter does not claim is "not claimed" rather than
failed, and in emulated mode it is tried anyway, so a pass says the adapter
"could claim" more than it does.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.abc

from .._model import Capabilities, ModelAdapter, ResponseEndEvent
from .._stream import response_events
from ..exceptions import UnsupportedFeatureError, UserError
from ._checks import Outcome, check_outcome, unobserved
from ._harness import Harness, judged_mode
from ._scenarios import Scenario
from ._script import ScriptNotRenderable, wire_facts

__all__ = [
    "ScenarioResult",
    "Verdict",
    "claims",
    "load_expected_failures",
    "run_scenarios",
]

#: ``xfail``: failed as recorded in the expected-failures file;
#: ``xpass``: listed there but passed (the run fails so the file gets updated).
Verdict = Literal["pass", "fail", "not claimed", "could claim", "n/a", "xfail", "xpass"]

#: Seconds one scenario may take before it counts as hung.
SCENARIO_TIMEOUT = 20.0
#: How often the loop watch ticks, in seconds.
_TICK = 0.01


@dataclass
class ScenarioResult:
    """The verdict on one scenario.

    Attributes:
        scenario: The scenario.
        verdict: See ``Verdict``.
        problems: What was wrong (for fail, xfail and not claimed) or why it did not apply.
        seconds: How long it took.
        not_observed: Checks this harness could not make (a pass says nothing about them).
    """

    scenario: Scenario
    verdict: Verdict
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    not_observed: list[str] = field(default_factory=list)


def claims(caps: Capabilities, need: str) -> bool:
    """Whether ``caps`` declares the capability named ``need`` (``tool_choice:required``...)."""
    kind, _, mode = need.partition(":")
    if kind == "tool_choice":
        return mode in caps.tool_choice
    if kind == "structured_output":
        return mode in caps.structured_output
    if kind == "setting":
        return mode in caps.settings
    return bool(getattr(caps, kind))


def load_expected_failures(path: str | Path | None) -> dict[str, str]:
    """Read an expected-failures YAML file: a list of ``{id, reason}``.

    Raises:
        UserError: the file is malformed.
    """
    if path is None:
        return {}
    import yaml

    data = yaml.safe_load(Path(path).read_text("utf-8")) or []
    if not isinstance(data, list) or not all(
        isinstance(item, dict) and {"id", "reason"} <= item.keys() for item in data
    ):
        raise UserError(f"{path}: expected a list of {{id: ..., reason: ...}} entries")
    return {str(item["id"]): str(item["reason"]) for item in data}


def _tasks() -> set[asyncio.Task[Any]] | None:
    try:
        return asyncio.all_tasks()
    except RuntimeError:  # not on asyncio (trio): its tasks cannot be listed
        return None


def _describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", type(coro).__name__)
    return f"task {task.get_name()!r} running {name}"


async def _leaked(before: set[asyncio.Task[Any]] | None) -> list[str] | None:
    # Only tasks born during this scenario count: whatever ran before it (a
    # library's process-wide worker started by the warm-up, the test's own
    # tasks) is not this call's doing. Well-behaved cleanup (httpx closing a
    # stream, a cancelled task unwinding) gets a moment first.
    if before is None:
        return None
    extra: set[asyncio.Task[Any]] = set()
    for _ in range(50):
        extra = {t for t in (_tasks() or set()) - before if not t.done()}
        current = asyncio.current_task()
        if current is not None:
            extra.discard(current)
        if not extra:
            return []
        await asyncio.sleep(0.01)
    return sorted(_describe(t) for t in extra)


class _LoopWatch:
    """Ticks on the event loop during a call and keeps the longest stall between ticks.

    An adapter that makes a synchronous call (a blocking socket, ``time.sleep``,
    a sync SDK) stops every other task on the loop; the ticks show it.
    """

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        start = time.perf_counter()
        task_status.started()  # the clock runs before the call starts
        while True:
            try:
                await anyio.sleep(_TICK)
            finally:
                # Also when cancelled: a block just before the call ended counts too.
                self.worst = max(self.worst, time.perf_counter() - start - _TICK)
            start = time.perf_counter()


@contextmanager
def _closed_port() -> Iterator[str]:
    # Bound but never listening: connecting is refused at once, and holding
    # the socket keeps anyone else from taking the port meanwhile.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def _warm_up_scenario(caps: Capabilities) -> Scenario:
    settings = {"max_tokens": 8} if "max_tokens" in caps.settings else {}
    return Scenario(
        id="core.warm_up",
        title="unjudged: lets libraries start their process-wide workers",
        level="core",
        request={"messages": [{"role": "user", "parts": [{"type": "text", "text": "Say OK."}]}]}
        | {"settings": settings},
        checks={},
        script={"reply": {"text": "OK"}},
    )


def _warm_up_stand_in(scenarios: list[Scenario], stream: bool) -> Scenario | None:
    # A replay has no cassette for the made-up exchange: replay a plain
    # scenario's instead (a replay is deterministic, so running it twice is harmless).
    plain = [
        s
        for s in scenarios
        if s.stream == stream
        and not s.cancel_after_events
        and "reply" in s.script
        and not {"stall", "connect", "stream_cut", "error"} & s.script.keys()
    ]
    return plain[0] if plain else None


def _prepared(harness: Harness, scenario: Scenario | None) -> Scenario | None:
    if scenario is None:
        return None
    try:
        harness.prepare(scenario)
    except ScriptNotRenderable:
        return None
    return scenario


async def _warm_up(harness: Harness, scenarios: list[Scenario]) -> None:
    """One unjudged exchange (and one stream) before the first scenario.

    A library may start a process-wide background task on its first call
    (a connection-pool reaper, a telemetry flusher). Running one exchange
    first puts such a task in every scenario's baseline, so it is not
    reported as the first scenario's leak.
    """
    caps = harness.adapter.capabilities
    for stream in (False, True) if caps.streaming else (False,):
        made_up = replace(_warm_up_scenario(caps), stream=stream)
        scenario = _prepared(harness, made_up) or _prepared(
            harness, _warm_up_stand_in(scenarios, stream)
        )
        if scenario is None:
            continue
        # Unjudged: whatever goes wrong here, the scenarios will say.
        with anyio.move_on_after(SCENARIO_TIMEOUT), suppress(Exception):
            await _call(harness.adapter, scenario, Outcome())


async def _call(adapter: ModelAdapter, scenario: Scenario, outcome: Outcome) -> None:
    start = time.perf_counter()
    try:
        await _exchange(adapter, scenario, outcome)
    finally:
        outcome.seconds = time.perf_counter() - start


async def _exchange(adapter: ModelAdapter, scenario: Scenario, outcome: Outcome) -> None:
    request = scenario.model_request()
    if not scenario.stream:
        response = await adapter.generate(request)
        outcome.events = list(response_events(response))
        outcome.response = response
        return
    stream = adapter.stream(request)
    try:
        async for event in stream:
            outcome.events.append(event)
            if isinstance(event, ResponseEndEvent):
                outcome.response = event.response
            if scenario.cancel_after_events and len(outcome.events) >= scenario.cancel_after_events:
                break
    finally:
        # Abandoning a stream means closing it: that is what a user's `break` does.
        if isinstance(stream, AsyncIterator) and hasattr(stream, "aclose"):
            await stream.aclose()


def _adapter_at_closed_port(harness: Harness, url: str) -> ModelAdapter:
    make = getattr(harness, "adapter_for", None)
    adapter: ModelAdapter | None = make(url) if make is not None else None
    if adapter is None:
        raise ScriptNotRenderable(
            "not observed: this harness cannot point the adapter at a closed port"
        )
    return adapter


def _protocol(harness: Harness) -> str | None:
    # A recording harness speaks its inner harness's protocol.
    protocol = getattr(harness, "protocol", None) or getattr(
        getattr(harness, "inner", None), "protocol", None
    )
    return str(protocol) if protocol else None


def _request_count(harness: Harness) -> int | None:
    count = getattr(harness, "request_count", None)
    return count() if count is not None else None


async def _disconnected(harness: Harness) -> bool | None:
    wait = getattr(harness, "wait_disconnected", None)
    if wait is None:
        return harness.disconnected(2.0)
    # Generous: a client may close its socket a few loop ticks after aclose().
    result: bool | None = await wait(2.0)
    return result


def _check_recordable(harness: Harness, scenario: Scenario) -> None:
    from ._harness import RecordingHarness, ReplayHarness

    # A refused connection or a server that never answers leaves no exchange
    # in a cassette, so neither a recording nor its replay can judge it.
    if isinstance(harness, RecordingHarness | ReplayHarness) and (
        "connect" in scenario.script or "stall" in scenario.script
    ):
        raise ScriptNotRenderable("not observed: a cassette holds no exchange for this scenario")


async def _attempt(harness: Harness, scenario: Scenario) -> tuple[list[str], Outcome]:
    _check_recordable(harness, scenario)
    with _closed_port() as closed:
        harness.prepare(scenario)
        refused = scenario.script.get("connect") == "refused"
        adapter = _adapter_at_closed_port(harness, closed) if refused else harness.adapter
        outcome = Outcome()
        watch = _LoopWatch()
        async with anyio.create_task_group() as group:
            await group.start(watch.run)
            before = _tasks()
            try:
                # move_on_after, not fail_after: the kit's own deadline must not look
                # like a TimeoutError escaping from the adapter.
                with anyio.move_on_after(SCENARIO_TIMEOUT) as deadline:
                    await _call(adapter, scenario, outcome)
            except Exception as exc:
                outcome.error = exc
            group.cancel_scope.cancel()
        outcome.loop_blocked = watch.worst
    outcome.timed_out = deadline.cancelled_caught
    outcome.leaked_tasks = await _leaked(before)
    outcome.received = harness.received()
    outcome.requests = _request_count(harness)
    if judged_mode(harness) != "live":
        outcome.wire = wire_facts(scenario.script, _protocol(harness))
    if scenario.cancel_after_events:
        outcome.disconnected = await _disconnected(harness)
    problems = check_outcome(scenario, outcome, scenario.model_request(), adapter.capabilities)
    if harness.observes_requests() and outcome.received is None and "received" in scenario.checks:
        problems.append("sent: the model was never called")
    if isinstance(outcome.error, UnsupportedFeatureError):
        problems.insert(0, f"unsupported: {outcome.error}")
    # Record and replay harnesses close each scenario: write its cassette, or
    # report requests that did not match the recorded ones.
    finish = getattr(harness, "finish", None)
    if finish is not None:
        problems += finish(scenario)
    return problems, outcome


def _unsent_settings(missing: list[str], outcome: Outcome) -> list[str]:
    # An unclaimed setting that was only warned about passes the checks but
    # was not honoured: that is no reason to claim it.
    received = outcome.received
    return [
        need
        for need in missing
        if need.startswith("setting:")
        and (received is None or getattr(received.settings, need[8:], None) is None)
    ]


async def _judge(harness: Harness, scenario: Scenario, expected: dict[str, str]) -> ScenarioResult:
    live = judged_mode(harness) == "live"
    if live and not scenario.live:
        return ScenarioResult(scenario, "n/a", ["the checks depend on a scripted model"])
    caps = harness.adapter.capabilities
    missing = [need for need in scenario.needs if not claims(caps, need)]
    if missing and live:
        return ScenarioResult(scenario, "not claimed", [f"not claimed: {', '.join(missing)}"])
    try:
        problems, outcome = await _attempt(harness, scenario)
    except ScriptNotRenderable as exc:
        return ScenarioResult(scenario, "n/a", [str(exc)])
    result = _verdict(scenario, problems, outcome, missing, expected)
    if result.verdict in ("pass", "could claim", "xpass"):
        result.not_observed = unobserved(scenario, outcome)
    return result


def _verdict(
    scenario: Scenario,
    problems: list[str],
    outcome: Outcome,
    missing: list[str],
    expected: dict[str, str],
) -> ScenarioResult:
    if missing:
        if problems or _unsent_settings(missing, outcome):
            return ScenarioResult(scenario, "not claimed", [f"not claimed: {', '.join(missing)}"])
        return ScenarioResult(
            scenario, "could claim", [f"passes without claiming {', '.join(missing)}"]
        )
    if scenario.id in expected:
        if problems:
            return ScenarioResult(
                scenario, "xfail", [f"expected: {expected[scenario.id]}", *problems]
            )
        return ScenarioResult(
            scenario,
            "xpass",
            [f"listed as an expected failure ({expected[scenario.id]}) but passes"],
        )
    return ScenarioResult(scenario, "fail" if problems else "pass", problems)


async def run_scenarios(
    harness: Harness,
    scenarios: list[Scenario],
    *,
    expected_failures: dict[str, str] | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> list[ScenarioResult]:
    """Run every scenario through ``harness`` and judge it.

    Args:
        harness: An entered harness (emulated, function or live).
        scenarios: What to run, in order.
        expected_failures: Scenario id -> reason, for known gaps.
        on_result: Called after each scenario (progress lines).

    Returns:
        One result per scenario.
    """
    results = []
    if scenarios:
        await _warm_up(harness, scenarios)
    for scenario in scenarios:
        start = time.perf_counter()
        result = await _judge(harness, scenario, expected_failures or {})
        result.seconds = time.perf_counter() - start
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
