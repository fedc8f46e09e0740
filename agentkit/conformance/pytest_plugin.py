"""A pytest plugin: the conformance kit as ordinary tests, one per scenario.

Installed with agentkit (the ``pytest11`` entry point), it collects any file
named ``agentkit_conformance*.yaml`` in the test tree. Such a file says what
to check::

    # tests/agentkit_conformance.yaml
    target: acme:acme-large            # a model string ...
    factory: acme_agentkit:create_acme_adapter   # its factory, when not installed as an entry point
    wire: openai-chat                  # optional: default, the factory's wire_protocol
    mode: emulated                     # or live, record, replay
    cassettes: cassettes               # record/replay: the cassettes, relative to this file
    record_from: emulated              # record: emulated (the default here) or live
    upstream: https://api.acme.example/v1   # record live: the real API (default: the adapter's)
    levels: [core, tools]              # optional
    scenarios: [core.plain_answer]     # optional
    expected_failures: expected_failures.yaml   # optional, relative to this file

Instead of ``target``, ``harness: module:function`` names a function that
returns a harness (a ``FunctionHarness`` wrapping a middleware adapter...).

Each scenario becomes a test item (``agentkit_conformance.yaml::core.plain_answer``).
"fail" and "xpass" fail the test; "not claimed" and "n/a" skip it; a known gap
is an xfail. The whole set runs once, in one event loop, the first time one of
its items runs (adapters keep connection pools tied to their loop). A level,
scenario or expected failure that matches nothing fails the session at
collection; a factory or harness that crashes fails every item with what it
raised (``HarnessError``), not with a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ._runner import ScenarioResult

__all__ = [
    "ConformanceFile",
    "HarnessCrashed",
    "ScenarioFailure",
    "ScenarioItem",
    "pytest_collect_file",
]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``agentkit_conformance*.yaml`` files."""
    if file_path.name.startswith("agentkit_conformance") and file_path.suffix in (".yaml", ".yml"):
        collector: ConformanceFile = ConformanceFile.from_parent(parent, path=file_path)
        return collector
    return None


def _load_object(spec: str, where: str) -> Any:
    from .._refs import import_object

    return import_object(spec, where)


class ConformanceFile(pytest.File):
    """One configuration file: a target and the scenarios to run against it."""

    _results: dict[str, ScenarioResult] | None = None
    _crash: str | None = None

    def config_data(self) -> dict[str, Any]:
        """The file's settings."""
        data = yaml.safe_load(self.path.read_text("utf-8")) or {}
        if not isinstance(data, dict) or not ({"target", "harness"} & data.keys()):
            raise pytest.UsageError(f"{self.path}: needs a 'target' or a 'harness'")
        if "adapter" in data:
            raise pytest.UsageError(
                f"{self.path}: 'adapter' is gone: name the adapter's factory with "
                "'factory: module:function' (the kit points it at its servers via base_url)"
            )
        return data

    def _expected(self, data: dict[str, Any]) -> dict[str, str]:
        from ._runner import load_expected_failures

        expected_file = data.get("expected_failures")
        return load_expected_failures(self.path.parent / expected_file if expected_file else None)

    def collect(self) -> Iterator[pytest.Item]:
        """One item per scenario.

        Raises:
            pytest.UsageError: a level, scenario or expected failure matches nothing.
        """
        from ..exceptions import UserError
        from ._select import select_scenarios

        data = self.config_data()
        try:
            chosen = select_scenarios(
                data.get("levels"), data.get("scenarios"), self._expected(data)
            )
        except UserError as exc:
            raise pytest.UsageError(f"{self.path.name}: {exc}") from None
        for scenario in chosen:
            yield ScenarioItem.from_parent(self, name=scenario.id)

    def results(self) -> dict[str, ScenarioResult]:
        """Every scenario's result, running the whole set on first use.

        Raises:
            HarnessCrashed: the factory or the harness crashed (every item fails with it).
        """
        from ..exceptions import HarnessError

        if self._crash is not None:
            raise HarnessCrashed(self._crash)
        if self._results is None:
            try:
                self._results = self._run()
            except HarnessError as exc:
                self._crash = str(exc)
                raise HarnessCrashed(self._crash) from None
        return self._results

    def _run(self) -> dict[str, ScenarioResult]:
        import anyio

        from ..exceptions import HarnessError
        from . import check_adapter, entered, run_harness

        data = self.config_data()
        expected = self._expected(data)
        levels, scenarios = data.get("levels"), data.get("scenarios")
        cassettes = data.get("cassettes")
        if "harness" in data:
            make = _load_object(data["harness"], f"{self.path.name}: harness")
            try:
                harness = make()
            except Exception as exc:
                raise HarnessError(
                    f"the harness factory {data['harness']} raised {type(exc).__name__}: {exc}"
                ) from exc

            async def run() -> Any:
                with entered(harness):
                    return await run_harness(
                        harness, levels=levels, scenarios=scenarios, expected_failures=expected
                    )

        else:
            factory = (
                _load_object(data["factory"], f"{self.path.name}: factory")
                if "factory" in data
                else None
            )

            async def run() -> Any:
                return await check_adapter(
                    data["target"],
                    mode=data.get("mode", "emulated"),
                    levels=levels,
                    scenarios=scenarios,
                    expected_failures=expected,
                    cassettes=self.path.parent / cassettes if cassettes else None,
                    record_from=data.get("record_from", "emulated"),
                    wire=data.get("wire"),
                    upstream=data.get("upstream"),
                    factory=factory,
                )

        report = anyio.run(run)
        return {r.scenario.id: r for r in report.results}


class ScenarioItem(pytest.Item):
    """One scenario's verdict as a test outcome."""

    def runtest(self) -> None:
        """Pass, fail, skip or xfail as the verdict says."""
        parent = self.parent
        assert isinstance(parent, ConformanceFile)
        result = parent.results()[self.name]  # raises HarnessCrashed
        notes = "; ".join(result.problems)
        if result.verdict in ("fail", "xpass"):
            raise ScenarioFailure(result)
        if result.verdict in ("not claimed", "n/a"):
            # Named, since pytest shows where the skip was raised (here), not the item.
            pytest.skip(f"{self.name}: {result.verdict}: {notes}")
        if result.verdict == "xfail":
            pytest.xfail(notes)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The scenario's problems, one a line."""
        if isinstance(excinfo.value, HarnessCrashed):
            return f"the conformance kit could not run: {excinfo.value}"
        if isinstance(excinfo.value, ScenarioFailure):
            result = excinfo.value.result
            lines = [f"{result.scenario.id} ({result.scenario.title}): {result.verdict}"]
            return "\n".join(lines + [f"  - {p}" for p in result.problems])
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where the item comes from, for pytest's report."""
        return self.path, None, f"conformance: {self.name}"


class ScenarioFailure(Exception):
    """A claimed scenario failed (or a known gap started passing)."""

    def __init__(self, result: ScenarioResult) -> None:
        self.result = result
        super().__init__(result.scenario.id)


class HarnessCrashed(Exception):
    """The kit could not run the set (a ``HarnessError``): every item fails with this."""
