"""The ``agentkit`` command, end to end: a real subprocess against a loopback emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentkit import load_agent, run_sync
from agentkit.testing import FunctionAdapter, OpenAIChatEmulator, openai_error, serve_asgi

from .weather_script import expected_answer, weather_script

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "weather" / "agent.yaml"
CLI = [sys.executable, "-m", "agentkit"]


def agentkit(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Any:
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full_env.pop("AGENTKIT_MODEL", None)
    full_env.update(env or {})
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    app = OpenAIChatEmulator(weather_script, api_key="sk-test")
    with serve_asgi(app) as url:
        yield f"{url}/v1"


def openai_env(base_url: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "sk-test"}


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_run_example_against_the_openai_emulator(emulator: str, stream: str) -> None:
    out = agentkit(
        "run",
        str(EXAMPLE),
        "--model",
        "openai:gpt-4.1-mini",
        "--input",
        "What's the weather in Paris?",
        stream,
        env=openai_env(emulator),
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines()[0] == "model: openai:gpt-4.1-mini (given with --model)"
    lines = out.stdout.splitlines()
    assert '→ get_weather({"city": "Paris"})' in lines
    result_line = next(line for line in lines if line.startswith("← get_weather: "))
    assert '"city": "Paris"' in result_line
    assert expected_answer("Paris") in lines
    header = next(i for i, line in enumerate(lines) if line.startswith("turn"))
    assert lines[header].split() == [
        "turn", "model", "input", "cached", "output", "reasoning", "cost",
    ]  # fmt: skip
    turns = [line.split() for line in lines[header + 1 :]]
    assert [row[0] for row in turns] == ["1", "2", "total"]
    assert all(row[1] == "openai:gpt-4.1-mini" for row in turns[:2])
    assert turns[-1][1:3] == ["2", "turns"]
    # Input tokens are summed over the turns, and gpt-4.1-mini has a known price.
    assert int(turns[-1][3]) == int(turns[0][2]) + int(turns[1][2]) > 0
    costs = [float(row[-1].removeprefix("$")) for row in turns]
    assert costs[2] == pytest.approx(costs[0] + costs[1], abs=2e-6)
    assert costs[2] > 0


def test_json_mode_prints_every_event(emulator: str) -> None:
    out = agentkit(
        "run",
        str(EXAMPLE),
        "-m",
        "openai:gpt-4.1-mini",
        "--json",
        env=openai_env(emulator),
        stdin="What's the weather in Oslo?",
    )
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert events[0] == {
        "type": "model_choice",
        "model": "openai:gpt-4.1-mini",
        "reason": "given with --model",
    }
    assert kinds[1:3] == ["run_start", "turn_start"]
    assert kinds[-2:] == ["output", "run_end"]
    assert "tool_result" in kinds
    result = events[-1]["result"]
    assert result["output"] == expected_answer("Oslo")
    assert result["turns"] == 2
    # gpt-4.1-mini has a known price: the result carries it, per model and in total.
    cost = result["usage_by_model"]["openai:gpt-4.1-mini"]["cost_usd"]
    assert result["cost_usd"] == cost > 0


def test_json_mode_ends_a_failure_with_an_error_line(emulator: str) -> None:
    out = agentkit(
        "run",
        str(EXAMPLE),
        "-m",
        "openai:gpt-4.1-mini",
        "--json",
        "-i",
        "hi",
        env={"OPENAI_BASE_URL": emulator, "OPENAI_API_KEY": "sk-wrong"},
    )
    assert out.returncode == 3, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0]["type"] == "model_choice"
    error = lines[-1]
    assert error["type"] == "error"
    assert (error["error"], error["cause"], error["exit_code"]) == (
        "ModelCallError",
        "AuthenticationError",
        3,
    )
    assert "401" in error["message"]
    # Errors before the run (here: no input) end the same way.
    empty = agentkit("run", str(EXAMPLE), "--json", "-i", "")
    assert empty.returncode == 2
    assert json.loads(empty.stdout.splitlines()[-1]) == {
        "type": "error",
        "error": "UserError",
        "message": "no input: --input was empty",
        "exit_code": 2,
    }


def test_same_agent_file_runs_through_function_adapter() -> None:
    agent = load_agent(EXAMPLE)
    result = run_sync(agent, "What's the weather in Paris?", model=FunctionAdapter(weather_script))
    assert result.output == expected_answer("Paris")
    assert result.turns == 2


def test_errors_are_one_line_with_their_exit_code(emulator: str, tmp_path: Path) -> None:
    wrong_key = agentkit(
        "run",
        str(EXAMPLE),
        "-m",
        "openai:gpt-4.1-mini",
        "-i",
        "hi",
        env={"OPENAI_BASE_URL": emulator, "OPENAI_API_KEY": "sk-wrong"},
    )
    assert wrong_key.returncode == 3
    error_lines = [line for line in wrong_key.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert error_lines[0].startswith("error: AuthenticationError: openai: 401")
    assert "OPENAI_API_KEY" in error_lines[0]
    assert "Traceback" not in wrong_key.stderr

    no_key = agentkit("run", str(EXAMPLE), "-m", "openai:gpt-4.1-mini", "-i", "hi")
    assert no_key.returncode == 2
    assert "OPENAI_API_KEY is not set" in no_key.stderr

    bad = tmp_path / "agent.yaml"
    bad.write_text("name: x\nmax_turns: zero\n", encoding="utf-8")
    invalid = agentkit("validate", str(bad))
    assert invalid.returncode == 2
    assert invalid.stderr.strip() == (
        f"error: SpecValidationError: {bad}: at $.max_turns: 'zero' is not of type 'integer'"
    )


def test_rate_limit_exit_code(tmp_path: Path) -> None:
    def always_429(request: object) -> object:
        raise openai_error(
            429, "Rate limit reached", code="rate_limit_exceeded", headers={"retry-after": "0"}
        )

    with serve_asgi(OpenAIChatEmulator(always_429)) as url:
        out = agentkit(
            "run",
            str(EXAMPLE),
            "-m",
            "openai:gpt-4.1-mini",
            "-i",
            "hi",
            env={"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "k"},
        )
    assert out.returncode == 4, out.stderr
    assert "RateLimitError" in out.stderr
    # Two retries were made and shown before the run gave up.
    retries = [line for line in out.stderr.splitlines() if line.startswith("retry: ")]
    assert retries == [
        f"retry: openai:gpt-4.1-mini attempt {n} failed (RateLimitError: openai: 429 rate "
        "limited or out of quota: Rate limit reached; retry after 0 s); retrying in 0.0 s"
        for n in (1, 2)
    ]


def test_a_run_that_survives_rate_limits_says_so() -> None:
    failures = 2

    def twice_429(request: Any) -> Any:
        nonlocal failures
        if failures:
            failures -= 1
            raise openai_error(429, "Rate limit reached", headers={"retry-after": "0"})
        return weather_script(request)

    with serve_asgi(OpenAIChatEmulator(twice_429)) as url:
        out = agentkit(
            "run",
            str(EXAMPLE),
            "-m",
            "openai:gpt-4.1-mini",
            "-i",
            "Weather in Paris?",
            env={"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "k"},
        )
    assert out.returncode == 0, out.stderr
    assert expected_answer("Paris") in out.stdout.splitlines()
    retries = [line for line in out.stderr.splitlines() if line.startswith("retry: ")]
    assert [line.split(" failed")[0] for line in retries] == [
        "retry: openai:gpt-4.1-mini attempt 1",
        "retry: openai:gpt-4.1-mini attempt 2",
    ]


def test_validate_schema_and_help() -> None:
    ok = agentkit("validate", str(EXAMPLE))
    assert ok.returncode == 0
    assert ok.stdout.strip() == f"{EXAMPLE}: ok (agent 'weather')"
    schema = agentkit("schema", "agent")
    assert json.loads(schema.stdout)["$id"].endswith("agent.schema.json")
    unknown = agentkit("schema", "nope")
    assert unknown.returncode == 2
    assert "no schema named 'nope'" in unknown.stderr
    helped = agentkit("--help")
    assert helped.returncode == 0
    assert "run an agent file" in helped.stdout
    assert "validate" in helped.stdout


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_a_cut_off_answer_warns_or_fails_on_request(stream: str) -> None:
    from agentkit import Message, ModelResponse

    def cut_off(request: Any) -> Any:
        return ModelResponse(
            message=Message.assistant("It is 21"),
            finish_reason="length",
            provider="openai",
            model_id="gpt-4.1-mini",
        )

    with serve_asgi(OpenAIChatEmulator(cut_off)) as url:
        env = {"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "k"}
        base = ["run", str(EXAMPLE), "-m", "openai:gpt-4.1-mini", "-i", "hi", stream]
        warned = agentkit(*base, env=env)
        failed = agentkit(*base, "--fail-on-truncation", env=env)
    assert warned.returncode == 0, warned.stderr
    assert "It is 21" in warned.stdout
    assert "warning: turn 1: the answer of openai:gpt-4.1-mini was cut off" in warned.stderr
    assert failed.returncode == 12, failed.stderr
    assert "error: TruncatedError: turn 1: the answer of openai:gpt-4.1-mini" in failed.stderr


def test_empty_input_is_refused_from_the_option_and_from_stdin() -> None:
    for out in [
        agentkit("run", str(EXAMPLE), "-m", "openai:gpt-4.1-mini", "--input", ""),
        agentkit("run", str(EXAMPLE), "-m", "openai:gpt-4.1-mini", "--input", "  \n"),
        agentkit("run", str(EXAMPLE), "-m", "openai:gpt-4.1-mini", stdin=""),
    ]:
        assert out.returncode == 2, out.stderr
        assert out.stderr.startswith("error: UserError: no input: ")
        assert out.stdout == ""


def test_budget_exceeded_has_its_own_exit_code(tmp_path: Path) -> None:
    agent = tmp_path / "agent.yaml"
    agent.write_text(
        "name: pricey\nmax_cost_usd: 0.000001\nsettings: {max_tokens: 1000}\n", encoding="utf-8"
    )
    # The budget stops the run before any request: the URL is never reached.
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "k"}
    out = agentkit("run", str(agent), "-m", "openai:gpt-4.1-mini", "-i", "hi", env=env)
    assert out.returncode == 11, out.stderr
    assert "error: BudgetExceededError: " in out.stderr
    assert "max_cost_usd=$1e-06" in out.stderr


def test_run_help_lists_the_exit_codes() -> None:
    from agentkit._cli import EXIT_TABLE

    out = agentkit("run", "--help")
    assert out.returncode == 0
    assert "exit codes:" in out.stdout
    lines = out.stdout.split("exit codes:")[1].splitlines()[1 : len(EXIT_TABLE) + 1]
    listed = {line.split()[0] for line in lines}
    assert listed == {str(code) for code, _, _ in EXIT_TABLE}
    assert "11   BudgetExceededError: " in out.stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, name, _ in EXIT_TABLE:
        assert f"| {code} | `{name}` |" in readme if name else f"| {code} | |" in readme


def test_bytes_that_are_not_utf8_are_user_errors(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}

    def raw(*args: str, stdin: bytes) -> Any:
        return subprocess.run(
            [*CLI, *args], capture_output=True, input=stdin, env=env, cwd=ROOT, timeout=120
        )

    piped = raw("run", str(EXAMPLE), "-m", "openai:gpt-4.1-mini", stdin=b"Weather in K\xf6ln?")
    assert piped.returncode == 2
    assert piped.stderr.decode() == (
        "error: UserError: stdin is not UTF-8 text: byte 0xf6 at offset 12 cannot be decoded\n"
    )
    bad = tmp_path / "agent.yaml"
    bad.write_bytes(b"name: x\ninstructions: \xff\n")
    for command in ("validate", "run"):
        out = raw(command, str(bad), stdin=b"hi")
        assert out.returncode == 2
        assert out.stderr.decode() == (
            f"error: UserError: agent file {bad} is not UTF-8 text: byte 0xff at offset 22 "
            "cannot be decoded; save it as UTF-8\n"
        )
    argv = raw("run", str(EXAMPLE), "-i", os.fsdecode(b"K\xf6ln"), stdin=b"")
    assert argv.returncode == 2
    assert b"--input is not UTF-8 text" in argv.stderr


def test_an_unexpected_error_is_one_line_without_debug_and_a_traceback_with_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import agentkit._cli as cli

    def broken(args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "_validate", broken)
    assert cli.main(["validate", "examples/weather/agent.yaml"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: a bug" in err
    assert "--debug" in err
    assert "Traceback" not in err
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["--debug", "validate", "examples/weather/agent.yaml"])


def test_debug_before_conformance_reaches_the_kit(capsys: pytest.CaptureFixture[str]) -> None:
    # After a top-level flag the kit's options must still be there, and the
    # kit's own --debug default must not overwrite the top-level one.
    import agentkit._cli as cli

    words = ["--debug", "conformance", "openai:gpt-4.1-mini", "--scenario", "core.plain_answer"]
    assert cli._parser(full=True).parse_args(words).debug is True
    assert cli.main(words) == 0
    assert "PASS  core.plain_answer" in capsys.readouterr().err


def test_the_console_script_imports_references_from_the_working_directory(tmp_path: Path) -> None:
    # An outsider's `agentkit conformance --factory my_adapter:factory`, typed in
    # the folder that holds my_adapter.py, found no such module (`python -m`
    # puts the working directory on the path; a console script does not).
    (tmp_path / "my_adapter.py").write_text("LOADED = True\n")
    script = Path(sys.executable).with_name("agentkit")
    out = subprocess.run(
        [str(script), "conformance", "x:y", "--factory", "my_adapter:no_such_factory"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "'my_adapter' has no 'no_such_factory'" in out.stderr, out.stderr
