"""Endpoint mode: check a compatible server through our adapter for its protocol."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentkit.conformance import check_adapter
from agentkit.conformance._script import render_script
from agentkit.exceptions import UserError
from agentkit.testing import OpenAIChatEmulator, serve_asgi

EXPECTED = Path(__file__).parent / "expected_failures" / "endpoint-llamacpp-server.yaml"


@pytest.mark.anyio
async def test_endpoint_mode_checks_a_server_on_its_live_scenarios() -> None:
    # An emulator playing one fixed answer stands in for a compatible server.
    script = {"reply": {"text": "Hello!", "usage": {"input_tokens": 3, "output_tokens": 1}}}
    emulator = OpenAIChatEmulator(render_script(script, "openai-chat"))
    with serve_asgi(emulator) as url:
        report = await check_adapter(
            "any-model", mode="endpoint", endpoint=url, protocol="openai-chat", levels=["core"]
        )
    verdicts = {r.scenario.id: r.verdict for r in report.results}
    assert report.target == f"openai-chat server at {url}"
    assert verdicts["core.plain_answer"] == "pass"
    # Scripted-only scenarios do not apply to a server.
    assert verdicts["core.plain_answer_exact"] == "n/a"
    assert emulator.calls, "the server was never called"


@pytest.mark.anyio
async def test_endpoint_mode_needs_url_and_known_protocol() -> None:
    with pytest.raises(UserError, match="--endpoint"):
        await check_adapter("m", mode="endpoint")
    with pytest.raises(UserError, match="unknown protocol"):
        await check_adapter("m", mode="endpoint", endpoint="http://127.0.0.1:9", protocol="x")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def llama_server() -> Iterator[str]:
    pytest.importorskip("llama_cpp.server")
    from agentkit_adapters.llamacpp import locate_model

    port = _free_port()
    # The same command .ci/conformance.sh runs.
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(locate_model("smollm2-135m")),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "512", "--chat_format", "chatml-function-calling",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/v1/models", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("llama_cpp.server did not start")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
@pytest.mark.anyio
async def test_llama_cpp_server_against_the_llamacpp_server_preset(llama_server: str) -> None:
    report = await check_adapter(
        "smollm2",
        mode="endpoint",
        endpoint=llama_server,
        protocol="llamacpp-server",
        levels=["core", "tools", "structured_output"],
        expected_failures=EXPECTED,
    )
    verdicts = {r.scenario.id: r.verdict for r in report.results}
    assert report.ok, report.summary()
    assert verdicts["core.plain_answer"] == "pass"
    # The server's known gaps, recorded with reasons: still failing.
    assert verdicts["tools.forced_required"] == "xfail"
    assert verdicts["structured_output.basic"] == "xfail"
