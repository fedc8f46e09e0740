"""The conformance kit: prove an adapter behaves the same as every other, offline.

Scenarios are data (``agentkit_specs/scenarios/*.yaml``); the kit runs each one
against an adapter, checks the invariants every call must keep plus the
scenario's own checks, and judges the outcome against the adapter's declared
capabilities. Run it from the command line (``agentkit conformance MODEL``),
from pytest (the ``agentkit.conformance.pytest_plugin`` plugin) or here::

    report = await check_adapter("gemini:gemini-2.5-flash", mode="emulated")
    assert report.ok, report.summary()
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .._model import ModelAdapter
from ._checks import Outcome, check_outcome
from ._harness import (
    EMULATED_PROVIDERS,
    EmulatedHarness,
    FunctionHarness,
    Harness,
    LiveHarness,
    emulated_harness_for,
)
from ._report import VERDICTS, ConformanceReport
from ._runner import (
    ScenarioResult,
    Verdict,
    claims,
    load_expected_failures,
    run_scenarios,
)
from ._scenarios import LEVELS, Scenario, load_scenarios, scenario_schema, scenarios_dir

__all__ = [
    "EMULATED_PROVIDERS",
    "LEVELS",
    "VERDICTS",
    "ConformanceReport",
    "EmulatedHarness",
    "FunctionHarness",
    "Harness",
    "LiveHarness",
    "Outcome",
    "Scenario",
    "ScenarioResult",
    "Verdict",
    "check_adapter",
    "check_outcome",
    "claims",
    "emulated_harness_for",
    "load_expected_failures",
    "load_scenarios",
    "run_harness",
    "run_scenarios",
    "scenario_schema",
    "scenarios_dir",
]


async def run_harness(
    harness: Harness,
    *,
    target: str = "",
    levels: list[str] | None = None,
    expected_failures: dict[str, str] | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> ConformanceReport:
    """Run the shipped scenarios through an entered harness.

    Args:
        harness: The harness, already entered (its emulator running).
        target: How to name the adapter in the report.
        levels: Only these levels.
        expected_failures: Scenario id -> reason for known gaps.
        on_result: Called after each scenario.

    Returns:
        The report.
    """
    from .. import __version__

    scenarios = load_scenarios(levels=levels)
    adapter = harness.adapter
    results = await run_scenarios(
        harness, scenarios, expected_failures=expected_failures, on_result=on_result
    )
    return ConformanceReport(
        target=target or f"{adapter.provider}:{adapter.model_id}",
        provider=adapter.provider,
        model_id=adapter.model_id,
        mode=harness.mode,
        capabilities=adapter.capabilities,
        results=results,
        agentkit_version=__version__,
        scenario_version=scenarios[0].version if scenarios else "",
    )


async def check_adapter(
    model: str | ModelAdapter,
    *,
    mode: str = "emulated",
    levels: list[str] | None = None,
    expected_failures: str | Path | dict[str, str] | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> ConformanceReport:
    """Run the kit against a model string or an adapter.

    Args:
        model: ``provider:model`` or an adapter (adapters only run ``live``).
        mode: ``emulated`` (our wire protocols, offline) or ``live``.
        levels: Only these levels.
        expected_failures: A YAML file of known gaps, or the mapping itself.
        on_result: Called after each scenario (progress lines).

    Returns:
        The report.

    Raises:
        UserError: the mode is unknown or cannot apply to ``model``.
    """
    from .._registry import resolve_model
    from ..exceptions import UserError

    expected = (
        expected_failures
        if isinstance(expected_failures, dict)
        else load_expected_failures(expected_failures)
    )
    target = model if isinstance(model, str) else f"{model.provider}:{model.model_id}"
    harness: EmulatedHarness | LiveHarness
    if mode == "emulated":
        if not isinstance(model, str):
            raise UserError("emulated mode needs a model string whose protocol the kit knows")
        harness = emulated_harness_for(model)
    elif mode == "live":
        harness = LiveHarness(resolve_model(model))
    else:
        raise UserError(f"mode {mode!r} is not available yet (emulated, live)")
    with harness:
        return await run_harness(
            harness,
            target=target,
            levels=levels,
            expected_failures=expected,
            on_result=on_result,
        )
