"""The second third-party example, on aiohttp, proves the kit is transport-agnostic.

``examples/aiohttp_adapter`` (``relay-agentkit``) is installed as a workspace
member, so its ``relay`` entry point is real; its own tests run the
conformance kit through the pytest plugin. These tests run them as its
author would, and check the package keeps to the public seam.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from agentkit.conformance import load_scenarios

EXAMPLE = Path(__file__).parents[2] / "examples" / "aiohttp_adapter"
PACKAGE = EXAMPLE / "relay_agentkit"
#: Everything the example may import from agentkit's distributions.
PUBLIC = {"agentkit", "agentkit.adapter", "agentkit.exceptions", "agentkit.conformance"}
PUBLIC_ADAPTERS = {"agentkit_adapters.openai"}


def test_the_relay_entry_point_is_installed_from_the_workspace() -> None:
    (entry,) = [e for e in entry_points(group="agentkit.adapters") if e.name == "relay"]
    assert entry.value == "relay_agentkit:create_relay_adapter"
    assert entry.dist is not None
    assert entry.dist.name == "relay-agentkit"


def _imports(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.append(node.module)
    return modules


def test_the_example_uses_only_public_names_and_its_own_http_stack() -> None:
    seen: set[str] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        seen |= set(_imports(path))
    ours = {m for m in seen if m.split(".")[0] in ("agentkit", "agentkit_adapters")}
    assert ours <= PUBLIC | PUBLIC_ADAPTERS, ours - PUBLIC - PUBLIC_ADAPTERS
    assert "aiohttp" in seen
    assert not {m for m in seen if m.split(".")[0] in ("httpx", "httpx2")}


#: The example's plugin configurations: a harness factory (the Python API), the
#: kit building the adapter from its entry point, and the committed cassettes.
REPLAY = "agentkit_conformance_replay.yaml"
CONFIGS = ("agentkit_conformance.yaml", "agentkit_conformance_emulated.yaml", REPLAY)
#: No exchange for a cassette to hold: n/a in a replay, by design.
UNRECORDABLE = {"errors.connection_refused", "errors.read_timeout"}


def test_the_aiohttp_example_passes_through_the_plugin_in_every_mode() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "tests"],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    # Every shipped scenario passed in every configuration, none an expected
    # failure (the example claims only what it does). Skipped are only the two
    # scenarios a cassette cannot hold, in the replay, saying why; any other
    # scenario without a cassette would be skipped too: re-record as the
    # replay file says.
    for config in CONFIGS:
        for scenario in load_scenarios():
            if config == REPLAY and scenario.id in UNRECORDABLE:
                line = f"{scenario.id}: n/a: "
                assert line in run.stdout, (line, output)
                continue
            line = f"PASSED tests/{config}::{scenario.id}\n"
            assert line in run.stdout, (line, output)
    for test in (
        "test_record.py::test_recording_through_the_plugin_writes_cassettes_that_replay",
        "test_adapter.py::test_cancelling_the_consumer_closes_the_connection",
    ):
        assert f"PASSED tests/{test}" in run.stdout, (test, output)
    assert " failed" not in run.stdout
    assert f" {len(UNRECORDABLE)} skipped" in run.stdout
