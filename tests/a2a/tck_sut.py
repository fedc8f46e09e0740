"""agentkit's A2A server as the system under test of the A2A TCK (see .ci/a2a-tck.sh).

An echo agent on a scripted model, so the run is offline; each answer waits
``DELAY`` seconds first, because the TCK watches tasks while they work.

    python tests/a2a/tck_sut.py PORT [DELAY]
"""

from __future__ import annotations

import functools
import sys

import anyio

from agentkit import Agent, ModelRequest
from agentkit.a2a import serve_a2a
from agentkit.testing import FunctionAdapter


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9999
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 1.5

    async def model(request: ModelRequest) -> str:
        await anyio.sleep(delay)
        return f"echo: {request.messages[-1].text}"

    agent = Agent(name="tck-echo", description="Echoes the message back.", instructions="Echo.")
    anyio.run(functools.partial(serve_a2a, agent, port=port, model=FunctionAdapter(model)))


if __name__ == "__main__":
    main()
