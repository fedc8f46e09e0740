"""Errors of the kit itself are not verdicts: filters, expected failures, crashes, JUnit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from agentkit import _registry
from agentkit._cli import main
from agentkit.conformance import ConformanceReport, FunctionHarness, run_harness
from agentkit.conformance._runner import ScenarioResult
from agentkit.exceptions import HarnessError, UserError

from . import foreign


def _boom(model_id: str, *, base_url: str | None = None, api_key: str | None = None) -> None:
    raise ValueError("bad gateway config")


_boom.wire_protocol = "openai-chat"  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_registry._registered, "boom", _boom)
    monkeypatch.setitem(_registry._registered, "foreign", foreign.create_foreign_adapter)


def test_a_level_that_matches_nothing_is_an_error_naming_the_levels(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "r.xml"
    code = main(
        ["conformance", "foreign:m", "--level", "nosuch", "--report", "junit", "-o", str(out)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "no level 'nosuch'" in err
    assert "levels: core, " in err
    assert "streaming" in err
    assert "PASSED" not in err
    assert not out.exists()


def test_a_scenario_filter_runs_only_those_and_a_wrong_id_is_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["conformance", "foreign:m", "--scenario", "core.plain_answer",
                 "--scenario", "tools.single_call"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "PASS  core.plain_answer " in err
    assert "PASS  tools.single_call " in err
    assert "core.multi_turn" not in err
    assert main(["conformance", "foreign:m", "--scenario", "core.plain_anwser"]) == 2
    err = capsys.readouterr().err
    assert "no scenario 'core.plain_anwser'" in err
    assert "core.plain_answer" in err  # what exists is named


def test_a_scenario_outside_the_chosen_levels_is_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["conformance", "foreign:m", "--level", "core", "--scenario", "tools.single_call"])
    assert code == 2
    assert "matches no scenario" in capsys.readouterr().err


def test_expected_failures_naming_no_scenario_are_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    gaps = tmp_path / "gaps.yaml"
    gaps.write_text("- {id: core.no_such_thing, reason: typo}\n")
    code = main(["conformance", "foreign:m", "--level", "core", "--expected-failures", str(gaps)])
    assert code == 2
    assert "core.no_such_thing" in capsys.readouterr().err


def test_a_factory_that_crashes_is_reported_as_such_with_its_own_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["conformance", "boom:m", "--level", "core"]) == 3
    err = capsys.readouterr().err
    assert "the adapter factory for 'boom' raised ValueError: bad gateway config" in err
    assert "Traceback" not in err
    assert main(["conformance", "boom:m", "--level", "core", "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.anyio
async def test_a_harness_that_crashes_mid_run_is_a_harness_error() -> None:
    class Crashing(FunctionHarness):
        def received(self):  # type: ignore[no-untyped-def]
            raise KeyError("lost the request log")

    with Crashing() as harness, pytest.raises(HarnessError, match=r"core\.plain_answer: KeyError"):
        await run_harness(harness, scenarios=["core.plain_answer"])


@pytest.mark.anyio
async def test_run_harness_checks_its_filters() -> None:
    with FunctionHarness() as harness:
        with pytest.raises(UserError, match="no level 'nosuch'"):
            await run_harness(harness, levels=["nosuch"])
        with pytest.raises(UserError, match=r"core\.nope"):
            await run_harness(harness, levels=["core"], expected_failures={"core.nope": "x"})


@pytest.mark.anyio
async def test_junit_is_valid_xml_whatever_the_messages_hold(tmp_path: Path) -> None:
    with FunctionHarness() as harness:
        report = await run_harness(harness, scenarios=["core.plain_answer", "core.multi_turn"])
    nasty = "nul\x00 bell\x07 esc\x1b tab\t cr\r lone\ud800 end]]> amp& <tag>"
    report.target = f"odd\x01target{nasty}"
    first, second = report.results
    report.results = [
        ScenarioResult(first.scenario, "fail", [nasty, "second\x1f"]),
        ScenarioResult(second.scenario, "n/a", [nasty]),
    ]
    text = report.render("junit")
    root = ElementTree.fromstring(text)
    failure = root.find("./testsuite/testcase/failure")
    assert failure is not None
    message = failure.get("message") or ""
    for kept in ("]]>", "amp&", "<tag>", "tab\t"):
        assert kept in message
    for dropped in ("\x00", "\x07", "\ud800"):
        assert dropped not in message
    assert "\\x00" in message  # shown, not silently dropped
    # Written as UTF-8, it parses from the file too.
    out = tmp_path / "r.xml"
    out.write_text(text, "utf-8")
    assert ElementTree.parse(out).getroot().tag == "testsuites"
    assert isinstance(report, ConformanceReport)


@pytest.mark.anyio
async def test_json_and_markdown_reports_stay_writable_with_lone_surrogates() -> None:
    import json

    with FunctionHarness() as harness:
        report = await run_harness(harness, scenarios=["core.plain_answer"])
    [result] = report.results
    report.results = [ScenarioResult(result.scenario, "fail", ["odd \ud800 text é"])]
    data = json.loads(report.render("json").encode("utf-8"))
    assert data["results"][0]["problems"] == ["odd \ud800 text é"]
    markdown = report.render("md").encode("utf-8").decode("utf-8")
    assert "odd \\ud800 text é" in markdown


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_plugin_fails_the_session_on_a_filter_that_matches_nothing(tmp_path: Path) -> None:
    (tmp_path / "agentkit_conformance.yaml").write_text(
        "target: ollama:llama3.2\nlevels: [nosuch]\n"
    )
    run = _pytest(tmp_path)
    assert run.returncode not in (0, 1), run.stdout + run.stderr
    assert "no level 'nosuch'" in run.stdout + run.stderr


def test_the_plugin_reports_a_crashing_factory_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "boom_mod.py").write_text(
        "def create(model_id, *, base_url=None, api_key=None):\n"
        "    raise ValueError('bad gateway config')\n"
    )
    (tmp_path / "agentkit_conformance.yaml").write_text(
        "target: boom:m\nfactory: boom_mod:create\nwire: openai-chat\n"
        "scenarios: [core.plain_answer]\n"
    )
    run = _pytest(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "the adapter factory for 'boom' raised ValueError: bad gateway config" in run.stdout
    assert "Traceback" not in run.stdout


def test_the_cli_checks_an_unregistered_factory_named_by_reference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 'acme' is registered nowhere: without --factory it is an unknown provider.
    assert main(["conformance", "acme:m", "--scenario", "core.plain_answer"]) == 2
    assert "acme" in capsys.readouterr().err
    reference = "tests.conformance.foreign:create_foreign_adapter"
    code = main(
        ["conformance", "acme:m", "--factory", reference, "--scenario", "core.plain_answer"]
    )
    assert code == 0
    assert "PASS  core.plain_answer " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "tests.conformance.no_such_module:create",
            "cannot import 'tests.conformance.no_such_module'",
        ),
        ("tests.conformance.foreign:no_such_factory", "has no 'no_such_factory'"),
        ("tests.conformance.foreign", "is not 'module:attribute'"),
    ],
)
def test_a_wrong_factory_reference_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], reference: str, message: str
) -> None:
    assert main(["conformance", "acme:m", "--factory", reference, "--level", "core"]) == 2
    err = capsys.readouterr().err
    assert "--factory: " in err
    assert message in err
    assert "Traceback" not in err
