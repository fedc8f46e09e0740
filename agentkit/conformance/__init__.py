"""The conformance kit: prove an adapter behaves the same as every other, offline.

Scenarios are data (``agentkit_specs/scenarios/*.yaml``); the kit runs each one
against an adapter, checks the invariants every call must keep plus the
scenario's own checks, and judges the outcome against the adapter's declared
capabilities. Run it from the command line (``agentkit conformance MODEL``),
from pytest (the ``agentkit.conformance.pytest_plugin`` plugin) or here::

    report = await check_adapter("gemini:gemini-2.5-flash", mode="emulated")
    assert report.ok, report.summary()

The kit reaches the adapter only through its factory's options, ``base_url``
and ``api_key``, pointing it at servers on a loopback port (an emulator, a
recording proxy, a cassette server), so every mode works whatever HTTP stack
the adapter uses. Errors of the kit itself are not verdicts: a filter that
matches nothing is a ``UserError``, a crashing factory or harness a
``HarnessError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._model import ModelAdapter
from ..exceptions import AgentkitError, HarnessError
from ._checks import Outcome, check_outcome
from ._harness import EmulatedHarness, FunctionHarness, Harness, LiveHarness
from ._modes import (
    ENDPOINT_PROTOCOLS,
    PLACEHOLDER_KEY,
    WIRE_PROTOCOLS,
    AdapterBuilder,
    build_harness,
    endpoint_adapter,
)
from ._recording import RecordingHarness, ReplayHarness, wire_base_path
from ._report import VERDICTS, ConformanceReport
from ._runner import (
    ScenarioResult,
    Verdict,
    claims,
    load_expected_failures,
    run_scenarios,
    warm_up,
)
from ._scenarios import LEVELS, Scenario, load_scenarios, scenario_schema, scenarios_dir
from ._select import select_scenarios

__all__ = [
    "ENDPOINT_PROTOCOLS",
    "LEVELS",
    "PLACEHOLDER_KEY",
    "VERDICTS",
    "WIRE_PROTOCOLS",
    "AdapterBuilder",
    "ConformanceReport",
    "EmulatedHarness",
    "FunctionHarness",
    "Harness",
    "LiveHarness",
    "Outcome",
    "RecordingHarness",
    "ReplayHarness",
    "Scenario",
    "ScenarioResult",
    "Verdict",
    "build_harness",
    "check_adapter",
    "check_outcome",
    "claims",
    "endpoint_adapter",
    "entered",
    "load_expected_failures",
    "load_scenarios",
    "run_harness",
    "run_scenarios",
    "scenario_schema",
    "scenarios_dir",
    "select_scenarios",
    "wire_base_path",
]


@contextmanager
def entered(harness: Any) -> Iterator[Any]:
    """Enter ``harness``; a crash while starting it is a ``HarnessError``, not a traceback."""
    try:
        harness.__enter__()
    except AgentkitError:
        raise
    except Exception as exc:
        raise HarnessError(
            f"the {type(harness).__name__} failed to start: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        yield harness
    finally:
        harness.__exit__(None, None, None)


async def run_harness(
    harness: Harness,
    *,
    target: str = "",
    levels: list[str] | None = None,
    scenarios: list[str] | None = None,
    expected_failures: dict[str, str] | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> ConformanceReport:
    """Run the shipped scenarios through an entered harness.

    Args:
        harness: The harness, already entered (its servers running).
        target: How to name the adapter in the report.
        levels: Only these levels.
        scenarios: Only these scenario ids.
        expected_failures: Scenario id -> reason for known gaps.
        on_result: Called after each scenario.

    Returns:
        The report.

    Raises:
        UserError: a level, scenario id or expected failure matches no scenario.
        HarnessError: the harness (or the kit) crashed while running a scenario.
    """
    from .. import __version__

    chosen = select_scenarios(levels, scenarios, expected_failures)
    adapter = harness.adapter
    results: list[ScenarioResult] = []
    if chosen:
        # Once for the run; a replay's stand-in may be any shipped scenario's cassette.
        await warm_up(harness, chosen + load_scenarios())
    for scenario in chosen:
        # One at a time, so a crash can name the scenario it happened in.
        try:
            results += await run_scenarios(
                harness,
                [scenario],
                expected_failures=expected_failures,
                on_result=on_result,
                warm=False,
            )
        except AgentkitError:
            raise
        except Exception as exc:
            raise HarnessError(
                f"the harness crashed on scenario {scenario.id}: {type(exc).__name__}: {exc}"
            ) from exc
    recorded = getattr(harness, "recorded", None)
    if isinstance(harness, RecordingHarness) and recorded == 0 and results:
        raise HarnessError(
            f"record mode recorded no HTTP exchange in {len(results)} scenario(s): the adapter "
            f"did not send its requests to the base_url it was given ({harness.url}...); "
            "its factory must pass base_url on to its HTTP client"
        )
    return ConformanceReport(
        target=target or f"{adapter.provider}:{adapter.model_id}",
        provider=adapter.provider,
        model_id=adapter.model_id,
        mode=harness.mode if not isinstance(harness, RecordingHarness) else "record",
        capabilities=adapter.capabilities,
        results=results,
        agentkit_version=__version__,
        scenario_version=chosen[0].version if chosen else "",
    )


async def check_adapter(
    model: str | ModelAdapter,
    *,
    mode: str = "emulated",
    levels: list[str] | None = None,
    scenarios: list[str] | None = None,
    expected_failures: str | Path | dict[str, str] | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
    cassettes: str | Path | None = None,
    record_from: str = "live",
    endpoint: str | None = None,
    protocol: str | None = None,
    wire: str | None = None,
    upstream: str | None = None,
    factory: Callable[..., ModelAdapter] | None = None,
) -> ConformanceReport:
    """Run the kit against a model string (or, live only, an adapter).

    The adapter is built by its factory (``factory``, else the one registered
    for the model string's provider) with the options ``base_url`` and
    ``api_key`` only.

    Args:
        model: ``provider:model``, or an adapter (live mode only). In endpoint
            mode, the model name to ask the server for (or "").
        mode: ``emulated`` (a loopback emulator of the wire protocol, offline),
            ``live`` (the real model), ``record`` (a ``record_from`` run
            through a loopback recording proxy, written to ``cassettes``),
            ``replay`` (answered from ``cassettes`` by a loopback server:
            offline, no keys) or ``endpoint`` (our adapter for ``protocol``
            against the server at ``endpoint``, checking the server).
        levels: Only these levels.
        scenarios: Only these scenario ids.
        expected_failures: A YAML file of known gaps, or the mapping itself.
        on_result: Called after each scenario (progress lines).
        cassettes: The cassettes' directory (record and replay).
        record_from: What a recording runs: ``live`` or ``emulated``.
        endpoint: The server's URL (endpoint mode).
        protocol: The server's protocol (endpoint mode): see ``ENDPOINT_PROTOCOLS``.
        wire: The wire the adapter speaks (emulated, recording from emulated,
            and the cassettes' folder and options in replay); default: the
            host's wire a ``WIRES`` entry routes the model to, else the
            factory's ``wire_protocol`` attribute.
        upstream: A live recording's real API URL (default: the adapter's own
            default ``base_url``, when it has one).
        factory: The adapter factory, instead of the registered one.

    Returns:
        The report.

    Raises:
        UserError: the mode is unknown or cannot apply to ``model``, or a
            filter or expected failure matches no scenario.
        HarnessError: the factory or the harness crashed, or a recording
            recorded nothing.
    """
    expected = (
        expected_failures
        if isinstance(expected_failures, dict)
        else load_expected_failures(expected_failures)
    )
    # Check the filters before starting any server or building any adapter.
    select_scenarios(levels, scenarios, expected)
    harness, target = build_harness(
        model,
        mode,
        cassettes=cassettes,
        record_from=record_from,
        endpoint=endpoint,
        protocol=protocol,
        wire=wire,
        upstream=upstream,
        factory=factory,
    )
    with entered(harness):
        return await run_harness(
            harness,
            target=target,
            levels=levels,
            scenarios=scenarios,
            expected_failures=expected,
            on_result=on_result,
        )
