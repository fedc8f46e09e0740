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
from typing import Any, TextIO

import anyio
import pytest

from agentkit import Message, ModelRequest, ToolCallPart
from agentkit.testing import OpenAIChatEmulator, serve_asgi

CHILD = Path(__file__).with_name("child.py")


class Script:
    """The model: lookup, then pay, then the answer. Counts the answers it gave."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
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


class Child:
    """One durable run in a process of its own: its pid and the lines it writes."""

    def __init__(self, pid: int, lines: TextIO) -> None:
        self.pid = pid
        self.lines = lines

    def kill_when_blocked(self, tool: str) -> None:
        for line in self.lines:
            if line.strip() == f"BLOCKED {tool}":
                break
        else:
            raise AssertionError(f"the child ended before {tool} was called")
        self.kill()

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.lines.read()  # the end of the FIFO: the process is gone
        self.lines.close()

    def finish(self) -> tuple[str, Any]:
        """The run's outcome: ``("result", RunResult JSON)`` or ``(error class, details)``."""
        text = self.lines.read()
        self.lines.close()
        for line in text.splitlines():
            if line.startswith("RESULT "):
                return "result", json.loads(line[7:])
            if line.startswith("ERROR "):
                kind, details = line[6:].split(" ", 1)
                return kind, json.loads(details)
        raise AssertionError(f"the child printed no outcome: {text!r} (its stderr is the test's)")

    def events(self) -> tuple[list[str], Any]:
        text = self.lines.read()
        self.lines.close()
        found = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in text.splitlines()}
        return json.loads(found["EVENTS"]), json.loads(found["RESULT"])


class Zygote:
    """``child.py``: imports agentkit.durable once and forks a process per run."""

    def __init__(self) -> None:
        env = {**os.environ, "OPENAI_API_KEY": "sk-test-planted"}
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"
        self.count = 0

    def start(self, tmp: Path, base_url: str, run_id: str, **extra: Any) -> Child:
        self.count += 1
        fifo = tmp / f"out-{self.count}"
        os.mkfifo(fifo)
        config = {
            "database": str(tmp / "state"),
            "run_id": run_id,
            "base_url": base_url,
            "log": str(tmp / "tools.log"),
            "out": str(fifo),
            **extra,
        }
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(config) + "\n")
        self.process.stdin.flush()
        pid = int(self.process.stdout.readline())
        # Opening blocks until the child opens its end: then it has started.
        return Child(pid, fifo.open(encoding="utf-8"))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    z = Zygote()
    yield z
    z.close()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Script, str]]:
    script = Script()
    with serve_asgi(OpenAIChatEmulator(script)) as url:
        yield script, f"{url}/v1"
        script.release.set()


@pytest.fixture(scope="module")
def uninterrupted(
    server: tuple[Script, str], zygote: Zygote, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """The result of the same run, never killed (its own database and log)."""
    script, base_url = server
    script.reset()
    tmp = tmp_path_factory.mktemp("uninterrupted")
    kind, result = zygote.start(tmp, base_url, "baseline").finish()
    assert kind == "result", result
    assert script.answered == [1, 2, 3]
    assert _log(tmp) == ["start lookup", "done lookup", "start pay", "done pay"]
    return result


@pytest.fixture
def emulator(server: tuple[Script, str], uninterrupted: Any) -> tuple[Script, str]:
    script, base_url = server
    script.reset()
    return script, base_url


def _log(tmp: Path) -> list[str]:
    return (tmp / "tools.log").read_text(encoding="utf-8").splitlines()


def _same_run(result: dict[str, Any], baseline: dict[str, Any]) -> None:
    assert result["output"] == "Booked: Paris: 21C; paid 5"
    assert result == baseline


def test_killed_during_a_safe_tool_call_runs_only_that_call_again(
    emulator: tuple[Script, str], zygote: Zygote, uninterrupted: Any, tmp_path: Path
) -> None:
    script, base_url = emulator
    zygote.start(tmp_path, base_url, "r1", block="lookup").kill_when_blocked("lookup")
    assert script.answered == [1]
    kind, result = zygote.start(tmp_path, base_url, "r1").finish()
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
    emulator: tuple[Script, str], zygote: Zygote, uninterrupted: Any, tmp_path: Path
) -> None:
    script, base_url = emulator
    script.block_turn = 3  # after both tools finished and were recorded
    child = zygote.start(tmp_path, base_url, "r2")
    assert script.arrived.wait(timeout=120)
    child.kill()
    script.release.set()
    assert script.answered == [1, 2]
    kind, result = zygote.start(tmp_path, base_url, "r2").finish()
    assert kind == "result", result
    _same_run(result, uninterrupted)
    assert script.answered == [1, 2, 3]
    assert _log(tmp_path) == ["start lookup", "done lookup", "start pay", "done pay"]


def test_a_finished_run_returns_its_recorded_result_without_any_call(
    emulator: tuple[Script, str], zygote: Zygote, uninterrupted: Any, tmp_path: Path
) -> None:
    script, base_url = emulator
    first = zygote.start(tmp_path, base_url, "r3").finish()
    again = zygote.start(tmp_path, base_url, "r3").finish()
    assert first == again == ("result", uninterrupted)
    assert script.answered == [1, 2, 3]
    assert _log(tmp_path) == ["start lookup", "done lookup", "start pay", "done pay"]


def test_killed_during_a_tool_not_safe_to_repeat_stops_with_a_named_error(
    emulator: tuple[Script, str], zygote: Zygote, tmp_path: Path
) -> None:
    script, base_url = emulator
    zygote.start(tmp_path, base_url, "r4", block="pay").kill_when_blocked("pay")
    kind, details = zygote.start(tmp_path, base_url, "r4").finish()
    assert kind == "ToolNotRepeatableError"
    assert details["tool"] == "pay"
    assert "'pay'" in details["message"]
    assert "idempotent=False" in details["message"]
    assert "start a new run" in details["message"]
    # Not called again, and the model was not asked for the turn after it.
    assert _log(tmp_path) == ["start lookup", "done lookup", "start pay"]
    assert script.answered == [1, 2]
    # The stop is recorded: asking again gives the same error, still no call.
    assert zygote.start(tmp_path, base_url, "r4").finish()[0] == "ToolNotRepeatableError"
    assert _log(tmp_path) == ["start lookup", "done lookup", "start pay"]


def test_a_resumed_run_streams_its_live_part(
    emulator: tuple[Script, str], zygote: Zygote, uninterrupted: Any, tmp_path: Path
) -> None:
    script, base_url = emulator
    zygote.start(tmp_path, base_url, "r5", block="lookup", stream=True).kill_when_blocked("lookup")
    events, result = zygote.start(tmp_path, base_url, "r5", stream=True).events()
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
