"""A durable run killed with SIGKILL at several points resumes without repeating a finished step.

Each run is a child process (``child.py``) on a real SQLite database, its
model an OpenAI emulator in this process (so the count of answered model
calls survives the kill), its tools writing every start and finish to a
file. The child is killed at a point it announces (a tool in flight) or
that the emulator sees (a model call in flight after a finished tool
step), started again with the same run id, and must finish with the
result of an uninterrupted run, with each model call answered and each
tool finished exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit import Message, ModelRequest, ToolCallPart
from agentkit.testing import OpenAIChatEmulator, serve_asgi

CHILD = Path(__file__).with_name("child.py")


class Script:
    """The model: lookup, then pay, then the answer. Counts the answers it gave."""

    def __init__(self) -> None:
        self.answered: list[int] = []
        self.block_turn: int | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def __call__(self, request: ModelRequest) -> Any:
        turn = 1 + sum(1 for m in request.messages if m.role == "tool")
        if turn == self.block_turn:
            self.block_turn = None
            self.arrived.set()
            # Held until the test has killed the client: this call never completes.
            await anyio.to_thread.run_sync(self.release.wait)
            raise RuntimeError("the client was killed")
        self.answered.append(turn)
        if turn == 1:
            return Message(
                role="assistant",
                parts=[ToolCallPart(id="call_a", name="lookup", arguments={"city": "Paris"})],
            )
        if turn == 2:
            return Message(
                role="assistant",
                parts=[ToolCallPart(id="call_b", name="pay", arguments={"amount": 5})],
            )
        results = [p.text for m in request.messages if m.role == "tool" for p in m.parts]
        return "Booked: " + "; ".join(results)


@pytest.fixture
def emulator() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serve_asgi(OpenAIChatEmulator(script)) as url:
        yield script, f"{url}/v1"
    script.release.set()


def _start(tmp: Path, base_url: str, run_id: str, **extra: Any) -> subprocess.Popen[str]:
    config = {
        "database": str(tmp / "state"),
        "run_id": run_id,
        "base_url": base_url,
        "log": str(tmp / "tools.log"),
        **extra,
    }
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-planted"}
    return subprocess.Popen(
        [sys.executable, str(CHILD), json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(child: subprocess.Popen[str]) -> tuple[str, Any]:
    out, err = child.communicate(timeout=120)
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return "result", json.loads(line[7:])
        if line.startswith("ERROR "):
            kind, details = line[6:].split(" ", 1)
            return kind, json.loads(details)
    raise AssertionError(f"the child printed no outcome (exit {child.returncode}): {err[-3000:]}")


def _kill_when_blocked(child: subprocess.Popen[str], tool: str) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == f"BLOCKED {tool}":
            break
    else:
        raise AssertionError(f"the child ended before {tool} was called: {child.stderr.read()}")
    child.send_signal(signal.SIGKILL)
    child.wait()


def _log(tmp: Path) -> list[str]:
    return (tmp / "tools.log").read_text(encoding="utf-8").splitlines()


@pytest.fixture
def uninterrupted(emulator: tuple[Script, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The result of the same run, never killed (its own database and log)."""
    script, base_url = emulator
    tmp = tmp_path_factory.mktemp("uninterrupted")
    kind, result = _finish(_start(tmp, base_url, "baseline"))
    assert kind == "result", result
    assert script.answered == [1, 2, 3]
    assert _log(tmp) == ["start lookup", "done lookup", "start pay", "done pay"]
    script.answered.clear()
    return result


def _same_run(result: dict[str, Any], baseline: dict[str, Any]) -> None:
    assert result["output"] == "Booked: Paris: 21C; paid 5"
    assert result == baseline


def test_killed_during_a_safe_tool_call_runs_only_that_call_again(
    emulator: tuple[Script, str], uninterrupted: Any, tmp_path: Path
) -> None:
    script, base_url = emulator
    _kill_when_blocked(_start(tmp_path, base_url, "r1", block="lookup"), "lookup")
    assert script.answered == [1]
    kind, result = _finish(_start(tmp_path, base_url, "r1"))
    assert kind == "result", result
    _same_run(result, uninterrupted)
    # The model's first answer was recorded: not asked again. The lookup in
    # flight had not finished: it ran again, and finished once.
    assert script.answered == [1, 2, 3]
    assert _log(tmp_path) == [
        "start lookup",
        "start lookup",
        "done lookup",
        "start pay",
        "done pay",
    ]


def test_killed_during_a_model_call_after_a_finished_tool_repeats_neither(
    emulator: tuple[Script, str], uninterrupted: Any, tmp_path: Path
) -> None:
    script, base_url = emulator
    script.block_turn = 3  # after both tools finished and were recorded
    child = _start(tmp_path, base_url, "r2")
    assert script.arrived.wait(timeout=120)
    child.send_signal(signal.SIGKILL)
    child.wait()
    script.release.set()
    assert script.answered == [1, 2]
    kind, result = _finish(_start(tmp_path, base_url, "r2"))
    assert kind == "result", result
    _same_run(result, uninterrupted)
    assert script.answered == [1, 2, 3]
    assert _log(tmp_path) == ["start lookup", "done lookup", "start pay", "done pay"]


def test_a_finished_run_returns_its_recorded_result_without_any_call(
    emulator: tuple[Script, str], uninterrupted: Any, tmp_path: Path
) -> None:
    script, base_url = emulator
    first = _finish(_start(tmp_path, base_url, "r3"))
    again = _finish(_start(tmp_path, base_url, "r3"))
    assert first == again == ("result", uninterrupted)
    assert script.answered == [1, 2, 3]
    assert _log(tmp_path) == ["start lookup", "done lookup", "start pay", "done pay"]


def test_killed_during_a_tool_not_safe_to_repeat_stops_with_a_named_error(
    emulator: tuple[Script, str], tmp_path: Path
) -> None:
    script, base_url = emulator
    _kill_when_blocked(_start(tmp_path, base_url, "r4", block="pay"), "pay")
    kind, details = _finish(_start(tmp_path, base_url, "r4"))
    assert kind == "ToolNotRepeatableError"
    assert details["tool"] == "pay"
    assert "'pay'" in details["message"]
    assert "idempotent=False" in details["message"]
    assert "start a new run" in details["message"]
    # Not called again, and the model was not asked for the turn after it.
    assert _log(tmp_path) == ["start lookup", "done lookup", "start pay"]
    assert script.answered == [1, 2]
    # The stop is recorded: asking again gives the same error, still no call.
    assert _finish(_start(tmp_path, base_url, "r4"))[0] == "ToolNotRepeatableError"
    assert _log(tmp_path) == ["start lookup", "done lookup", "start pay"]


def test_a_resumed_run_streams_its_live_part(
    emulator: tuple[Script, str], uninterrupted: Any, tmp_path: Path
) -> None:
    script, base_url = emulator
    _kill_when_blocked(_start(tmp_path, base_url, "r5", block="lookup", stream=True), "lookup")
    child = _start(tmp_path, base_url, "r5", stream=True)
    out, _err = child.communicate(timeout=120)
    events = json.loads(next(x for x in out.splitlines() if x.startswith("EVENTS "))[7:])
    result = json.loads(next(x for x in out.splitlines() if x.startswith("RESULT "))[7:])
    _same_run(result, uninterrupted)
    turns = " ".join(events).split("turn_start")
    # Turn 1 was recorded: it comes back whole. Turns 2 and 3 stream live.
    assert "response_end" in turns[1].split()
    assert not {"response_start", "tool_call_delta", "text_delta"} & set(turns[1].split())
    assert "tool_call_delta" in turns[2]
    assert "response_start" in turns[2]
    assert "text_delta" in turns[3]
    assert events[-2:] == ["output", "run_end"]
    assert script.answered == [1, 2, 3]
