"""The command line's token views: ``agentkit tokens`` and ``agentkit run --tokens``.

Kept apart from ``_cli.py`` so the CLI grows by a few lines only.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ._result import RunResult

__all__ = ["add_arguments", "print_ledger", "run_command"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``agentkit tokens``."""
    parser.add_argument("agent", help="path to agent.yaml")
    parser.add_argument(
        "--model",
        "-m",
        action="append",
        required=True,
        help="provider:model to measure on; repeat for a side-by-side table",
    )
    parser.add_argument("--profile", "-p", help="a profile of the agent file")


def run_command(args: argparse.Namespace) -> int:
    """Print the fixed prefix's tokens and price on each model; no model is called."""
    import sys

    import anyio

    from ._agentfile import load_agent
    from ._prefix import PrefixCost, format_prefixes, measure_prefix

    agent = load_agent(args.agent, profile=args.profile)

    from .exceptions import AdapterError, SchemaCompileError

    failed: list[str] = []

    async def measure() -> list[PrefixCost]:
        costs = []
        for model in args.model:
            try:
                costs.append(await measure_prefix(agent, model))
            except (SchemaCompileError, AdapterError) as exc:
                # What a run on this model would fail with: said, not fatal here.
                failed.append(f"{model}: cannot measure: {type(exc).__name__}: {exc}")
        return costs

    costs = anyio.run(measure)
    print(format_prefixes(costs), file=sys.stdout)
    for line in failed:
        print(line, file=sys.stdout)
    print(
        "estimates of the request body each provider's adapter would send "
        "(the instructions and tool definitions, compiled for its dialect); no model was called",
        file=sys.stdout,
    )
    return 0


def print_ledger(result: RunResult, out: TextIO) -> None:
    """The run's token ledger as a table, then the advice drawn from it."""
    from ._advice import advice
    from ._ledger import format_ledger

    print(file=out)
    print(
        "where the tokens went (input parts estimated; unattributed = reported - estimated):",
        file=out,
    )
    print(format_ledger(result.ledger), file=out)
    for item in advice(result):
        print(f"advice: {item.message}", file=out)
