"""Run scenarios against an adapter and turn outcomes into verdicts.

Verdicts come from the adapter's declared ``Capabilities``: a scenario that
needs something the adapter does not claim is "not claimed" rather than
failed, and in emulated mode it is tried anyway, so a pass says the adapter
"could claim" more than it does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import anyio

from .._model import Capabilities, ModelAdapter
from ..exceptions import UnsupportedFeatureError, UserError
from ._checks import Outcome, check_outcome, unobserved
from ._exchange import LoopWatch, closed_port, exchange, leaked_tasks, running_tasks
from ._harness import Harness, judged_mode
from ._scenarios import Scenario
from ._script import ScriptNotRenderable, wire_facts

__all__ = [
    "ScenarioResult",
    "Verdict",
    "claims",
    "load_expected_failures",
    "run_scenarios",
    "warm_up",
]

#: ``xfail``: failed as recorded in the expected-failures file;
#: ``xpass``: listed there but passed (the run fails so the file gets updated).
Verdict = Literal["pass", "fail", "not claimed", "could claim", "n/a", "xfail", "xpass"]

#: Seconds one scenario may take before it counts as hung.
SCENARIO_TIMEOUT = 20.0


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


async def warm_up(harness: Harness, scenarios: list[Scenario]) -> None:
    """One unjudged exchange (and one stream) before the first scenario.

    A library may start a process-wide background task on its first call
    (a connection-pool reaper, a telemetry flusher). Running one exchange
    first puts such a task in every scenario's baseline, so it is not
    reported as the first scenario's leak. A harness that cannot play the
    kit's own made-up exchange (a replay has no cassette for it) plays the
    first plain scenario of ``scenarios`` instead.

    Args:
        harness: An entered harness.
        scenarios: Where to find a stand-in (the run's, then any shipped ones).
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
            await exchange(harness.adapter, scenario, Outcome())


def _adapter_at_closed_port(harness: Harness, root: str) -> ModelAdapter:
    # The same factory as the adapter under test, given the closed port's root
    # where it was given the harness's server.
    make = getattr(harness, "make_adapter", None)
    if make is None:
        raise ScriptNotRenderable(
            "n/a: this harness cannot point the adapter at a closed port (no factory)"
        )
    adapter: ModelAdapter = make(root)
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
    # Generous: a client may close its socket a few loop ticks after aclose(),
    # so the wait must leave the loop running (an asyncio transport, aiohttp's,
    # closes on the loop's next turn).
    wait = getattr(harness, "wait_disconnected", None)
    if wait is None:  # a harness of its author's from before wait_disconnected
        result: bool | None = await anyio.to_thread.run_sync(harness.disconnected, 2.0)
        return result
    waited: bool | None = await wait(2.0)
    return waited


async def _attempt(harness: Harness, scenario: Scenario) -> tuple[list[str], Outcome]:
    with closed_port() as closed:
        harness.prepare(scenario)
        refused = scenario.script.get("connect") == "refused"
        adapter = _adapter_at_closed_port(harness, closed) if refused else harness.adapter
        outcome = Outcome()
        watch = LoopWatch()
        async with anyio.create_task_group() as group:
            await group.start(watch.run)
            before = running_tasks()
            try:
                # move_on_after, not fail_after: the kit's own deadline must not look
                # like a TimeoutError escaping from the adapter.
                with anyio.move_on_after(SCENARIO_TIMEOUT) as deadline:
                    await exchange(adapter, scenario, outcome)
            except Exception as exc:
                outcome.error = exc
            group.cancel_scope.cancel()
        outcome.loop_blocked = watch.worst
    outcome.timed_out = deadline.cancelled_caught
    outcome.leaked_tasks = await leaked_tasks(before)
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
    warm: bool = True,
) -> list[ScenarioResult]:
    """Run every scenario through ``harness`` and judge it.

    Args:
        harness: An entered harness (emulated, function or live).
        scenarios: What to run, in order.
        expected_failures: Scenario id -> reason, for known gaps.
        on_result: Called after each scenario (progress lines).
        warm: Run the unjudged ``warm_up`` exchange first (False when the
            caller already did, running scenarios one call at a time).

    Returns:
        One result per scenario.
    """
    results = []
    if scenarios and warm:
        await warm_up(harness, scenarios)
    for scenario in scenarios:
        start = time.perf_counter()
        result = await _judge(harness, scenario, expected_failures or {})
        result.seconds = time.perf_counter() - start
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
