"""Run scenarios against an adapter and turn outcomes into verdicts.

Verdicts come from the adapter's declared ``Capabilities``: a scenario that
needs something the adapter does not claim is "not claimed" rather than
failed, and in emulated mode it is tried anyway, so a pass says the adapter
"could claim" more than it does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio

from .._model import Capabilities, ModelAdapter, ResponseEndEvent
from .._stream import response_events
from ..exceptions import UnsupportedFeatureError, UserError
from ._checks import Outcome, check_outcome
from ._harness import Harness, judged_mode
from ._scenarios import Scenario
from ._script import ScriptNotRenderable

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


@dataclass
class ScenarioResult:
    """The verdict on one scenario.

    Attributes:
        scenario: The scenario.
        verdict: See ``Verdict``.
        problems: What was wrong (for fail, xfail and not claimed) or why it did not apply.
        seconds: How long it took.
    """

    scenario: Scenario
    verdict: Verdict
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


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


def _tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks()


async def _leaked(before: set[asyncio.Task[Any]]) -> int:
    # Give well-behaved cleanup (httpx closing a stream, a cancelled task
    # unwinding) a moment before counting what is still alive.
    for _ in range(50):
        extra = {t for t in _tasks() - before if not t.done()} - {asyncio.current_task()}
        if not extra:
            return 0
        await asyncio.sleep(0.01)
    return len(extra)


async def _call(adapter: ModelAdapter, scenario: Scenario, outcome: Outcome) -> None:
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


async def _attempt(harness: Harness, scenario: Scenario) -> tuple[list[str], Outcome]:
    harness.prepare(scenario)
    outcome = Outcome()
    before = _tasks()
    try:
        # move_on_after, not fail_after: the kit's own deadline must not look
        # like a TimeoutError escaping from the adapter.
        with anyio.move_on_after(SCENARIO_TIMEOUT) as deadline:
            await _call(harness.adapter, scenario, outcome)
    except Exception as exc:
        outcome.error = exc
    outcome.timed_out = deadline.cancelled_caught
    outcome.leaked_tasks = await _leaked(before)
    outcome.received = harness.received()
    if scenario.cancel_after_events:
        # Waited for off the loop: an asyncio transport (aiohttp's) closes its
        # socket on the loop's next turn, which a blocking wait here would stall.
        outcome.disconnected = await anyio.to_thread.run_sync(harness.disconnected, 2.0)
    problems = check_outcome(
        scenario, outcome, scenario.model_request(), harness.adapter.capabilities
    )
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
    for scenario in scenarios:
        start = time.perf_counter()
        result = await _judge(harness, scenario, expected_failures or {})
        result.seconds = time.perf_counter() - start
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
