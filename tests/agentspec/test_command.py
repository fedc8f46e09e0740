"""The ``export`` and ``import`` sub-commands, through their functions and ``python -m``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentkit.agentspec._command import (
    add_export_arguments,
    add_import_arguments,
    run_export,
    run_import,
)
from agentkit.exceptions import SpecValidationError, UserError

ROOT = Path(__file__).resolve().parents[2]
WEATHER = ROOT / "examples" / "weather" / "agent.yaml"


def _export(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_export_arguments(parser)
    return run_export(parser.parse_args(argv))


def _import(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_import_arguments(parser)
    return run_import(parser.parse_args(argv))


def test_export_writes_json_and_prints_the_losses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spec.json"
    assert _export(str(WEATHER), "--to", "agentspec", "-o", str(out)) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["component_type"] == "Agent"
    assert document["tools"][0]["name"] == "get_weather"
    err = capsys.readouterr().err
    assert "warning: max_turns: max_turns has no place in Agent Spec" in err
    assert "warning: model:" in err


def test_export_writes_yaml_for_a_yaml_name_and_json_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spec.yaml"
    assert _export(str(WEATHER), "--to", "agentspec", "-o", str(out)) == 0
    from_yaml = yaml.safe_load(out.read_text(encoding="utf-8"))
    capsys.readouterr()
    assert _export(str(WEATHER), "--to", "agentspec") == 0
    assert json.loads(capsys.readouterr().out) == from_yaml


def test_strict_export_refuses_any_loss_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spec.json"
    assert _export(str(WEATHER), "--to", "agentspec", "-o", str(out), "--strict") == 2
    assert not out.exists()
    assert "error: --strict: 2 thing(s)" in capsys.readouterr().err


def test_strict_export_of_a_lossless_agent_succeeds(tmp_path: Path) -> None:
    agent = tmp_path / "agent.yaml"
    agent.write_text("name: plain\ninstructions: Hi.\nmodel: openai:gpt-4.1-mini\n")
    out = tmp_path / "spec.json"
    assert _export(str(agent), "--to", "agentspec", "-o", str(out), "--strict") == 0
    assert json.loads(out.read_text())["llm_config"]["component_type"] == "OpenAiConfig"


def test_import_writes_an_agent_file_agentkit_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.json"
    assert _export(str(WEATHER), "--to", "agentspec", "-o", str(spec)) == 0
    out = tmp_path / "agent.yaml"
    assert _import(str(spec), "-o", str(out), "--strict") == 0
    assert yaml.safe_load(out.read_text()) == yaml.safe_load(WEATHER.read_text()) | {
        "settings": {"temperature": 0.0, "max_tokens": 256}
    }
    # The multi-line instructions stay a readable block.
    assert "instructions: |" in out.read_text()
    assert "wrote the agent file" in capsys.readouterr().err


def test_import_maps_tools_and_strict_refuses_what_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyagentspec import Agent
    from pyagentspec.llms import OpenAiConfig
    from pyagentspec.serialization import AgentSpecSerializer
    from pyagentspec.tools import ServerTool

    agent = Agent(
        name="calc",
        system_prompt="Add.",
        llm_config=OpenAiConfig(name="m", model_id="gpt-4.1-mini"),
        tools=[ServerTool(name="add"), ServerTool(name="mul")],
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(AgentSpecSerializer().to_yaml(agent), encoding="utf-8")
    mapped = ("--tool", "add=tests.agentspec.adder_tools:add")
    assert _import(str(spec), *mapped, "--strict") == 2
    assert "warning: $.tools[1]: ServerTool 'mul'" in capsys.readouterr().err
    assert _import(str(spec), *mapped) == 0
    assert yaml.safe_load(capsys.readouterr().out)["tools"] == ["tests.agentspec.adder_tools:add"]


def test_a_malformed_tool_mapping_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="NAME=module:function"):
        _import(str(tmp_path / "spec.json"), "--tool", "add")


def test_an_invalid_document_raises_with_its_path(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps({"component_type": "Agent", "name": "x", "agentspec_version": "26.1.0"})
    )
    with pytest.raises(SpecValidationError) as caught:
        _import(str(spec))
    assert caught.value.path in ("$.llm_config", "$.system_prompt")


def test_a_missing_pyagentspec_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes `import pyagentspec` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "pyagentspec", None)
    with pytest.raises(UserError, match=r"pip install 'agentkit-interop\[agentspec\]'"):
        _export(str(WEATHER), "--to", "agentspec")


def _module(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentkit.agentspec", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_python_m_exports_and_imports(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    done = _module("export", str(WEATHER), "--to", "agentspec", "-o", str(spec))
    assert done.returncode == 0, done.stderr
    assert "warning: max_turns" in done.stderr
    agent = tmp_path / "agent.yaml"
    done = _module("import", str(spec), "-o", str(agent))
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(agent.read_text())["tools"] == ["weather_tools:get_weather"]


def test_python_m_exits_2_on_strict_losses_and_on_bad_input(tmp_path: Path) -> None:
    done = _module("export", str(WEATHER), "--to", "agentspec", "--strict")
    assert done.returncode == 2
    assert done.stdout == ""
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    done = _module("import", str(bad))
    assert done.returncode == 2
    assert "SpecValidationError" in done.stderr


def test_importing_agentkit_and_its_agentspec_module_loads_no_pyagentspec() -> None:
    code = (
        "import sys, agentkit, agentkit.agentspec; "
        "assert agentkit.agentspec.__all__; print('pyagentspec' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
