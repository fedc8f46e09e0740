"""``agentkit serve --trace``: the server's spans leave the process, continuing the caller's trace.

MCP over streamable HTTP exports over OTLP to a loopback collector of the
test's own (the batch is sent when the server is stopped); A2A prints its
spans to stderr. Both calls carry a W3C ``traceparent`` of the test's own (MCP
in ``params._meta``, A2A as an HTTP header), so the server's spans must name
that trace. Also: the serve options around them (``--trace`` listed,
``--stateless`` refused with ``--a2a``).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from a2a.client import ClientConfig, create_client
from a2a.types import Message, Part, Role, SendMessageRequest, TaskState
from mcp import Client
from mcp_peers import AGENTKIT, REPO

from agentkit import ModelRequest
from agentkit.testing import OpenAIChatEmulator, serve_asgi
from tests.tracing.test_export import Collector, collector  # noqa: F401 - the fixture

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return {**env, **extra}


def _serve_math(*options: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``agentkit serve math`` over HTTP on a port it picks; returns it and its MCP URL."""
    command = [*AGENTKIT, "serve", "math", "--transport", "http", "--port", "0", *options]
    return _listening(command, "MCP server listening on ", env)


def _listening(
    command: list[str], says: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server on port 0; return it and the URL ending the line that starts ``says``.

    Waits for that line however long a loaded machine takes to start the
    server: polling a port chosen beforehand gave up after 30 s (under load 10
    the server took 25-30 s to start) and could meet another process that took
    the port meanwhile.
    """
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO
    )
    assert process.stderr is not None
    said: list[str] = []
    for raw in process.stderr:  # each line as the server writes it, until it exits
        line = raw.decode()
        said.append(line)
        if line.startswith(says):
            return process, line.split()[-1]
    process.wait()
    raise AssertionError(f"{command} exited with {process.returncode}: {''.join(said)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and wait for the process to end: its clean stop is what sends the spans."""
    process.terminate()
    try:
        process.wait(timeout=120)  # a hung server only; a kill would lose the spans
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


async def _call_evaluate(url: str) -> Any:
    # MCP's carrier is the request's params._meta (SEP-414), not an HTTP header.
    async with Client(url) as client:
        return await client.call_tool(
            "evaluate", {"expression": "6 * 7"}, meta={"traceparent": TRACEPARENT}
        )


def test_mcp_serve_trace_otlp_exports_the_call_in_the_callers_trace(
    collector: Collector,  # noqa: F811 - the imported fixture
) -> None:
    env = _env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url)
    server, url = _serve_math("--trace", "otlp", env=env)
    try:
        result = anyio.run(_call_evaluate, url)
    finally:
        _stop(server)  # a clean stop sends the batched spans
    assert result.structured_content == {"result": 42}
    spans = collector.spans()
    calls = [s for s in spans if s.name == "tools/call evaluate"]
    assert len(calls) == 1, [s.name for s in spans]
    assert calls[0].trace_id.hex() == TRACE_ID
    assert calls[0].parent_span_id.hex() == PARENT_ID
    resource = collector.requests[0].resource_spans[0].resource
    assert {a.key: a.value.string_value for a in resource.attributes}["service.name"] == "agentkit"


def test_mcp_serve_without_trace_exports_nothing(
    collector: Collector,  # noqa: F811 - the imported fixture
) -> None:
    server, url = _serve_math(env=_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url))
    try:
        result = anyio.run(_call_evaluate, url)
    finally:
        _stop(server)
    assert result.structured_content == {"result": 42}
    assert collector.requests == []


AGENT_FILE = "name: greeter\ndescription: Greets people.\ninstructions: Greet the user.\n"


@pytest.fixture
def upstream() -> Iterator[str]:
    def model(request: ModelRequest) -> str:
        return f"Hello, {request.messages[-1].text}!"

    with serve_asgi(OpenAIChatEmulator(model, api_key="sk-test-planted")) as url:
        yield url + "/v1"


async def _ask(url: str) -> Any:
    http = httpx.AsyncClient(headers={"traceparent": TRACEPARENT}, timeout=30)
    config = ClientConfig(
        streaming=False, httpx_client=http, supported_protocol_bindings=["JSONRPC"]
    )
    try:
        client = await create_client(url, client_config=config)
        message = Message(
            role=Role.ROLE_USER, message_id=str(uuid.uuid4()), parts=[Part(text="Ada")]
        )
        return [e async for e in client.send_message(SendMessageRequest(message=message))]
    finally:
        await http.aclose()


def test_a2a_serve_trace_console_prints_the_run_in_the_callers_trace(
    tmp_path: Path, upstream: str
) -> None:
    (tmp_path / "agent.yaml").write_text(AGENT_FILE, encoding="utf-8")
    command = [*AGENTKIT, "serve", str(tmp_path / "agent.yaml"), "--a2a", "--port", "0"]
    env = _env(OPENAI_BASE_URL=upstream, OPENAI_API_KEY="sk-test-planted")
    server, url = _listening(
        [*command, "-m", "openai:gpt-test", "--trace", "console"], "A2A agent ", env
    )
    try:
        [event] = anyio.run(_ask, url)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    assert event.task.status.state == TaskState.TASK_STATE_COMPLETED
    spans = _console_spans(err.decode())
    run = next(s for s in spans if s["name"] == "invoke_agent greeter")
    assert run["context"]["trace_id"] == f"0x{TRACE_ID}"
    assert run["parent_id"] == f"0x{PARENT_ID}"
    chat = next(s for s in spans if s["name"] == "chat gpt-test")
    assert chat["parent_id"] == run["context"]["span_id"]


def _console_spans(stderr: str) -> list[dict[str, Any]]:
    """The JSON objects ``ConsoleSpanExporter`` printed, among the server's other lines."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    at = stderr.find("{")
    while at != -1:
        try:
            value, end = decoder.raw_decode(stderr, at)
        except ValueError:
            at = stderr.find("{", at + 1)
            continue
        if isinstance(value, dict) and "context" in value:
            found.append(value)
        at = stderr.find("{", end)
    return found


def test_trace_is_offered_by_serve() -> None:
    out = subprocess.run([*AGENTKIT, "serve", "--help"], capture_output=True, text=True, check=True)
    assert "--trace {otlp,console}" in out.stdout


def test_stateless_is_refused_for_a2a(capsys: pytest.CaptureFixture[str]) -> None:
    from agentkit._cli import main

    assert main(["serve", "agent.yaml", "--a2a", "--stateless"]) == 2
    assert "A2A server keeps its tasks and conversations in memory" in capsys.readouterr().err


def test_stateless_is_refused_for_stdio(capsys: pytest.CaptureFixture[str]) -> None:
    from agentkit._cli import main

    assert main(["serve", "agent.yaml", "--transport", "stdio", "--stateless"]) == 2
    assert "--stateless only applies to --transport http" in capsys.readouterr().err
