"""Shared pieces of the batch and worker tests: a recording emulator, files, processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from agentkit import ModelRequest
from agentkit.testing import OpenAIChatEmulator, openai_error, serve_asgi

#: The installed `agentkit` command of this environment.
AGENTKIT = str(Path(sys.executable).with_name("agentkit"))
MODEL = "openai:gpt-4.1-mini"


@dataclass
class Recorder:
    """The scripted model: answers ``echo: <input>``, records when each request came.

    Inputs that contain ``FAIL`` get a 400, so their runs fail.
    """

    delay: float = 0.0
    requests: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, request: ModelRequest) -> str:
        text = request.messages[-1].text
        with self.lock:
            self.requests.append((time.monotonic(), text))
        if self.delay:
            await anyio.sleep(self.delay)
        if "FAIL" in text:
            raise openai_error(400, f"the emulator refuses {text!r}", code="invalid_value")
        return f"echo: {text}"

    def inputs(self) -> list[str]:
        with self.lock:
            return [text for _, text in self.requests]

    def times(self) -> list[float]:
        with self.lock:
            return sorted(t for t, _ in self.requests)


@contextmanager
def emulator(recorder: Recorder) -> Iterator[str]:
    """The OpenAI Chat emulator on a loopback port; yields its ``/v1`` root."""
    with serve_asgi(OpenAIChatEmulator(recorder)) as url:
        yield f"{url}/v1"


def write_agent(folder: Path) -> Path:
    """A minimal agent file without tools."""
    path = folder / "agent.yaml"
    path.write_text("name: echo\ninstructions: Repeat the message.\n")
    return path


def write_inputs(folder: Path, texts: list[str], name: str = "inputs.jsonl") -> Path:
    """One JSON string a line."""
    path = folder / name
    path.write_text("".join(json.dumps(t) + "\n" for t in texts))
    return path


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a results file."""
    return [json.loads(raw) for raw in path.read_text().splitlines() if raw.strip()]


def child_env(tmp: Path) -> dict[str, str]:
    """Environment of the agentkit processes: a placeholder key, a private home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTKIT_"))}
    env.update(OPENAI_API_KEY="sk-test-planted", PYTHONUNBUFFERED="1", HOME=str(tmp))
    return env


def batch_argv(
    agent: Path, inputs: Path, out: Path, db: str, base_url: str, *extra: str
) -> list[str]:
    """``agentkit batch`` with the emulator as the model."""
    return [
        AGENTKIT,
        "batch",
        str(agent),
        str(inputs),
        "--out",
        str(out),
        "--model",
        MODEL,
        "--base-url",
        base_url,
        "--db",
        db,
        *extra,
    ]


@dataclass
class WorkerProcess:
    """An ``agentkit worker`` subprocess and its executor id."""

    process: subprocess.Popen[str]
    executor_id: str
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text()


def start_workers(db: str, tmp: Path, count: int, timeout: float = 180) -> list[WorkerProcess]:
    """Start ``count`` workers at once; return when each printed its ready line."""
    started = []
    for n in range(count):
        err = tmp / f"worker{n}.err"
        process = subprocess.Popen(
            [AGENTKIT, "worker", "--db", db, "--provider", "openai"],
            stdout=subprocess.PIPE,
            stderr=err.open("w"),
            text=True,
            env=child_env(tmp),
        )
        started.append((process, err))
    workers = []
    deadline = time.monotonic() + timeout
    for process, err in started:
        assert process.stdout is not None
        line = _read_line(process, deadline)
        if not line.startswith("worker "):
            stop_workers([WorkerProcess(p, "", e) for p, e in started])
            raise RuntimeError(f"worker did not start: {line!r} {err.read_text()[-2000:]}")
        workers.append(WorkerProcess(process, line.split()[1], err))
    return workers


def _read_line(process: subprocess.Popen[str], deadline: float) -> str:
    result: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(max(0.0, deadline - time.monotonic()))
    return result[0].strip() if result else "(no ready line in time)"


def stop_workers(workers: list[WorkerProcess]) -> None:
    """SIGTERM, then SIGKILL what lingers."""
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.terminate()
    for worker in workers:
        try:
            worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=10)
