"""``agentkit conformance``: run the kit from the command line.

Exit codes: 0 every claimed scenario passed (and no known gap started
passing); 1 a claimed scenario failed, or a known gap passed; 2 a usage
error (unknown mode, wire or model, a filter or expected failure that
matches no scenario, missing cassettes); 3 the kit could not do its job (the
adapter factory or a harness crashed, a recording recorded nothing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._runner import ScenarioResult

__all__ = ["add_arguments", "main", "run_command"]

_MARKS = {
    "pass": "PASS", "fail": "FAIL", "not claimed": "----", "could claim": "CAN+",
    "n/a": "n/a ", "xfail": "XFAIL", "xpass": "XPASS",
}  # fmt: skip


def _progress(result: ScenarioResult) -> None:
    # On stderr, so a report written to stdout stays machine-readable.
    line = f"{_MARKS[result.verdict]:<5} {result.scenario.id:<42} {result.seconds:6.2f}s"
    if result.verdict in ("fail", "xpass") and result.problems:
        line += "\n        " + "\n        ".join(result.problems)
    elif result.verdict == "n/a" and result.problems:
        line += f"  {result.problems[0]}"  # why, on the same line
    print(line, file=sys.stderr, flush=True)


#: Exit codes, documented in the README's conformance section.
EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_HARNESS = 0, 1, 2, 3


def _crashed(exc: BaseException, debug: bool) -> int:
    import traceback

    from ..exceptions import HarnessError

    if isinstance(exc, HarnessError):
        print(f"error: {exc}", file=sys.stderr)
    else:
        print(f"error: the conformance kit crashed: {type(exc).__name__}: {exc}", file=sys.stderr)
    if debug:
        traceback.print_exception(exc)
    else:
        print("(--debug shows the traceback)", file=sys.stderr)
    return EXIT_HARNESS


def run_command(args: argparse.Namespace) -> int:
    """Run the kit as the parsed arguments say.

    Returns:
        0 when every claimed scenario passed (and no known gap started
        passing), 1 otherwise, 3 when the kit itself could not run (see the
        module's docstring).

    Raises:
        UserError: an unavailable mode, an unknown model, a filter that
            matches nothing (the CLI exits 2).
    """
    import anyio

    from .._refs import import_object
    from ..exceptions import UserError
    from . import check_adapter

    debug = bool(getattr(args, "debug", False))
    factory_ref = getattr(args, "factory", None)
    # Imported before the kit starts: a wrong reference is a usage error (exit 2).
    factory = import_object(factory_ref, "--factory") if factory_ref else None
    try:
        # getattr: the main CLI's parser may predate some of the options.
        report = anyio.run(
            lambda: check_adapter(
                args.target or getattr(args, "model", None) or "",
                mode=args.mode,
                levels=args.level,
                scenarios=getattr(args, "scenario", None),
                expected_failures=args.expected_failures,
                on_result=_progress,
                cassettes=getattr(args, "cassettes", None),
                record_from=getattr(args, "record_from", "live"),
                endpoint=getattr(args, "endpoint", None),
                protocol=getattr(args, "protocol", None),
                wire=getattr(args, "wire", None),
                upstream=getattr(args, "upstream", None),
                factory=factory,
            )
        )
    except UserError:
        raise
    except Exception as exc:  # HarnessError, or a bug of the kit: not a verdict
        return _crashed(exc, debug)
    print(report.summary(), file=sys.stderr)
    if args.report:
        text = report.render(args.report)
        if args.output:
            Path(args.output).write_text(text, "utf-8")
        else:
            sys.stdout.write(text)
    return EXIT_PASSED if report.ok else EXIT_FAILED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``conformance`` options to ``parser`` (``agentkit conformance`` can share it)."""
    from ._modes import ENDPOINT_PROTOCOLS, WIRE_PROTOCOLS

    parser.add_argument(
        "target",
        metavar="ADAPTER_OR_MODEL",
        nargs="?",
        default="",
        help="provider:model (endpoint mode: the model name to ask for, optional)",
    )
    parser.add_argument(
        "--mode",
        choices=["emulated", "live", "replay", "record", "endpoint"],
        default="emulated",
        help="emulated: against a loopback emulator of the wire protocol (offline); "
        "live: against the real model; record: a live (or --record-from emulated) run "
        "through a loopback recording proxy, saved to --cassettes; replay: answered from "
        "--cassettes by a loopback server, offline and keyless; endpoint: check the server "
        "at --endpoint speaking --protocol (default: emulated)",
    )
    parser.add_argument(
        "--wire",
        choices=WIRE_PROTOCOLS,
        help="emulated/record/replay: the wire protocol the adapter's base_url speaks, or "
        "a host's URL shapes for it (vertex-express, azure-v1-chat...) (default: the "
        "host's wire for vertex, azure and the Responses presets, else the factory's "
        "wire_protocol attribute)",
    )
    parser.add_argument(
        "--level", action="append", help="only this level (repeatable): core, tools, ..."
    )
    parser.add_argument(
        "--scenario", action="append", metavar="ID", help="only this scenario (repeatable)"
    )
    parser.add_argument(
        "--factory",
        metavar="MODULE:NAME",
        help="the adapter factory to check, when it is not installed as an "
        "'agentkit.adapters' entry point (e.g. acme_agentkit:create_adapter); "
        "the target's provider is then only a name",
    )
    parser.add_argument("--report", choices=["json", "md", "junit"], help="report format")
    parser.add_argument("--output", "-o", help="write the report here (default: stdout)")
    parser.add_argument(
        "--expected-failures", metavar="FILE", help="YAML list of {id, reason}: known gaps"
    )
    parser.add_argument("--cassettes", metavar="DIR", help="record/replay: the cassettes' folder")
    parser.add_argument(
        "--record-from",
        choices=["live", "emulated"],
        default="live",
        help="record: what to record (default: live)",
    )
    parser.add_argument(
        "--upstream",
        metavar="URL",
        help="record --record-from live: the real API's base URL the recording proxy "
        "forwards to (default: the adapter's own default base_url, when it has one)",
    )
    parser.add_argument("--endpoint", metavar="URL", help="endpoint: the server's base URL")
    parser.add_argument(
        "--protocol",
        choices=sorted(ENDPOINT_PROTOCOLS),
        help="endpoint: the server's protocol; an openai-chat preset name "
        "(llamacpp-server, vllm, ollama-openai) checks against that preset's claims",
    )
    parser.add_argument("--model", help="endpoint: the model name to ask the server for")
    # SUPPRESS: when absent here, `agentkit --debug conformance ...` keeps the
    # top-level flag instead of having this default overwrite it.
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback when the kit itself fails",
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m agentkit.conformance``: the same as ``agentkit conformance``, every option."""
    from ..exceptions import AgentkitError

    parser = argparse.ArgumentParser(
        prog="python -m agentkit.conformance", description="run the conformance scenarios"
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except AgentkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
