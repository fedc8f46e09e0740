"""A pytest plugin: the conformance kit as ordinary tests, one per scenario.

Installed with agentkit (the ``pytest11`` entry point), it collects any file
named ``agentkit_conformance*.yaml`` in the test tree. Such a file says what
to check::

    # tests/agentkit_conformance.yaml
    target: acme:acme-large            # a model string ...
    harness: acme_agentkit.testing:conformance_harness   # ... or a harness factory
    mode: emulated                     # or live, or replay
    cassettes: cassettes               # replay: recorded cassettes, relative to this file
    adapter: acme_agentkit.testing:replay_adapter   # replay: a factory of the adapter
    levels: [core, tools]              # optional
    expected_failures: expected_failures.yaml   # optional, relative to this file

Each scenario becomes a test item (``agentkit_conformance.yaml::core.plain_answer``).
"fail" and "xpass" fail the test; "not claimed" and "n/a" skip it; a known gap
is an xfail. The whole set runs once, in one event loop, the first time one of
its items runs (adapters keep connection pools tied to their loop).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ._runner import ScenarioResult

__all__ = ["ConformanceFile", "ScenarioItem", "pytest_collect_file"]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``agentkit_conformance*.yaml`` files."""
    if file_path.name.startswith("agentkit_conformance") and file_path.suffix in (".yaml", ".yml"):
        collector: ConformanceFile = ConformanceFile.from_parent(parent, path=file_path)
        return collector
    return None


def _load_object(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class ConformanceFile(pytest.File):
    """One configuration file: a target and the scenarios to run against it."""

    _results: dict[str, ScenarioResult] | None = None

    def config_data(self) -> dict[str, Any]:
        """The file's settings."""
        data = yaml.safe_load(self.path.read_text("utf-8")) or {}
        if not isinstance(data, dict) or not ({"target", "harness", "adapter"} & data.keys()):
            raise pytest.UsageError(f"{self.path}: needs a 'target' or a 'harness'")
        return data

    def collect(self) -> Iterator[pytest.Item]:
        """One item per scenario."""
        from ._scenarios import load_scenarios

        for scenario in load_scenarios(levels=self.config_data().get("levels")):
            yield ScenarioItem.from_parent(self, name=scenario.id)

    def results(self) -> dict[str, ScenarioResult]:
        """Every scenario's result, running the whole set on first use."""
        if self._results is None:
            self._results = self._run()
        return self._results

    def _run(self) -> dict[str, ScenarioResult]:
        import anyio

        from . import check_adapter, run_harness
        from ._runner import load_expected_failures

        data = self.config_data()
        expected_file = data.get("expected_failures")
        expected = load_expected_failures(
            self.path.parent / expected_file if expected_file else None
        )
        levels = data.get("levels")
        cassettes = data.get("cassettes")
        if data.get("mode") == "replay":
            # Offline and keyless: the adapter (built by a factory, or from the
            # target string) is answered from the cassettes.
            model = _load_object(data["adapter"])() if "adapter" in data else data["target"]

            async def run() -> Any:
                return await check_adapter(
                    model,
                    mode="replay",
                    levels=levels,
                    expected_failures=expected,
                    cassettes=self.path.parent / cassettes if cassettes else None,
                )

        elif "harness" in data:
            harness = _load_object(data["harness"])()

            async def run() -> Any:
                with harness:
                    return await run_harness(harness, levels=levels, expected_failures=expected)

        else:

            async def run() -> Any:
                return await check_adapter(
                    data["target"],
                    mode=data.get("mode", "emulated"),
                    levels=levels,
                    expected_failures=expected,
                )

        report = anyio.run(run)
        return {r.scenario.id: r for r in report.results}


class ScenarioItem(pytest.Item):
    """One scenario's verdict as a test outcome."""

    def runtest(self) -> None:
        """Pass, fail, skip or xfail as the verdict says."""
        parent = self.parent
        assert isinstance(parent, ConformanceFile)
        result = parent.results()[self.name]
        notes = "; ".join(result.problems)
        if result.verdict in ("fail", "xpass"):
            raise ScenarioFailure(result)
        if result.verdict in ("not claimed", "n/a"):
            pytest.skip(f"{result.verdict}: {notes}")
        if result.verdict == "xfail":
            pytest.xfail(notes)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The scenario's problems, one a line."""
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
