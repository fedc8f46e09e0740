"""``agentkit export`` and ``agentkit import``: agent files ↔ Agent Spec documents.

The main CLI registers these functions as its ``export`` and ``import``
sub-commands; ``python -m agentkit.agentspec`` runs them on their own.

Every loss is printed to stderr as ``warning: ...``; with ``--strict`` any
loss is an error (exit 2) and nothing is written. Errors a user can cause
raise ``UserError`` (exit 2 in the CLI).
"""

from __future__ import annotations

import argparse
import sys

# Not `from typing import ...`: the main CLI builds these options for --help,
# which should not pay for typing (see agentkit/_cli.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = [
    "add_export_arguments",
    "add_import_arguments",
    "main",
    "run_export",
    "run_import",
]

EXIT_OK, EXIT_LOSS = 0, 2


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``agentkit export AGENT.yaml --to agentspec [-o FILE]``."""
    parser.add_argument("agent", help="path to agent.yaml")
    parser.add_argument(
        "--to", required=True, choices=["agentspec"], help="the format to write: agentspec"
    )
    parser.add_argument(
        "--output",
        "-o",
        help="file to write: .json, or .yaml/.yml for YAML (default: JSON on stdout)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail (exit 2) if anything cannot be expressed"
    )


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``agentkit import SPEC.json|yaml [-o agent.yaml]``."""
    parser.add_argument("spec", help="an Open Agent Specification document, JSON or YAML")
    parser.add_argument("--output", "-o", help="agent file to write (default: YAML on stdout)")
    parser.add_argument(
        "--tool",
        action="append",
        default=[],
        metavar="NAME=module:function",
        help="the code of a server or client tool the document names (repeatable)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="fail (exit 2) if anything cannot be expressed"
    )


def _yaml(data: Any) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        # Instructions read best as a block, as people write them by hand.
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, text)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def _report(warnings: Sequence[Any], strict: bool) -> bool:
    """Print the losses; True when ``--strict`` makes them an error."""
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if strict and warnings:
        print(
            f"error: --strict: {len(warnings)} thing(s) cannot be expressed; nothing written",
            file=sys.stderr,
        )
        return True
    return False


def _write(text: str, output: str | None, what: str) -> None:
    from pathlib import Path

    from ..exceptions import UserError

    if output is None:
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror}") from exc
    print(f"wrote {what} to {output}", file=sys.stderr)


def run_export(args: argparse.Namespace) -> int:
    """Export an agent file as the parsed arguments say.

    Returns:
        0 when written, 2 when ``--strict`` refused a loss.

    Raises:
        UserError: the agent file is invalid or unreadable, or pyagentspec is missing.
    """
    import json
    from pathlib import Path

    from ._export import to_agentspec

    document, warnings = to_agentspec(args.agent)
    if _report(warnings, args.strict):
        return EXIT_LOSS
    output = args.output
    if output is not None and Path(output).suffix.lower() in (".yaml", ".yml"):
        text = _yaml(document)
    else:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    _write(text, output, "the Agent Spec document")
    return EXIT_OK


def _tool_mapping(values: Sequence[str]) -> dict[str, str]:
    from ..exceptions import UserError

    mapping: dict[str, str] = {}
    for value in values:
        name, sep, reference = value.partition("=")
        if not sep or not name or not reference:
            raise UserError(f"--tool {value!r}: write it as NAME=module:function")
        mapping[name] = reference
    return mapping


def run_import(args: argparse.Namespace) -> int:
    """Import an Agent Spec document as the parsed arguments say.

    Returns:
        0 when written, 2 when ``--strict`` refused a loss.

    Raises:
        SpecValidationError: pyagentspec refuses the document.
        UserError: the document holds no single agent, a ``--tool`` is malformed,
            or pyagentspec is missing.
    """
    from ._import import from_agentspec

    agent, warnings = from_agentspec(args.spec, tools=_tool_mapping(args.tool))
    if _report(warnings, args.strict):
        return EXIT_LOSS
    _write(_yaml(agent), args.output, "the agent file")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agentkit.agentspec``: ``export`` and ``import``; returns the exit code."""
    from ..exceptions import AgentkitError

    parser = argparse.ArgumentParser(
        prog="python -m agentkit.agentspec",
        description="Convert agent files to Open Agent Specification documents and back.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_export_arguments(sub.add_parser("export", help="agent file → Agent Spec"))
    add_import_arguments(sub.add_parser("import", help="Agent Spec → agent file"))
    args = parser.parse_args(argv)
    try:
        return run_export(args) if args.command == "export" else run_import(args)
    except AgentkitError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
