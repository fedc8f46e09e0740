"""The command line's scale-out: ``agentkit batch`` and ``agentkit worker``.

Kept apart from ``_cli.py`` so the CLI grows by a few lines only, and light:
DBOS loads when a command runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = [
    "add_batch_arguments",
    "add_worker_arguments",
    "db_url",
    "run_batch_command",
    "run_worker_command",
]

DB_HELP = (
    "system database of the durable runs: sqlite:///PATH or a .sqlite file (one machine) "
    "or postgresql://USER@HOST:PORT/DB (shared by workers on many machines); default "
    "$AGENTKIT_DURABLE_DATABASE, else durable.sqlite in ~/.local/state/agentkit"
)


def db_url(given: str | None) -> str:
    """``--db``, else ``$AGENTKIT_DURABLE_DATABASE``, else the state directory's SQLite file."""
    from .durable._engine import database_url

    return database_url(given or os.environ.get("AGENTKIT_DURABLE_DATABASE") or None)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``agentkit batch``."""
    parser.add_argument("agent", help="path to agent.yaml")
    parser.add_argument(
        "inputs",
        help='JSONL file: one input a line, a string or {"id": ..., "input": "..."}',
    )
    parser.add_argument(
        "--out",
        "-o",
        required=True,
        help="JSONL results file, one line per input as runs finish; running the same "
        "command again appends only what is missing",
    )
    parser.add_argument("--model", "-m", help="provider:model (default: as for agentkit run)")
    parser.add_argument("--base-url", help="send the model's requests to this API root")
    parser.add_argument("--profile", "-p", help="a profile of the agent file")
    parser.add_argument("--db", "--database", dest="db", help=DB_HELP)
    parser.add_argument(
        "--rate",
        help="the provider's rate limit across all workers: at most LIMIT runs started per "
        "PERIOD, e.g. 60/1m or 5/1s (stored with the provider's queue)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive,
        help="runs in flight at once across all workers (stored with the provider's queue)",
    )
    parser.add_argument(
        "--worker-concurrency",
        type=_positive,
        help="runs in flight at once in each worker process, this one included",
    )
    parser.add_argument(
        "--workers-only",
        action="store_true",
        help="only enqueue and collect the answers; `agentkit worker` processes run them",
    )


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``agentkit worker``."""
    parser.add_argument("--db", "--database", dest="db", help=DB_HELP)
    parser.add_argument(
        "--concurrency",
        type=_positive,
        help="runs at once in each worker, per provider (stored with the queues, so it "
        "applies to every worker that shares them)",
    )
    parser.add_argument(
        "--provider",
        action="append",
        default=[],
        help="serve only this provider's queue, its adapter loaded before the first run "
        "(repeat for several; default: every queue)",
    )


def run_batch_command(args: argparse.Namespace) -> int:
    """``agentkit batch``: exit 0 when every input is answered, 1 when some failed."""
    from .durable._batchrun import BatchOptions, run_batch
    from .durable._queues import parse_rate

    options = BatchOptions(
        agent=Path(args.agent),
        inputs=Path(args.inputs),
        out=Path(args.out),
        db_url=db_url(args.db),
        model=args.model,
        base_url=args.base_url,
        profile=args.profile or os.environ.get("AGENTKIT_PROFILE") or None,
        rate=parse_rate(args.rate) if args.rate else None,
        concurrency=args.concurrency,
        worker_concurrency=args.worker_concurrency,
        work_here=not args.workers_only,
    )
    progress = run_batch(options)
    return 1 if progress.failed else 0


def run_worker_command(args: argparse.Namespace) -> int:
    """``agentkit worker``: serve until SIGTERM or Ctrl-C."""
    from .durable._worker import run_worker

    run_worker(db_url(args.db), concurrency=args.concurrency, providers=args.provider)
    return 0
