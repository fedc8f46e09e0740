"""``agentkit batch`` on the embedded SQLite system database, in one process.

Real DBOS, a real loopback emulator behind the real OpenAI adapter; the
emulator counts every request, so a rerun that repeated a finished run
would show.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from agentkit._cli import main
from agentkit.durable._queues import parse_rate, queue_name
from agentkit.exceptions import UserError
from tests.durable.batch_helpers import (
    Recorder,
    batch_argv,
    child_env,
    emulator,
    read_lines,
    write_agent,
    write_inputs,
)


@pytest.fixture
def planted_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-planted")


def _batch(tmp_path: Path, inputs: Path, out: Path, url: str, *extra: str) -> int:
    db = f"sqlite:///{tmp_path / 'system.sqlite'}"
    argv = batch_argv(write_agent(tmp_path), inputs, out, db, url, *extra)
    return main(["--debug", *argv[1:]])


@pytest.mark.usefixtures("planted_key")
def test_every_input_gets_one_line_with_its_answer_usage_and_cost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ["alpha", "beta", "FAIL please", "gamma", "delta"]
    inputs = write_inputs(tmp_path, texts)
    out = tmp_path / "results.jsonl"
    recorder = Recorder()
    with emulator(recorder) as url:
        code = _batch(tmp_path, inputs, out, url, "--worker-concurrency", "2")
    assert code == 1  # one input failed
    lines = read_lines(out)
    assert sorted(recorder.inputs()) == sorted(texts)
    by_input = {line["id"]: line for line in lines}
    assert len(lines) == len(by_input) == len(texts)
    answers = sorted(line["output"] for line in lines if line["error"] is None)
    assert answers == sorted(f"echo: {t}" for t in texts if "FAIL" not in t)
    failed = [line for line in lines if line["error"] is not None]
    assert len(failed) == 1
    assert failed[0]["output"] is None
    assert "FAIL please" in failed[0]["error"]["message"]
    ok = next(line for line in lines if line["output"] == "echo: alpha")
    assert ok["usage"]["input_tokens"] > 0
    assert ok["cost_usd"] > 0
    assert ok["model"] == "openai:gpt-4.1-mini"
    err = capsys.readouterr().err
    assert "done 5/5  failed 1  retrying 0" in err


@pytest.mark.usefixtures("planted_key")
def test_running_the_same_batch_again_skips_what_is_done(tmp_path: Path) -> None:
    inputs = write_inputs(tmp_path, ["one", "two", "three", "four"])
    out = tmp_path / "results.jsonl"
    recorder = Recorder()
    with emulator(recorder) as url:
        assert _batch(tmp_path, inputs, out, url) == 0
        first = out.read_text()
        assert len(recorder.requests) == 4

        assert _batch(tmp_path, inputs, out, url) == 0
        assert out.read_text() == first
        assert len(recorder.requests) == 4

        # A crash after the runs finished, in the middle of writing the file:
        # the answers are in the database and come back without a request.
        kept = first.splitlines(keepends=True)
        out.write_text("".join(kept[:2]) + kept[2][:10])
        assert _batch(tmp_path, inputs, out, url) == 0
        assert sorted(read_lines(out), key=str) == sorted(read_lines_text(first), key=str)
        assert len(recorder.requests) == 4

        # A new line in the inputs file is the only new run.
        with inputs.open("a") as file:
            file.write('{"id": "extra", "input": "five"}\n')
        assert _batch(tmp_path, inputs, out, url) == 0
        assert recorder.inputs()[4:] == ["five"]
        assert [line["id"] for line in read_lines(out)].count("extra") == 1
        assert len(read_lines(out)) == 5


def read_lines_text(text: str) -> list[dict[str, object]]:
    import json

    return [json.loads(raw) for raw in text.splitlines() if raw.strip()]


def test_a_batch_killed_mid_way_resumes_and_answers_each_input_once(tmp_path: Path) -> None:
    texts = [f"input {n}" for n in range(8)]
    inputs = write_inputs(tmp_path, texts)
    out = tmp_path / "results.jsonl"
    db = f"sqlite:///{tmp_path / 'system.sqlite'}"
    agent = write_agent(tmp_path)
    # Slow answers keep two runs in flight when the kill comes.
    recorder = Recorder(delay=0.4)
    with emulator(recorder) as url:
        argv = batch_argv(agent, inputs, out, db, url, "--worker-concurrency", "2")
        process = subprocess.Popen(
            argv, env=child_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 180
        while not (out.exists() and len(read_lines(out)) >= 2):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the batch wrote no answers in time"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        answered_before = len(read_lines(out))
        assert answered_before < len(texts)

        again = subprocess.run(
            argv, env=child_env(tmp_path), capture_output=True, text=True, timeout=240
        )
        assert again.returncode == 0, again.stderr
    lines = read_lines(out)
    assert sorted(line["id"] for line in lines) == sorted({line["id"] for line in lines})
    assert sorted(line["output"] for line in lines) == sorted(f"echo: {t}" for t in texts)
    # Every input was asked for; only runs in flight at the kill (two at most) twice.
    asked = recorder.inputs()
    assert set(asked) == set(texts)
    assert len(texts) <= len(asked) <= len(texts) + 2
    assert f"({answered_before} answered already)" in again.stderr


def test_a_line_that_is_not_an_input_is_a_user_error_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('"fine"\n{"id": "x", "text": "no input key"}\n')
    code = _batch(tmp_path, inputs, tmp_path / "out.jsonl", "http://127.0.0.1:9/v1")
    assert code == 2
    err = capsys.readouterr().err
    assert f"{inputs}:2" in err
    assert '"input"' in err
    assert not (tmp_path / "out.jsonl").exists()


def test_duplicate_ids_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"id": 7, "input": "a"}\n{"id": "7", "input": "b"}\n')
    assert _batch(tmp_path, inputs, tmp_path / "out.jsonl", "http://127.0.0.1:9/v1") == 2
    assert "also on line 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [("60/1m", (60, 60.0)), ("5/1s", (5, 1.0)), ("10/500ms", (10, 0.5)), ("500/60", (500, 60.0))],
)
def test_rates_read_as_limit_per_period(text: str, expected: tuple[int, float]) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["60", "0/1s", "5/0", "five/1s", "5/1d"])
def test_a_bad_rate_says_what_it_expects(text: str) -> None:
    with pytest.raises(UserError, match=r"LIMIT/PERIOD|positive"):
        parse_rate(text)


def test_each_provider_has_its_own_queue() -> None:
    assert queue_name("openai:gpt-4.1-mini") == "agentkit-openai"
    assert queue_name("gemini:gemini-2.5-flash,openai:gpt-4.1") == "agentkit-gemini"
