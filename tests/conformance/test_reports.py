"""Reports, verdicts, expected failures, live mode and the command line."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from agentkit import Capabilities, ModelRequest
from agentkit._cli import main
from agentkit.conformance import (
    ConformanceReport,
    FunctionHarness,
    LiveHarness,
    claims,
    run_harness,
)
from agentkit.testing import FunctionAdapter


async def _function_report(**kwargs: object) -> ConformanceReport:
    with FunctionHarness() as harness:
        return await run_harness(harness, **kwargs)  # type: ignore[arg-type]


def test_claims_reads_capability_names() -> None:
    caps = Capabilities(tool_choice=frozenset({"auto"}), settings=frozenset({"seed"}))
    assert claims(caps, "tools")
    assert not claims(caps, "image_input")
    assert claims(caps, "tool_choice:auto")
    assert not claims(caps, "tool_choice:required")
    assert claims(caps, "setting:seed")
    assert not claims(caps, "setting:stop")
    assert claims(caps, "structured_output:native")


@pytest.mark.anyio
async def test_unclaimed_capabilities_are_tried_and_may_be_claimable() -> None:
    def wrap(inner: FunctionAdapter) -> FunctionAdapter:
        inner.capabilities = Capabilities(image_input=False, tool_call_streaming=False)
        return inner

    with FunctionHarness(wrap) as harness:  # type: ignore[arg-type]
        report = await run_harness(harness, levels=["multimodal"])
    [image] = report.results
    assert image.verdict == "could claim"
    assert report.ok


@pytest.mark.anyio
async def test_an_expected_failure_that_passes_fails_the_run() -> None:
    report = await _function_report(
        levels=["core"], expected_failures={"core.plain_answer": "thought broken"}
    )
    verdicts = {r.scenario.id: r.verdict for r in report.results}
    assert verdicts["core.plain_answer"] == "xpass"
    assert not report.ok


@pytest.mark.anyio
async def test_live_mode_marks_scripted_scenarios_not_applicable() -> None:
    adapter = FunctionAdapter(lambda request: "Hello! 1 2 3", capabilities=Capabilities())
    with LiveHarness(adapter) as harness:
        report = await run_harness(harness, levels=["core", "streaming"])
    verdicts = {r.scenario.id: r.verdict for r in report.results}
    assert verdicts["core.plain_answer_exact"] == "n/a"
    assert verdicts["core.plain_answer"] == "pass"
    assert verdicts["streaming.text"] == "pass"
    # max_tokens: the function ignores it and says "stop", so a claimed setting fails live.
    assert verdicts["core.max_tokens"] == "fail"


@pytest.mark.anyio
async def test_reports_render_in_every_format() -> None:
    report = await _function_report(levels=["core", "errors"])
    data = json.loads(report.render("json"))
    assert data["ok"]
    assert data["agentkit_version"]
    assert data["scenario_version"] == "1"
    assert data["summary"]["core"]["pass"] == 12
    # No wire under a function: no connection to refuse or to time out.
    assert {r["id"] for r in data["results"] if r["verdict"] != "pass"} == {
        "errors.connection_refused",
        "errors.read_timeout",
    }
    markdown = report.render("md")
    assert "| core | 12 | 0 |" in markdown
    assert "`errors.rate_limit`" in markdown
    root = ElementTree.fromstring(report.render("junit"))
    assert [s.get("name") for s in root] == ["core", "errors"]
    assert sum(int(s.get("tests", 0)) for s in root) == len(report.results)
    assert "PASSED" in report.summary()


def test_the_command_line_writes_a_report_and_sets_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.xml"
    code = main(["conformance", "vllm:m", "--level", "errors", "--report", "junit", "-o", str(out)])
    assert code == 0
    assert ElementTree.parse(out).getroot().tag == "testsuites"
    err = capsys.readouterr().err
    assert "PASS  errors.rate_limit" in err
    assert "PASSED" in err


def test_the_command_line_fails_on_a_failing_claimed_scenario(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Native Ollama cannot say content_filter; without its expected-failures file it fails.
    assert main(["conformance", "ollama:llama3.2", "--level", "core"]) == 1
    err = capsys.readouterr().err
    assert "FAIL  core.finish_content_filter" in err
    assert "expected 'content_filter'" in err


def test_the_command_line_honours_an_expected_failures_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = Path(__file__).parent / "expected_failures" / "ollama.yaml"
    args = ["conformance", "ollama:llama3.2", "--level", "core", "--expected-failures"]
    assert main([*args, str(expected)]) == 0
    assert "XFAIL core.finish_content_filter" in capsys.readouterr().err


def test_unknown_protocols_and_modes_are_user_errors(capsys: pytest.CaptureFixture[str]) -> None:
    # The in-process local model speaks no wire the kit can emulate.
    assert main(["conformance", "llamacpp:smollm2-135m"]) == 2
    assert "declares no wire protocol: pass --wire" in capsys.readouterr().err
    assert main(["conformance", "vllm:m", "--mode", "replay"]) == 2
    assert "--cassettes" in capsys.readouterr().err


def test_requests_are_neutral_requests() -> None:
    from agentkit.conformance import load_scenarios

    assert all(isinstance(s.model_request(), ModelRequest) for s in load_scenarios())
