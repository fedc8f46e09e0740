"""Start-up cost: ``import agentkit`` and ``agentkit --help`` against a bare interpreter.

Budget: at most 150 ms each. The baseline (``python -c pass``) is measured in
the same run, so the numbers can be compared on a busy or slow machine.

    uv run python bench/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET_MS = 150.0


def _time(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    # The console script next to this interpreter (uv run puts it on PATH too).
    cli = str(Path(sys.executable).with_name("agentkit"))
    if not Path(cli).exists():
        cli = shutil.which("agentkit") or "agentkit"
    cases = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "import agentkit": [sys.executable, "-c", "import agentkit"],
        "agentkit --help": [cli, "--help"],
        "from agentkit import Agent, run, tool": [
            sys.executable,
            "-c",
            "from agentkit import Agent, run, tool",
        ],
        "import mcp (for scale)": [sys.executable, "-c", "import mcp"],
    }
    for command in cases.values():  # warm the file cache and .pyc files
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
    baseline = _time(cases["python -c pass (baseline)"], runs)
    print(f"{'case':<40} {'median ms':>10} {'over baseline':>14} {'budget':>8}")
    for name, command in cases.items():
        ms = _time(command, runs)
        over = ms - baseline
        budgeted = name in ("import agentkit", "agentkit --help")
        budget = ("ok" if ms <= BUDGET_MS else "OVER") if budgeted else ""
        print(f"{name:<40} {ms:>10.1f} {over:>+14.1f} {budget:>8}")


if __name__ == "__main__":
    main()
