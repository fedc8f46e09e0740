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
    RecordingHarness,
    ReplayHarness,
    emulated_harness_for,
    endpoint_adapter,
    replay_adapter_factory,
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
    "RecordingHarness",
    "ReplayHarness",
    "Scenario",
    "ScenarioResult",
    "Verdict",
    "check_adapter",
    "check_outcome",
    "claims",
    "emulated_harness_for",
    "load_expected_failures",
    "load_scenarios",
    "record_harness",
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
    cassettes: str | Path | None = None,
    record_from: str = "live",
    endpoint: str | None = None,
    protocol: str | None = None,
) -> ConformanceReport:
    """Run the kit against a model string or an adapter.

    Args:
        model: ``provider:model`` or an adapter (adapters only run ``live``).
            In endpoint mode, the model name to ask the server for (or "").
        mode: ``emulated`` (our wire protocols, offline), ``live``,
            ``record`` (a ``record_from`` run, its HTTP written to ``cassettes``),
            ``replay`` (answers from ``cassettes``: offline, no keys) or
            ``endpoint`` (our adapter for ``protocol`` against the server at
            ``endpoint``, checking the server).
        levels: Only these levels.
        expected_failures: A YAML file of known gaps, or the mapping itself.
        on_result: Called after each scenario (progress lines).
        cassettes: The cassettes' directory (record and replay).
        record_from: What a recording runs: ``live`` or ``emulated``.
        endpoint: The server's URL (endpoint mode).
        protocol: The server's protocol (endpoint mode): see ``ENDPOINT_PROTOCOLS``.

    Returns:
        The report.

    Raises:
        UserError: the mode is unknown or cannot apply to ``model``.
    """
    from agentkit_adapters._http import transport_override

    from .._registry import resolve_model
    from ..exceptions import UserError
    from ._cassette import RecordingTransport, ReplayTransport

    expected = (
        expected_failures
        if isinstance(expected_failures, dict)
        else load_expected_failures(expected_failures)
    )
    target = model if isinstance(model, str) else f"{model.provider}:{model.model_id}"
    if mode in ("record", "replay") and cassettes is None:
        raise UserError(f"{mode} mode needs a cassettes directory (--cassettes DIR)")
    if mode in ("emulated", "endpoint") and not isinstance(model, str):
        raise UserError(f"{mode} mode needs a model string")
    if mode == "record" and record_from == "emulated" and not isinstance(model, str):
        raise UserError("recording an emulated run needs a model string (or use record_harness)")
    harness: EmulatedHarness | LiveHarness | RecordingHarness | ReplayHarness
    transport: RecordingTransport | ReplayTransport | None = None
    if mode == "emulated":
        harness = emulated_harness_for(target)
    elif mode == "live":
        harness = LiveHarness(resolve_model(model))
    elif mode == "record":
        if record_from not in ("live", "emulated"):
            raise UserError(f"record_from must be live or emulated, not {record_from!r}")
        inner = emulated_harness_for(target) if record_from == "emulated" else None
        transport = RecordingTransport()
        harness = RecordingHarness(
            inner or LiveHarness(resolve_model(model)), str(cassettes), target, transport
        )
    elif mode == "replay":
        transport = ReplayTransport()
        make = replay_adapter_factory(model) if isinstance(model, str) else (lambda: model)
        harness = ReplayHarness(str(cassettes), target, make, transport)
    elif mode == "endpoint":
        if not endpoint or not protocol:
            raise UserError("endpoint mode needs --endpoint URL and --protocol NAME")
        name = target
        harness = LiveHarness(endpoint_adapter(endpoint, protocol, name or None))
        target = f"{protocol} server at {endpoint}"
    else:
        raise UserError(f"unknown mode {mode!r} (emulated, live, record, replay, endpoint)")
    # Record and replay route every shared client made during the run through
    # their transport; clients given to an adapter explicitly are not touched.
    token = transport_override.set(transport) if transport is not None else None
    try:
        with harness:
            return await run_harness(
                harness,
                target=target,
                levels=levels,
                expected_failures=expected,
                on_result=on_result,
            )
    finally:
        if token is not None:
            transport_override.reset(token)


async def record_harness(
    harness: EmulatedHarness | LiveHarness,
    cassettes: str | Path,
    *,
    target: str,
    levels: list[str] | None = None,
    expected_failures: dict[str, str] | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> ConformanceReport:
    """Run ``harness`` (not yet entered) and record every scenario's HTTP into ``cassettes``.

    For adapters the kit cannot build from a model string (a third party's
    harness): their adapter must get its HTTP client from
    ``agentkit_adapters._http.shared_client`` (every adapter built on our
    OpenAI, Gemini or Ollama adapters does), so the recording transport applies.

    Args:
        harness: An emulated or live harness.
        cassettes: The cassettes' root; they go to ``<root>/<provider of target>/``.
        target: The model string naming the adapter (``acme:acme-large``).
        levels: Only these levels.
        expected_failures: Scenario id -> reason, for known gaps.
        on_result: Called after each scenario.

    Returns:
        The report of the recorded run.
    """
    from agentkit_adapters._http import transport_override

    from ._cassette import RecordingTransport

    transport = RecordingTransport()
    recording = RecordingHarness(harness, str(cassettes), target, transport)
    token = transport_override.set(transport)
    try:
        with recording:
            return await run_harness(
                recording,
                target=target,
                levels=levels,
                expected_failures=expected_failures,
                on_result=on_result,
            )
    finally:
        transport_override.reset(token)
