"""``serve_a2a_from_args`` (the body of ``agentkit serve AGENT.yaml --a2a``) in a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from a2a.helpers.proto_helpers import get_text_parts
from a2a.types import TaskState
from a2a_helpers import TOKEN, sdk_client, user_message

from agentkit import ModelRequest
from agentkit.a2a import serve_a2a_from_args
from agentkit.exceptions import UserError
from agentkit.testing import OpenAIChatEmulator, serve_asgi

AGENT_FILE = """\
name: greeter
description: Greets people by name.
instructions: Greet the user.
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"the server exited: {err[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on {port}")


async def _ask(url: str, text: str) -> list[Any]:
    client = await sdk_client(url, streaming=False, token=TOKEN)
    return [e async for e in client.send_message(user_message(text))]


def test_an_agent_file_is_served_over_a2a(tmp_path: Path) -> None:
    def model(request: ModelRequest) -> str:
        return f"Hello, {request.messages[-1].text}!"

    (tmp_path / "agent.yaml").write_text(AGENT_FILE, encoding="utf-8")
    port = _free_port()
    code = (
        "from agentkit.a2a import serve_a2a_from_args; "
        f"serve_a2a_from_args(['agent.yaml'], port={port}, model='openai:gpt-test')"
    )
    with serve_asgi(OpenAIChatEmulator(model)) as upstream:
        env = {
            **os.environ,
            "OPENAI_BASE_URL": upstream + "/v1",
            "OPENAI_API_KEY": "sk-test-planted",
            "AGENTKIT_A2A_TOKEN": TOKEN,
        }
        process = subprocess.Popen(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, stderr=subprocess.PIPE
        )
        try:
            _wait_for(port, process)
            [event] = anyio.run(_ask, f"http://127.0.0.1:{port}/", "Ada")
        finally:
            process.terminate()
            _, err = process.communicate(timeout=10)
    assert event.task.status.state == TaskState.TASK_STATE_COMPLETED
    assert get_text_parts(event.task.artifacts[0].parts) == ["Hello, Ada!"]
    assert "serving agent 'greeter' over A2A on openai:gpt-test" in err.decode()


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([], "exactly one agent file"),
        (["a.yaml", "b.yaml"], "exactly one agent file"),
        (["time"], "time is not an agent file"),
    ],
)
def test_serve_a2a_needs_one_agent_file(targets: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        serve_a2a_from_args(targets)
