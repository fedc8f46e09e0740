"""The pytest plugin: a configuration file becomes one test per scenario."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

HARNESS = """
from agentkit.conformance import FunctionHarness


class DropsUsage:
    spec_version = "1"

    def __init__(self, inner):
        self.inner, self.provider, self.model_id = inner, inner.provider, inner.model_id
        self.capabilities = inner.capabilities

    async def generate(self, request):
        response = await self.inner.generate(request)
        return response.model_copy(update={"usage": None})

    def stream(self, request):
        return self.inner.stream(request)


def broken():
    return FunctionHarness(DropsUsage)
"""


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_plugin_is_registered_for_pytest() -> None:
    names = {ep.value for ep in entry_points(group="pytest11")}
    assert "agentkit.conformance.pytest_plugin" in names


def test_a_model_string_runs_each_scenario_as_a_test(tmp_path: Path) -> None:
    (tmp_path / "agentkit_conformance.yaml").write_text(
        "target: ollama:llama3.2\nlevels: [core, tools]\nexpected_failures: gaps.yaml\n"
    )
    (tmp_path / "gaps.yaml").write_text(
        "- {id: core.finish_content_filter, reason: no content filter in Ollama}\n"
    )
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASSED agentkit_conformance.yaml::core.plain_answer" in run.stdout
    assert "XFAIL agentkit_conformance.yaml::core.finish_content_filter" in run.stdout
    assert "SKIPPED" in run.stdout  # tool_choice:required is not claimed by Ollama


def test_a_harness_factory_and_a_failing_scenario(tmp_path: Path) -> None:
    (tmp_path / "harness_mod.py").write_text(HARNESS)
    (tmp_path / "agentkit_conformance.yaml").write_text(
        "harness: harness_mod:broken\nlevels: [core]\n"
    )
    run = _pytest(tmp_path)
    assert run.returncode == 1
    assert "FAILED agentkit_conformance.yaml::core.plain_answer" in run.stdout
    assert "usage: not reported" in run.stdout


def test_the_third_party_example_passes_through_the_plugin() -> None:
    import os

    example = Path(__file__).parents[2] / "examples" / "third_party_adapter"
    env = dict(os.environ, PYTHONPATH=str(example))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests"],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout
    assert "failed" not in run.stdout
