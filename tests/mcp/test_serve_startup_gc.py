"""``agentkit serve`` starts with the cyclic collector off and serves with it on.

Start-up (the tool sets, the stdio front's answers, the SDK server) frees
almost nothing, so collecting during it only costs time before the first
answers; the server then serves requests with the collector as the process
had it.
"""

from __future__ import annotations

import json
import subprocess
import sys

# Records the collector's state where the front's answers are made and where
# the SDK takes the session over, then ends there.
CODE = """
import gc, sys
import agentkit.mcp._fast_stdio as fast, agentkit.mcp._handoff as handoff
real = fast.fast_answers
def answers(*args, **kwargs):
    print("answers", gc.isenabled(), file=sys.stderr)
    return real(*args, **kwargs)
fast.fast_answers = answers
async def handed_over(server, front, wire):
    print("handoff", gc.isenabled(), front.answered, file=sys.stderr)
handoff.run_handed_over = handed_over
sys.argv = ["agentkit", "serve", "math"]
from agentkit._cli import main
main()
"""

HANDSHAKE = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


def test_serve_answers_with_the_collector_off_and_hands_over_with_it_on() -> None:
    lines = "".join(json.dumps(m) + "\n" for m in HANDSHAKE)
    done = subprocess.run(
        [sys.executable, "-c", CODE],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == [1, 2]
    assert [t["name"] for t in answers[1]["result"]["tools"]] == ["evaluate"]
    states = [line for line in done.stderr.splitlines() if line.startswith(("answers", "handoff"))]
    assert states == ["answers False", "handoff True ['initialize', 'tools/list']"]
