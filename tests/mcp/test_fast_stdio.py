"""The fast stdio front of ``agentkit serve``: its answers are the SDK server's, and the
handoff to the SDK keeps every message, in order.

The SDK side of each comparison is the real server from ``build_server``,
driven through the same in-memory streams and JSON parsing its stdio
transport uses; nothing here writes down an expected answer by hand.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.message import SessionMessage
from mcp_peers import AGENTKIT

from agentkit.mcp._fast_answers import FastAnswers
from agentkit.mcp._fast_stdio import StdioFront, fast_answers
from agentkit.mcp._server import build_server

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import front_tools  # noqa: E402

TOOLSETS = [front_tools.toolset, front_tools.second]
NAME = "front"
INSTRUCTIONS = "Use the planner for trips."


def _line(message: dict[str, Any]) -> str:
    return json.dumps(message) + "\n"


def _initialize(params: Any, request_id: int | str = 0) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


def _params(version: str = "2025-11-25", **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "test-client", "version": "1.0"},
    }
    params.update(changes)
    return params


INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


async def _sdk_answers(server: Any, lines: list[str]) -> dict[Any, dict[str, Any]]:
    """The SDK server's answers to ``lines`` by request id, as its stdio transport writes them."""
    inbound_send, inbound = anyio.create_memory_object_stream[SessionMessage | Exception](math.inf)
    outbound, outbound_receive = anyio.create_memory_object_stream[SessionMessage](math.inf)
    expected = sum(1 for line in lines if "id" in json.loads(line))
    answers: dict[Any, dict[str, Any]] = {}
    for line in lines:
        try:
            message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
        except Exception as exc:
            inbound_send.send_nowait(exc)
        else:
            inbound_send.send_nowait(SessionMessage(message))
    async with anyio.create_task_group() as group:
        group.start_soon(server.run, inbound, outbound, server.create_initialization_options())
        with anyio.fail_after(10):
            async for session_message in outbound_receive:
                dumped = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                answer = json.loads(dumped)
                answers[answer["id"]] = answer
                if len(answers) == expected:
                    break
        group.cancel_scope.cancel()
    return answers


def _sdk(lines: list[str]) -> dict[Any, dict[str, Any]]:
    server = build_server(TOOLSETS, name=NAME, instructions=INSTRUCTIONS)
    return anyio.run(_sdk_answers, server, lines)


def _answers() -> FastAnswers:
    found = fast_answers(TOOLSETS, name=NAME, instructions=INSTRUCTIONS)
    assert found is not None
    return found


# Handshakes real clients send, and the revisions either era may ask for.
PLAIN = [
    _params("2025-11-25"),
    _params("2026-07-28"),
    _params("2025-06-18"),
    _params("2024-11-05"),
    _params("1999-01-01"),
    _params(
        capabilities={
            "roots": {"listChanged": True},
            "sampling": {},
            "elicitation": {"form": {}},
            "experimental": {"x": {"y": 1}},
        },
        clientInfo={"name": "c", "version": "2", "title": "A client"},
        _meta={"progressToken": 1},
    ),
]
# Shapes the SDK refuses: the front must leave every one to it, for the SDK's error.
REFUSED = [
    None,
    {},
    _params(protocolVersion=20251125),
    _params(clientInfo={"name": "c"}),
    _params(clientInfo="c"),
    _params(capabilities=None),
    _params(capabilities={"roots": 5}),
    _params(capabilities={"sampling": []}),
    _params(clientInfo={"name": "c", "version": "1", "icons": [{"src": 5}]}),
]
# Shapes the SDK accepts after coercing or with parts the front does not check:
# left to it too, which costs only time.
LAX = [
    _params(capabilities={"roots": {"listChanged": "yes"}}),
    _params(capabilities={"tasks": {"requests": {}}}),
]


@pytest.mark.parametrize("params", PLAIN)
def test_initialize_and_tools_list_match_the_sdk(params: dict[str, Any]) -> None:
    settled = _answers().initialize(params)
    assert settled is not None, "the front should answer a plain handshake itself"
    result, negotiated = settled
    sdk = _sdk([_line(_initialize(params)), _line(INITIALIZED), _line(LIST)])
    assert sdk[0] == {"jsonrpc": "2.0", "id": 0, "result": result}
    listed = _answers().tools_list(None, negotiated)
    if negotiated == "2025-11-25":
        assert listed is not None
    if listed is not None:
        assert sdk[1] == {"jsonrpc": "2.0", "id": 1, "result": listed}


LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


@pytest.mark.parametrize("params", REFUSED)
def test_handshakes_the_sdk_refuses_are_left_to_it(params: Any) -> None:
    assert "error" in _sdk([_line(_initialize(params))])[0]
    assert _answers().initialize(params) is None


@pytest.mark.parametrize("params", LAX)
def test_handshakes_the_front_cannot_vouch_for_are_left_to_the_sdk(params: Any) -> None:
    assert "result" in _sdk([_line(_initialize(params))])[0]
    assert _answers().initialize(params) is None


@pytest.mark.parametrize(
    "params",
    [None, {}, {"cursor": "abc"}, {"_meta": {"progressToken": "t"}}],
)
def test_tools_list_params_match_the_sdk(params: Any) -> None:
    request: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    if params is not None:
        request["params"] = params
    listed = _answers().tools_list(params, "2025-11-25")
    assert listed is not None
    sdk = _sdk([_line(_initialize(_params())), _line(INITIALIZED), _line(request)])
    assert sdk[1]["result"] == listed


def test_tool_definitions_the_front_cannot_vouch_for_go_to_the_sdk() -> None:
    unusual = fast_answers([front_tools.unusual], name="u")
    assert unusual is not None
    assert unusual.tools is None
    assert unusual.tools_list(None, "2025-11-25") is None
    # The SDK drops the unknown annotation: copying it through would have been wrong.
    sdk = anyio.run(
        _sdk_answers,
        build_server([front_tools.unusual], name="u"),
        [_line(_initialize(_params())), _line(INITIALIZED), _line(LIST)],
    )
    assert sdk[1]["result"]["tools"][0]["annotations"] == {"destructiveHint": False}


def test_tool_sets_with_a_lifetime_are_not_listed_ahead() -> None:
    class Opened(type(front_tools.toolset)):  # type: ignore[misc]
        async def __aenter__(self) -> Opened:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

    assert fast_answers([Opened("o", [front_tools.add])], name="o") is None


class _Wire:
    def __init__(self) -> None:
        self.written: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.written.append(json.loads(data))


def _front() -> tuple[StdioFront, _Wire]:
    wire = _Wire()
    return StdioFront(_answers(), wire.write), wire


def test_front_answers_the_handshake_and_replays_it() -> None:
    front, wire = _front()
    initialize = _line(_initialize(_params(), "init-1"))
    for line in (initialize, _line(INITIALIZED), _line(LIST)):
        front.receive(line)
    assert [m["id"] for m in wire.written] == ["init-1", 1]
    assert front.settled.is_set()
    replay, answered, ended = front.handoff(lambda line: None, lambda: None)
    assert replay == [initialize, _line(INITIALIZED)]
    assert answered == "init-1"
    assert ended is False


def test_once_a_message_waits_everything_after_it_waits_too() -> None:
    front, wire = _front()
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add"}}
    lines = [
        _line(_initialize(_params())),
        _line({"jsonrpc": "2.0", "id": 5, "method": "ping"}),
        _line(INITIALIZED),
        _line(LIST),
        _line(call),
        "not json\n",
    ]
    for line in lines:
        front.receive(line)
    # Only initialize came before the first message the front does not know.
    assert [m["id"] for m in wire.written] == [0]
    delivered: list[str] = []
    ends: list[bool] = []
    front.end()
    replay, answered, ended = front.handoff(delivered.append, lambda: ends.append(True))
    assert replay == lines
    assert answered == 0
    assert ended is True
    front.receive("later\n")
    assert delivered == ["later\n"]


def test_a_refused_handshake_is_the_sdks_to_answer() -> None:
    front, wire = _front()
    bad = _line(_initialize(_params(clientInfo={"name": "c"})))
    front.receive(bad)
    front.receive(_line(LIST))
    assert wire.written == []
    replay, answered, _ = front.handoff(lambda line: None, lambda: None)
    assert replay == [bad, _line(LIST)]
    assert answered is None


# --- the real thing, in a subprocess --------------------------------------------------

GATE_SCRIPT = HERE / "front_gate.py"


def _spawn_gated(gate: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(GATE_SCRIPT), str(gate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=HERE,
    )


def _send(process: subprocess.Popen[bytes], *messages: dict[str, Any]) -> None:
    assert process.stdin is not None
    for message in messages:
        process.stdin.write(_line(message).encode())
    process.stdin.flush()


def _read(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, "the server closed stdout"
    answer: dict[str, Any] = json.loads(line)
    return answer


def _finish(process: subprocess.Popen[bytes]) -> str:
    """Close the server's stdin (EOF ends the session) and return what it printed to stderr."""
    assert process.stdin is not None
    assert process.stderr is not None
    process.stdin.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=30) == 0, err
    return err


def test_handshake_is_answered_before_the_sdk_and_nothing_waiting_is_lost(
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    process = _spawn_gated(gate)
    try:
        _send(process, _initialize(_params()))
        # The gate keeps the SDK server from being built: these come from the front.
        assert _read(process)["result"]["serverInfo"]["name"] == "front_tools"
        _send(process, INITIALIZED, LIST)
        listed = _read(process)
        assert [t["name"] for t in listed["result"]["tools"]][:2] == ["plan", "add"]
        _send(
            process,
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "add", "arguments": {"a": 1}},
            },
            {"jsonrpc": "2.0", "id": 3, "method": "ping"},
            {"jsonrpc": "2.0", "id": 4, "method": "tools/list"},
            {
                "jsonrpc": "2.0",
                "id": 5,
                "method": "tools/call",
                "params": {"name": "add", "arguments": {"a": 2, "b": 5}},
            },
            {"jsonrpc": "2.0", "id": 6, "method": "resources/list"},
        )
        gate.touch()
        answers = {a["id"]: a for a in (_read(process) for _ in range(5))}
        assert answers[2]["result"]["structuredContent"] == {"result": 2}
        assert answers[3]["result"] == {}
        assert answers[4]["result"] == listed["result"]
        assert answers[5]["result"]["structuredContent"] == {"result": 7}
        assert answers[6]["error"]["code"] == -32601
        err = _finish(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The SDK answered id 4 (it came after a waiting message), not the front.
    assert "front answered: ['initialize', 'tools/list']" in err


def test_a_handshake_the_front_refuses_gets_the_sdks_error(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    process = _spawn_gated(gate)
    try:
        _send(process, _initialize(_params(clientInfo={"name": "c"})))
        error = _read(process)
        _send(process, _initialize(_params(), 9))
        accepted = _read(process)
        err = _finish(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    sdk = _sdk([_line(_initialize(_params(clientInfo={"name": "c"})))])[0]
    assert error == sdk
    assert accepted["result"]["protocolVersion"] == "2025-11-25"
    assert "front answered: []" in err


SERVE = StdioServerParameters(
    command=AGENTKIT[0],
    args=["serve", "front_tools:toolset", "front_tools:second"],
    cwd=str(HERE),
    env={**os.environ, "PYTHONPATH": str(HERE)},
)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_official_client_lists_and_calls_through_the_front(mode: str) -> None:
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with Client(SERVE, mode=mode, read_timeout_seconds=60) as client:  # type: ignore[arg-type]
        listed = await client.list_tools()
        planned = await client.call_tool("plan", {"trip": {"city": "Oslo"}})
        counted = await client.call_tool("count", {"n": 3}, progress_callback=on_progress)
    direct = build_server(TOOLSETS, name="agentkit")
    async with Client(direct, mode=mode) as client:  # type: ignore[arg-type]
        expected = await client.list_tools()
    assert listed.tools == expected.tools
    assert planned.structured_content == {"Oslo": 2}
    assert counted.content[0].text == "counted 3"  # type: ignore[union-attr]
    assert progress == [1.0, 2.0, 3.0]


@pytest.mark.anyio
async def test_cancelling_through_the_front_stops_the_tool() -> None:
    async with Client(SERVE, mode="legacy", read_timeout_seconds=60) as client:  # type: ignore[arg-type]
        await client.list_tools()
        # A call answered means the SDK server runs: hang then starts before it times out.
        assert (await client.call_tool("add", {"a": 1})).structured_content == {"result": 2}
        with pytest.raises(Exception):  # noqa: B017 - the client's timeout error, whatever its type
            await client.call_tool("hang", {}, read_timeout_seconds=0.5)
        # The tool stops once the server reads notifications/cancelled; each
        # question below is answered after the server has read it.
        with anyio.fail_after(10):
            while (await client.call_tool("was_cancelled", {})).structured_content != {
                "result": True
            }:
                pass


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 65536])
def test_wire_lines_decode_as_the_sdk_transport_does(chunk: int) -> None:
    from io import BytesIO, TextIOWrapper

    from agentkit.mcp._stdio_wire import _Lines

    data = (
        b'{"a": "caf\xc3\xa9"}\r\n{"b": 1}\rbad \xff\xfe bytes\n\n'
        b'{"c": "\xe2\x82\xac"}\r\r\nlast line without newline'
    )
    expected = list(TextIOWrapper(BytesIO(data), encoding="utf-8", errors="replace"))
    lines = _Lines()
    got = [line for i in range(0, len(data), chunk) for line in lines.feed(data[i : i + chunk])]
    got += lines.feed(b"")
    assert got == expected


SDK_STDIO = (
    "import anyio, front_tools\n"
    "from agentkit.mcp import build_server, serve_stdio\n"
    "anyio.run(serve_stdio, build_server([front_tools.toolset], name='toolset'))\n"
)


def test_serving_from_a_regular_file(tmp_path: Path) -> None:
    # A file is not pollable: the reading thread keeps delivering after the handoff.
    requests = tmp_path / "requests.jsonl"
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 40, "b": 2}},
    }
    ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
    requests.write_text(
        "".join(_line(m) for m in (_initialize(_params()), INITIALIZED, LIST, call, ping))
    )
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    outputs = []
    for command in ([*AGENTKIT, "serve", "front_tools:toolset"], [sys.executable, "-c", SDK_STDIO]):
        with requests.open("rb") as stdin:
            done = subprocess.run(
                command, stdin=stdin, capture_output=True, cwd=HERE, env=env, timeout=60, check=True
            )
        outputs.append({a["id"]: a for a in map(json.loads, done.stdout.decode().splitlines())})
    ours, sdk = outputs
    assert ours[0] == sdk[0]
    assert ours[1]["result"] == _answers_for(front_tools.toolset).tools_list(None, "2025-11-25")
    # EOF right behind the requests ends the session with them in flight: the SDK
    # answers such a request, fails it with "Connection closed" or drops it,
    # depending on timing, through its own transport as through the front.
    for request_id in (2, 3):
        if request_id in ours:
            answer = ours[request_id]
            assert "result" in answer or answer["error"]["message"] == "Connection closed"


def _answers_for(toolset: Any) -> FastAnswers:
    found = fast_answers([toolset], name="front_tools:toolset")
    assert found is not None
    return found


def test_a_traced_server_goes_without_the_front() -> None:
    # In a child process: a tracer provider can be set only once per process.
    script = (
        "from agentkit.mcp._serve import _tracing_on\n"
        "before = _tracing_on()\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "untraced = _tracing_on()\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "print(before, untraced, _tracing_on())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "False", "True"]
