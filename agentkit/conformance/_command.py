"""``agentkit conformance``: run the kit from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._runner import ScenarioResult

__all__ = ["run_command"]

_MARKS = {
    "pass": "PASS", "fail": "FAIL", "not claimed": "----", "could claim": "CAN+",
    "n/a": "n/a ", "xfail": "XFAIL", "xpass": "XPASS",
}  # fmt: skip


def _progress(result: ScenarioResult) -> None:
    # On stderr, so a report written to stdout stays machine-readable.
    line = f"{_MARKS[result.verdict]:<5} {result.scenario.id:<42} {result.seconds:6.2f}s"
    if result.verdict in ("fail", "xpass") and result.problems:
        line += "\n        " + "\n        ".join(result.problems)
    print(line, file=sys.stderr, flush=True)


def run_command(args: argparse.Namespace) -> int:
    """Run the kit as the parsed arguments say.

    Returns:
        0 when every claimed scenario passed (and no known gap started
        passing), 1 otherwise.

    Raises:
        UserError: an unavailable mode or an unknown model.
    """
    import anyio

    from . import check_adapter

    report = anyio.run(
        lambda: check_adapter(
            args.target,
            mode=args.mode,
            levels=args.level,
            expected_failures=args.expected_failures,
            on_result=_progress,
        )
    )
    print(report.summary(), file=sys.stderr)
    if args.report:
        text = report.render(args.report)
        if args.output:
            Path(args.output).write_text(text, "utf-8")
        else:
            sys.stdout.write(text)
    return 0 if report.ok else 1
