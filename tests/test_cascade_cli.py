"""A cascade in an agent file, run by ``agentkit run``: one line of YAML, the reason shown.

The emulators run in this process; the CLI is a real subprocess that reaches
them over loopback, as a user's shell would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import ModelRequest, load_agent, run_sync
from agentkit.exceptions import SpecValidationError, UserError
from agentkit.testing import OllamaEmulator, OpenAIChatEmulator, serve_asgi

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "cascade" / "agent.yaml"
CHEAP = "ollama:smol"
PAID = "openai:gpt-4.1-mini"
GOOD = '{"city": "Paris", "celsius": 20}'

AGENT = """\
name: weather
instructions: Give the weather as JSON.
model: [ollama:smol, openai:gpt-4.1-mini]
escalate_on: [invalid_output, {check: "%(checks)s:plausible"}]
output_schema:
  type: object
  properties:
    city: {type: string}
    celsius: {type: integer}
  required: [city, celsius]
  additionalProperties: false
profiles:
  dev:
    model: ollama:smol
"""

CHECKS = """\
def plausible(output):
    return -90 <= output["celsius"] <= 60 or f"{output['celsius']} C is not a temperature on Earth"
"""


class Script:
    """Answers in order, for one emulator."""

    def __init__(self) -> None:
        self.answers: list[str] = []

    def __call__(self, request: ModelRequest) -> str:
        assert self.answers, "the model was asked more often than the test scripted"
        return self.answers.pop(0)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Script, Script, dict[str, str], Any, Any]]:
    cheap, paid = Script(), Script()
    cheap_app, paid_app = OllamaEmulator(cheap), OpenAIChatEmulator(paid, api_key="sk-test-planted")
    with serve_asgi(cheap_app) as cheap_url, serve_asgi(paid_app) as paid_url:
        env = {
            "OLLAMA_HOST": cheap_url,
            "OPENAI_BASE_URL": f"{paid_url}/v1",
            "OPENAI_API_KEY": "sk-test-planted",
            "AGENTKIT_PRICES": str(tmp_path / "no-prices.json"),
        }
        yield cheap, paid, env, cheap_app, paid_app


def agent_file(tmp_path: Path, module: str = "cascade_checks") -> Path:
    (tmp_path / f"{module}.py").write_text(CHECKS, encoding="utf-8")
    path = tmp_path / "agent.yaml"
    path.write_text(AGENT % {"checks": module}, encoding="utf-8")
    return path


def agentkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    for name in ("AGENTKIT_MODEL", "AGENTKIT_PROFILE", "OPENAI_BASE_URL", "OLLAMA_HOST"):
        full.pop(name, None)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "agentkit", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
        cwd=ROOT,
    )


def test_run_shows_the_escalation_and_the_saving(servers: Any, tmp_path: Path) -> None:
    cheap, paid, env, _, _ = servers
    cheap.answers.append('{"city": "Paris"}')
    paid.answers.append(GOOD)

    out = agentkit("run", str(agent_file(tmp_path)), "-i", "Paris?", "--tokens", env=env)

    assert out.returncode == 0, out.stderr
    assert (
        f"escalate: turn 1 {CHEAP} → {PAID} (invalid_output: the answer does not match the "
        "output schema: output: 'celsius' is a required property)"
    ) in out.stderr.splitlines()
    rows = [line.split() for line in out.stdout.splitlines()]
    assert [row[:2] for row in rows if row[:1] in (["1"], ["2"])] == [["1", CHEAP], ["2", PAID]]
    assert f"cascade: answered by {PAID} after 1 escalation(s); measured against {PAID}" in (
        out.stdout
    )


def test_run_json_has_the_escalation_event_and_the_reason_on_the_result(
    servers: Any, tmp_path: Path
) -> None:
    cheap, paid, env, _, _ = servers
    cheap.answers.append('{"city": "Paris", "celsius": 400}')
    paid.answers.append(GOOD)

    out = agentkit("run", str(agent_file(tmp_path)), "-i", "Paris?", "--json", env=env)

    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    [escalation] = [line for line in lines if line["type"] == "escalation"]
    assert escalation["condition"] == "check"
    assert escalation["detail"] == (
        "cascade_checks:plausible said no: 400 C is not a temperature on Earth"
    )
    assert escalation["from_model"] == CHEAP
    assert escalation["to_model"] == PAID
    result = lines[-1]["result"]
    assert result["model"] == PAID
    assert result["cascade"] == [CHEAP, PAID]
    assert [e["condition"] for e in result["escalations"]] == ["check"]
    assert result["output"] == {"city": "Paris", "celsius": 20}


def test_the_dev_profile_is_all_local(servers: Any, tmp_path: Path) -> None:
    cheap, _, env, _, paid_app = servers
    # With one model there is no cascade: the usual output retry asks it again.
    cheap.answers += ['{"city": "Paris"}', GOOD]

    out = agentkit("run", str(agent_file(tmp_path)), "-i", "Paris?", "-p", "dev", env=env)

    assert out.returncode == 0, out.stderr
    assert "escalate:" not in out.stderr
    assert paid_app.requests == []


def test_model_on_the_command_line_wins(servers: Any, tmp_path: Path) -> None:
    _, paid, env, cheap_app, _ = servers
    paid.answers.append(GOOD)

    out = agentkit("run", str(agent_file(tmp_path)), "-i", "Paris?", "-m", PAID, "--json", env=env)

    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])["result"]
    assert result["model"] == PAID
    assert result["cascade"] == []
    assert cheap_app.requests == []


def test_validate_names_a_bad_condition(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "name: a\nmodel: [ollama:smol, openai:gpt-4.1-mini]\nescalate_on: [invalid_ouput]\n",
        encoding="utf-8",
    )
    out = agentkit("validate", str(path), env={})
    assert out.returncode != 0
    assert (
        f"{path}: at $.escalate_on[0]: 'invalid_ouput' is not one of ['invalid_output', "
        "'invalid_tool_call', 'truncated']"
    ) in out.stderr


@pytest.mark.parametrize(
    ("escalate_on", "message"),
    [
        ("truncated", "at $.escalate_on: 'truncated' is not of type 'array'"),
        (
            "[{chek: a:b}]",
            "at $.escalate_on[0]: {'chek': 'a:b'} is not valid under any of the given schemas; "
            "expected invalid_output, invalid_tool_call, truncated, or "
            "{check: package.module:function}",
        ),
        ("[{check: nocolon}]", "at $.escalate_on[0].check: 'nocolon' does not match"),
    ],
)
def test_bad_escalate_on_values_are_clear(tmp_path: Path, escalate_on: str, message: str) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(f"name: a\nescalate_on: {escalate_on}\n", encoding="utf-8")
    with pytest.raises(SpecValidationError) as caught:
        load_agent(path)
    assert message in str(caught.value)


def test_a_check_that_does_not_import_fails_at_load(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "name: a\nescalate_on: [{check: 'cascade_no_such_module:check'}]\n", encoding="utf-8"
    )
    with pytest.raises(UserError, match="escalate_on check 'cascade_no_such_module:check'"):
        load_agent(path)
    (tmp_path / "cascade_has_module.py").write_text("x = 1\n", encoding="utf-8")
    path.write_text("name: a\nescalate_on: [{check: 'cascade_has_module:x'}]\n", encoding="utf-8")
    with pytest.raises(UserError, match="'x' is not a function"):
        load_agent(path)


def test_a_profile_can_change_the_conditions(tmp_path: Path) -> None:
    path = agent_file(tmp_path, "cascade_checks_profile")
    text = path.read_text(encoding="utf-8")
    more = "  strict:\n    escalate_on: [truncated]\n  plain:\n    escalate_on: []\n"
    path.write_text(text + more, encoding="utf-8")
    assert load_agent(path, profile="strict").escalate_on == ["truncated"]
    assert load_agent(path, profile="plain").escalate_on == []
    default = load_agent(path)
    assert default.default_model == f"{CHEAP},{PAID}"
    assert default.escalate_on[0] == "invalid_output"
    check: Callable[[Any], Any] = default.escalate_on[1]  # type: ignore[assignment]
    assert check({"celsius": 20}) is True


def test_the_example_runs_as_a_cascade(servers: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cheap, paid, env, _, paid_app = servers
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cheap.answers += ['{"city": "Lyon", "celsius": 21}', '{"city": "Lyon", "celsius": 2100}']
    paid.answers.append('{"city": "Lyon", "celsius": 21}')
    agent = load_agent(EXAMPLE)
    assert agent.default_model == "llamacpp:smollm2-135m,openai:gpt-4.1-mini"
    assert load_agent(EXAMPLE, profile="dev").default_model == "llamacpp:smollm2-135m"
    # The example's own cascade, with the emulated local model in llama.cpp's place.
    prompt = "It was 21 degrees in Lyon today."
    kept = run_sync(agent, prompt, model=[CHEAP, PAID])
    assert kept.model == CHEAP
    assert kept.escalations == []
    assert paid_app.requests == []
    moved = run_sync(agent, prompt, model=[CHEAP, PAID])
    assert moved.model == PAID
    assert moved.output == {"city": "Lyon", "celsius": 21}
    assert moved.escalations[0].detail == (
        "checks:plausible said no: 2100 °C is not a temperature on Earth"
    )
