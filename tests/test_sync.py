"""``run_sync``'s event loops: one per thread, kept between calls.

What a call sees must not change with the loop it runs on: its own copy of the
caller's context, no loop left current in the thread, Ctrl-C and other
interruptions ending the loop as ``anyio.run`` would. The connection reuse
and the closing at exit are checked in a fresh process against a loopback
server that counts the connections it accepts.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from agentkit import Agent, ModelRequest, run_sync, tool
from agentkit import _sync as kept
from agentkit.exceptions import UserError
from agentkit.testing import FunctionAdapter
from tests.test_runner import call

loops: list[asyncio.AbstractEventLoop] = []
SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("SEEN", default="unset")


@tool
async def where() -> str:
    """Which loop runs this, and what the context holds."""
    loops.append(asyncio.get_running_loop())
    before = SEEN.get()
    SEEN.set("set by the tool")
    return before


def _calls_where(request: ModelRequest) -> object:
    if request.messages[-1].role == "user":
        return [call("where")]
    return request.messages[-1].parts[0].text  # type: ignore[union-attr]


AGENT = Agent(name="where", tools=[where])


def _run() -> object:
    return run_sync(AGENT, "go", model=FunctionAdapter(_calls_where)).output


def test_the_main_thread_keeps_one_loop_and_each_call_its_own_context() -> None:
    loops.clear()
    assert _run() == "unset"
    # The tool's set() stayed in the first call's copy of the context.
    assert _run() == "unset"
    token = SEEN.set("the caller's")
    try:
        assert _run() == "the caller's"
    finally:
        SEEN.reset(token)
    assert loops[0] is loops[1] is loops[2]
    assert not loops[0].is_closed()
    # Nothing outside a call sees the kept loop as the thread's loop.
    assert asyncio._get_running_loop() is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy_loop = asyncio.get_event_loop_policy()._local._loop  # type: ignore[attr-defined]
    assert policy_loop is not loops[0]


def test_a_thread_keeps_its_own_loop_closed_by_a_call_after_the_thread_ended() -> None:
    loops.clear()
    outputs: list[object] = []

    def twice() -> None:
        outputs.extend([_run(), _run()])

    thread = threading.Thread(target=twice)
    thread.start()
    thread.join()
    assert outputs == ["unset", "unset"]
    assert loops[0] is loops[1]
    # No hook runs when a thread ends: its loop is closed by the next call anywhere.
    assert not loops[0].is_closed()
    _run()
    assert loops[0].is_closed()
    assert loops[2] is not loops[0]


def test_threads_running_at_once_each_run_on_their_own_loop() -> None:
    loops.clear()
    barrier = threading.Barrier(3)
    outputs: list[object] = []

    def one() -> None:
        barrier.wait()
        outputs.append(_run())
        barrier.wait()  # both calls are over before either thread ends

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    barrier.wait()
    barrier.wait()
    for thread in threads:
        thread.join()
    assert outputs == ["unset", "unset"]
    assert loops[0] is not loops[1]
    _run()  # closes both


@tool
async def interrupt() -> str:
    """Stands for a Ctrl-C arriving while the tool runs."""
    loops.append(asyncio.get_running_loop())
    raise KeyboardInterrupt


def test_an_interrupted_call_closes_the_loop_and_the_next_starts_anew() -> None:
    loops.clear()

    def model(request: ModelRequest) -> object:
        return [call("interrupt")] if request.messages[-1].role == "user" else "never"

    with pytest.raises(KeyboardInterrupt):
        run_sync(Agent(name="i", tools=[interrupt]), "go", model=FunctionAdapter(model))
    assert loops[0].is_closed()
    assert _run() == "unset"
    assert loops[1] is not loops[0]
    assert not loops[1].is_closed()


def test_inside_a_running_loop_it_says_to_await_run() -> None:
    async def inside() -> None:
        _run()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no coroutine left un-awaited either
        with pytest.raises(UserError, match=r"await agentkit\.run"):
            asyncio.run(inside())


def test_close_ends_the_loop_and_a_later_call_makes_another() -> None:
    loops.clear()
    _run()
    kept.close()
    assert loops[0].is_closed()
    _run()
    assert not loops[1].is_closed()


SCRIPT = r"""
import atexit, http.server, json, os, sys, threading

ANSWER = json.dumps({"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
connections = []

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    def setup(self):
        connections.append(self.client_address)
        super().setup()
    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/v1"

from agentkit import Agent, run_sync
from agentkit_adapters import _http

def check_closed():
    # Registered before agentkit's own hook, so it runs after it.
    left = [client for clients in _http._clients.values() for client in clients.values()]
    print("open clients at exit:", sum(not client.is_closed for client in left), flush=True)
atexit.register(check_closed)

agent = Agent(name="a")
def ask():
    result = run_sync(agent, "hi", model="openai:gpt-4.1-mini",
                      model_options={"base_url": url, "api_key": "k"})
    assert result.output == "hi", result

for _ in range(5):
    ask()
print("connections after 5 calls:", len(connections), flush=True)
if sys.argv[1] == "pool":
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(ask) for _ in range(8)]:
            future.result()
    print("connections after 8 calls in 2 threads:", len(connections), flush=True)
if sys.argv[1] == "fork":
    child = os.fork()
    if child == 0:
        ask()  # a loop and a connection of its own
        os._exit(0)
    assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0
    ask()  # the parent's connection still works
    print("connections after the fork:", len(connections), flush=True)
"""


@pytest.mark.parametrize("mode", ["plain", "pool", "fork"])
def test_calls_share_a_connection_closed_at_exit(mode: str) -> None:
    out = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "connections after 5 calls: 1"
    if mode == "pool":
        # Each worker thread keeps its loop, and so its connection, across its calls.
        (line,) = [line for line in lines if "2 threads" in line]
        assert int(line.rsplit(":", 1)[1]) <= 3
    if mode == "fork":
        # The child opened one connection; the parent went on with its own.
        assert lines[1] == "connections after the fork: 2"
    assert lines[-1] == "open clients at exit: 0"
    assert out.stderr == ""


SIGINT_SCRIPT = r"""
import asyncio, os, signal, time
from agentkit import Agent, ModelRequest, ToolCallPart, run_sync, tool
from agentkit.testing import FunctionAdapter

@tool
async def slow() -> str:
    '''Gets a Ctrl-C while it waits.'''
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.sleep(30)
    return "not interrupted"

def model(request: ModelRequest) -> object:
    if request.messages[-1].role == "user":
        return [ToolCallPart(id="c1", name="slow", arguments={})]
    return "done"

started = time.monotonic()
try:
    run_sync(Agent(name="s", tools=[slow]), "go", model=FunctionAdapter(model))
except KeyboardInterrupt:
    print("interrupted after", round(time.monotonic() - started), "s")
print(run_sync(Agent(name="t"), "again", model=FunctionAdapter(lambda request: "again")).output)
"""


def test_ctrl_c_cancels_the_run_and_the_next_call_works() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SIGINT_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["interrupted after 0 s", "again"]
    assert out.stderr == ""


def _children() -> set[int]:
    tasks = Path(f"/proc/{os.getpid()}/task")
    return {int(pid) for f in tasks.glob("*/children") for pid in f.read_text().split()}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_an_mcp_server_over_stdio_still_lives_for_one_call_only() -> None:
    from agentkit.mcp import MCPToolset

    toolset = MCPToolset(
        command=sys.executable,
        args=["-m", "mcp_server_time", "--local-timezone", "UTC"],
        name="mcptime",
    )
    arguments = {"source_timezone": "Asia/Tokyo", "time": "16:30", "target_timezone": "UTC"}

    def model(request: ModelRequest) -> object:
        last = request.messages[-1]
        if last.role == "user":
            return [call("convert_time", **arguments)]
        return last.parts[0].text  # type: ignore[union-attr]

    before = _children()
    for _ in range(2):
        output = run_sync(Agent(name="t", tools=[toolset]), "go", model=FunctionAdapter(model))
        assert "T07:30:00+00:00" in str(output.output)  # Tokyo keeps no summer time
        # The connection, and so the server process, ended with the call,
        # although the loop it ran on is kept.
        assert _children() == before
