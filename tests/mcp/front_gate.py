"""``agentkit serve``'s stdio front with the SDK server held back until a file exists.

``python front_gate.py GATE``: serves ``front_tools`` over stdio; the SDK
server is built only once ``GATE`` exists (the test creates it), so what the
client gets before then can only have come from the front. At exit it prints
which requests the front answered itself, to stderr.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import front_tools

from agentkit.mcp import _fast_stdio
from agentkit.mcp._server import build_server

TOOLSETS = [front_tools.toolset, front_tools.second]


def main() -> None:
    gate = Path(sys.argv[1])
    fronts: list[_fast_stdio.StdioFront] = []
    made = _fast_stdio.StdioFront.__init__

    def keep(self: _fast_stdio.StdioFront, *args: Any) -> None:
        made(self, *args)
        fronts.append(self)

    _fast_stdio.StdioFront.__init__ = keep  # type: ignore[method-assign]
    opened = threading.Event()

    def watch() -> None:
        # inotify would do; a short poll is enough for a test helper's gate.
        while not gate.exists():
            opened.wait(0.02)
        opened.set()

    def build() -> Any:
        threading.Thread(target=watch, daemon=True).start()
        opened.wait()
        return build_server(TOOLSETS, name="front_tools", tool_timeout=30)

    _fast_stdio.serve_stdio_fast(TOOLSETS, name="front_tools", tool_timeout=30, build=build)
    print(f"front answered: {fronts[0].answered}", file=sys.stderr)


if __name__ == "__main__":
    main()
