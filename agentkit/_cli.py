"""The ``agentkit`` command.

Only ``argparse`` loads before a subcommand runs, so ``agentkit --help``
answers at once; each subcommand imports what it needs.
"""

from __future__ import annotations

import argparse
import os
import sys

# Not `from typing import ...`: --help should not pay for typing (see __init__).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TextIO

    from ._result import RunResult

__all__ = ["main"]

#: Exit codes, one per error class, so scripts can tell failures apart. A
#: subclass takes its nearest listed ancestor's code (SpecValidationError and
#: SchemaCompileError are UserErrors); a run error that wraps a provider
#: error takes the provider error's code.
EXIT_TABLE: tuple[tuple[int, str, str], ...] = (
    (0, "", "the run finished"),
    (1, "", "any other error"),
    (2, "UserError", "bad agent file, option, input or configuration"),
    (3, "AuthenticationError", "the provider rejected the key"),
    (4, "RateLimitError", "rate limited or out of quota, after the retries"),
    (5, "ModelNotFoundError", "the provider does not know the model"),
    (6, "ContentFilterError", "the provider blocked the prompt or the answer"),
    (7, "MaxTurnsError", "max_turns reached without a final answer"),
    (8, "OutputValidationError", "the answer never matched the output schema"),
    (9, "ToolRetriesError", "a tool kept failing past its retry budget"),
    (10, "AdapterError", "any other provider or connection failure"),
    (11, "BudgetExceededError", "the next model call would pass max_cost_usd"),
    (12, "TruncatedError", "an answer was cut off at max_tokens (--fail-on-truncation)"),
    (13, "ToolNotRepeatableError", "a resumed --durable run found a not-repeatable tool in flight"),
    (130, "", "interrupted"),
)
EXIT_CODES = {name: code for code, name, _ in EXIT_TABLE if name}


def _exit_epilog() -> str:
    lines = ["exit codes:"]
    for code, name, meaning in EXIT_TABLE:
        lines.append(f"  {code:<4} {name + ': ' if name else ''}{meaning}")
    lines.append("\nwith --json, a failure also prints a last line on stdout:")
    lines.append('  {"type": "error", "error": CLASS, "message": ..., "exit_code": N}')
    return "\n".join(lines)


class _Skipped:
    """The parser of a subcommand that is not the one running: takes its options, keeps none.

    Building every subcommand's options cost about 11M instructions (argparse
    looks up translations and the terminal size for each parser and option)
    before ``agentkit serve`` could answer its first request.
    """

    def __getattr__(self, name: str) -> Any:
        return self._drop

    def _drop(self, *args: Any, **kwargs: Any) -> Any:
        return self


def _parser(full: bool = False, only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, the other subcommands are left out.

    ``only`` is the command word of the line to parse: its subcommand parses
    and helps exactly as in the whole parser. A word that names no subcommand
    gets the whole parser, so its error lists every choice.
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="agentkit",
        description="Write an agent once, run it on any model.",
    )
    parser.add_argument("--version", action="version", version=f"agentkit {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the Python traceback of an unexpected error (a bug worth reporting)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    built: list[str] = []

    def add_parser(name: str, **options: Any) -> Any:
        if only is not None and name != only:
            return _Skipped()
        built.append(name)
        return sub.add_parser(name, **options)

    run = add_parser(
        "run",
        help="run an agent file to a final answer",
        description="Run an agent file to a final answer.",
        epilog=_exit_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("agent", help="path to agent.yaml")
    run.add_argument(
        "--model",
        "-m",
        help="provider:model, e.g. openai:gpt-4.1-mini; a comma-separated chain falls back "
        "in order on retryable failures",
    )
    run.add_argument(
        "--base-url",
        help="send the model's requests to this API root instead of the provider's own "
        "(a proxy, a gateway, a local server); wins over the provider's base-URL variable",
    )
    run.add_argument("--profile", "-p", help="a profile of the agent file (e.g. dev, prod)")
    run.add_argument("--input", "-i", help="the user's message (default: read stdin)")
    run.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="stream the answer as it arrives (default: on)",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print JSON lines on stdout: the model choice, every run event (the last "
        "with the cost), or an error line",
    )
    run.add_argument(
        "--fail-on-truncation",
        action="store_true",
        help="fail (exit 12) when an answer is cut off at max_tokens, instead of warning",
    )
    run.add_argument(
        "--trace",
        choices=["otlp", "console"],
        help="export OpenTelemetry spans of the run: otlp (HTTP/protobuf to "
        "OTEL_EXPORTER_OTLP_ENDPOINT, default http://127.0.0.1:4318) or console (stderr)",
    )
    run.add_argument(
        "--durable",
        action="store_true",
        help="record every model call and tool call (DBOS, SQLite by default), so that a run "
        "whose process died resumes with --run-id instead of starting over",
    )
    run.add_argument(
        "--run-id",
        help="with --durable: the run's id; give the id of an unfinished run to resume it, "
        "of a finished one to print its result again (default: a new id, printed on stderr)",
    )
    run.add_argument(
        "--database",
        help="with --durable: where runs are stored, a postgresql:// or sqlite:/// URL, a "
        ".sqlite file or a directory (default: AGENTKIT_DURABLE_DATABASE, else "
        "~/.local/state/agentkit/durable.sqlite)",
    )

    run.add_argument(
        "--tokens",
        action="store_true",
        help="after the run, show where the tokens went (a ledger per call) and advice",
    )
    # A skipped subcommand's module is not imported either (typing and pathlib
    # come with them): `agentkit serve` pays only for its own options.
    tokens = add_parser(
        "tokens",
        help="show what an agent's fixed prefix costs on each model, without calling it",
    )
    if not isinstance(tokens, _Skipped):
        from ._tokens_command import add_arguments as add_tokens_arguments

        add_tokens_arguments(tokens)

    batch = add_parser(
        "batch",
        help="run an agent on every line of a JSONL file as durable queued runs",
        description="Run an agent on every input of a JSONL file: one durable run per "
        "input on the provider's queue, answers appended to --out as they finish.",
    )
    worker = add_parser(
        "worker",
        help="take batch runs from the queues of a shared database until stopped",
    )
    if not isinstance(batch, _Skipped) or not isinstance(worker, _Skipped):
        from ._batch_command import add_batch_arguments, add_worker_arguments

        add_batch_arguments(batch)
        add_worker_arguments(worker)

    validate = add_parser("validate", help="check an agent file against its schema")
    validate.add_argument("agent", help="path to agent.yaml")

    serve = add_parser(
        "serve",
        help="serve tool sets or agents as an MCP server",
        description="Serve tool sets (agentkit.tools entry points or module:object), agent "
        "files and mcpServers JSON files as one MCP server.",
    )
    serve.add_argument(
        "target", nargs="+", help="tool set name, module:object, agent.yaml or mcpServers .json"
    )
    serve.add_argument("--transport", "-t", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP address (default: 127.0.0.1)")
    serve.add_argument("--port", "-p", type=int, default=8000, help="HTTP port (0: any free one)")
    serve.add_argument(
        "--token-env", metavar="VAR", help="require HTTP requests to carry the bearer token in VAR"
    )
    serve.add_argument(
        "--stateless", action="store_true", help="HTTP without sessions, for horizontal scaling"
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also accept requests addressed to HOST (a name or IP, optionally :PORT); "
        "repeatable. Loopback names, and with --host the bound address, are always accepted",
    )
    serve.add_argument(
        "--tool-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="longest a tool call may take before the client gets an error (default: 120; "
        "0: no limit). A timed-out sync tool keeps running in its worker thread",
    )
    serve.add_argument("--model", "-m", help="provider:model for agent files")
    serve.add_argument(
        "--a2a",
        action="store_true",
        help="serve one agent file over A2A (JSON-RPC and HTTP+JSON, an Agent Card) "
        "instead of MCP; the token is --token-env or AGENTKIT_A2A_TOKEN",
    )
    serve.add_argument("--public-url", help="with --a2a: the URL the Agent Card names")
    serve.add_argument(
        "--trace",
        choices=["otlp", "console"],
        help="export OpenTelemetry spans of the requests served (MCP and A2A) and of agent "
        "runs: otlp (to OTEL_EXPORTER_OTLP_ENDPOINT, default http://127.0.0.1:4318) or "
        "console (stderr); a caller's trace context is continued",
    )

    schema = add_parser("schema", help="print a published JSON Schema")
    schema.add_argument("name", help="message, tool, agent, stream-event, run-event or usage")

    # Light to build (argparse only); the conversion loads pyagentspec when it runs.
    export = add_parser(
        "export", help="write an agent file as an Open Agent Specification document"
    )
    import_ = add_parser(
        "import", help="read an Open Agent Specification document as an agent file"
    )
    if not isinstance(export, _Skipped) or not isinstance(import_, _Skipped):
        from .agentspec._command import add_export_arguments, add_import_arguments

        add_export_arguments(export)
        add_import_arguments(import_)

    conformance = add_parser(
        "conformance", help="check that an adapter behaves: run the conformance scenarios"
    )
    if full:
        # The kit's options come from the kit itself; building them imports the
        # neutral types, which only this subcommand should pay for.
        from .conformance._command import add_arguments

        add_arguments(conformance)
    if only is not None and not built:
        return _parser(full)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    # `module:attribute` references (--factory, serve's tools) name the user's own
    # modules: the console script finds them where `python -m agentkit` does, in
    # the working directory, which only `-m` puts on the path by itself.
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    # The command is the first word that is not a top-level option (--debug).
    command = next((w for w in words if not w.startswith("-")), None)
    args = _parser(full=command == "conformance", only=command).parse_args(words)
    if args.command is None:
        _parser().print_help()
        return 0
    from .exceptions import AgentkitError

    try:
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "tokens":
            from ._tokens_command import run_command as run_tokens

            return run_tokens(args)
        if args.command in ("batch", "worker"):
            from ._batch_command import run_batch_command, run_worker_command

            return (run_batch_command if args.command == "batch" else run_worker_command)(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "export":
            from .agentspec._command import run_export

            return run_export(args)
        if args.command == "import":
            from .agentspec._command import run_import

            return run_import(args)
        if args.command == "conformance":
            from .conformance._command import run_command

            return run_command(args)
        return _schema(args)
    except AgentkitError as exc:
        code = _exit_code(exc)
        if getattr(args, "json", False):
            _json_error(type(exc).__name__, str(exc), code, getattr(exc, "cause", None))
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        if getattr(args, "json", False):
            _json_error("KeyboardInterrupt", "interrupted", 130, None)
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # Not one of ours: a bug. The person at the terminal gets one line they can
        # report; the traceback is there for whoever asks for it.
        if getattr(args, "debug", False):
            raise
        if getattr(args, "json", False):
            _json_error(type(exc).__name__, str(exc), 1, None)
        print(
            f"error: internal error: {type(exc).__name__}: {exc} "
            "(run again with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


def _json_error(name: str, message: str, code: int, cause: object) -> None:
    """The last line of ``run --json`` when the run fails, so a script sees why."""
    import json

    line: dict[str, Any] = {"type": "error", "error": name, "message": message}
    if cause is not None:
        line["cause"] = type(cause).__name__
    line["exit_code"] = code
    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _describe(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    name = type(cause).__name__ if cause is not None else type(exc).__name__
    return f"{name}: {exc}"


def _exit_code(exc: BaseException) -> int:
    for candidate in (getattr(exc, "cause", None), exc):
        if candidate is None:
            continue
        for cls in type(candidate).__mro__:
            if cls.__name__ in EXIT_CODES:
                return EXIT_CODES[cls.__name__]
    return 1


def _validate(args: argparse.Namespace) -> int:
    from ._agentfile import load_agent

    agent = load_agent(args.agent)
    print(f"{args.agent}: ok (agent {agent.name!r})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    provider = _setup_tracing(args.trace) if args.trace else None
    if provider is not None:
        from ._tracing import flush_on_sigterm

        flush_on_sigterm(provider)  # a server is usually stopped with SIGTERM
    try:
        return _serve_traced(args)
    finally:
        if provider is not None:
            provider.shutdown()  # sends the spans still batched


def _serve_traced(args: argparse.Namespace) -> int:
    import os

    from .exceptions import UserError
    from .mcp._serve import serve_targets

    token = None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise UserError(f"--token-env {args.token_env}: that variable is not set or empty")
        if args.transport != "http" and not args.a2a:
            raise UserError("--token-env only applies to --transport http or --a2a")
    if args.a2a and args.stateless:
        raise UserError(
            "--stateless is for MCP over HTTP: an A2A server keeps its tasks and "
            "conversations in memory, so it runs as one process (see the README's A2A section)"
        )
    if args.a2a:
        from .a2a import serve_a2a_from_args

        serve_a2a_from_args(
            args.target,
            host=args.host,
            port=args.port,
            token=token,
            model=args.model,
            public_url=args.public_url,
        )
        return 0
    if args.allow_host and args.transport != "http":
        raise UserError("--allow-host only applies to --transport http")
    if args.stateless and args.transport != "http":
        # stdio has one client for the life of the process: there is no
        # session to drop, so the flag would do nothing and say nothing.
        raise UserError("--stateless only applies to --transport http")
    if args.tool_timeout < 0:
        raise UserError("--tool-timeout must be 0 (no limit) or a number of seconds")
    serve_targets(
        args.target,
        transport=args.transport,
        host=args.host,
        port=args.port,
        token=token,
        stateless=args.stateless,
        model=args.model,
        allowed_hosts=args.allow_host,
        tool_timeout=args.tool_timeout or None,
    )
    return 0


def _schema(args: argparse.Namespace) -> int:
    from ._specs import load_schema, render

    sys.stdout.write(render(load_schema(args.name)))
    return 0


def _read_input(args: argparse.Namespace) -> str:
    from .exceptions import UserError

    if args.input is not None:
        text = str(args.input)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            # Bytes of the command line that are not UTF-8 arrive as surrogates.
            raise UserError(
                f"--input is not UTF-8 text: character {exc.start} cannot be encoded"
            ) from None
        if not text.strip():
            raise UserError("no input: --input was empty")
        return text
    if sys.stdin is None or sys.stdin.isatty():
        raise UserError("no input: pass --input TEXT or pipe the message on stdin")
    buffer = getattr(sys.stdin, "buffer", None)
    data = buffer.read() if buffer is not None else sys.stdin.read().encode("utf-8")
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise UserError(
            f"stdin is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
            "cannot be decoded"
        ) from None
    if not text:
        raise UserError("no input: stdin was empty")
    return text


def _run(args: argparse.Namespace) -> int:
    import anyio

    from ._agentfile import load_agent
    from ._registry import choose_model
    from .exceptions import UserError

    agent = load_agent(args.agent, profile=args.profile)
    message = _read_input(args)
    choice = choose_model(args.model, agent.default_model)
    options: dict[str, Any] = {}
    if args.base_url:
        if "," in choice.model:
            raise UserError(
                f"--base-url names one API root, but the model is a chain ({choice.model}); "
                "point each provider at its URL with its base-URL variable instead"
            )
        options["base_url"] = args.base_url
    printer: _JsonPrinter | _HumanPrinter
    if args.json:
        printer = _JsonPrinter(sys.stdout)
        printer.line(
            {
                "type": "model_choice",
                "model": choice.model,
                "reason": choice.reason,
                **({"base_url": args.base_url} if args.base_url else {}),
            }
        )
    else:
        where = f", at {args.base_url}" if args.base_url else ""
        print(f"model: {choice.model} ({choice.reason}{where})", file=sys.stderr)
        printer = _HumanPrinter(sys.stdout, sys.stderr)

    async def go() -> RunResult | None:
        from ._runner import run_stream

        result = None
        on_truncation: Any = "error" if args.fail_on_truncation else "warn"
        if args.durable:
            events = _durable_events(args, message, choice.model, options, on_truncation)
        else:
            if args.run_id or args.database:
                raise UserError("--run-id and --database only apply to --durable runs")
            events = run_stream(
                agent,
                message,
                model=choice.model,
                stream=args.stream,
                model_options=options,
                on_truncation=on_truncation,
            )
        async for event in events:
            result = printer.event(event) or result
        return result

    provider = _setup_tracing(args.trace) if args.trace else None
    try:
        result = anyio.run(go)
    finally:
        if provider is not None:
            provider.shutdown()  # sends the spans still batched
        if args.durable and "agentkit.durable" in sys.modules:
            sys.modules["agentkit.durable"].shutdown()
    if result is not None and isinstance(printer, _HumanPrinter):
        _print_usage_table(result, printer.turn_usage, sys.stdout)
    if result is not None and args.tokens:
        from ._tokens_command import print_ledger

        # Beside JSON lines, on stderr, so stdout stays one object a line.
        print_ledger(result, sys.stderr if args.json else sys.stdout)
    return 0


def _durable_events(
    args: argparse.Namespace,
    message: str,
    model: str,
    options: dict[str, Any],
    on_truncation: Any,
) -> Any:
    """``run --durable``: the run's events from the durable engine, its id on stderr."""
    import os
    import uuid

    from .exceptions import UserError

    try:
        from .durable import durable_stream
    except ImportError as exc:
        raise UserError(str(exc)) from exc
    run_id = args.run_id or uuid.uuid4().hex
    if not args.run_id:
        print(f"durable run: {run_id} (resume with --run-id {run_id})", file=sys.stderr)
    return durable_stream(
        args.agent,
        message,
        run_id=run_id,
        model=model,
        stream=args.stream,
        model_options=options,
        on_truncation=on_truncation,
        profile=args.profile,
        database=args.database or os.environ.get("AGENTKIT_DURABLE_DATABASE") or None,
    )


def _setup_tracing(exporter: str) -> Any:
    from .exceptions import UserError

    try:
        from .tracing import setup_tracing
    except ImportError as exc:
        raise UserError(str(exc)) from exc
    return setup_tracing("otlp" if exporter == "otlp" else "console")


class _JsonPrinter:
    """One JSON object a line; the run's result carries its priced usage and cost."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def line(self, data: dict[str, Any]) -> None:
        import json

        self.out.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.out.flush()

    def event(self, event: Any) -> RunResult | None:
        if event.type != "run_end":
            self.out.write(event.model_dump_json(exclude_none=True) + "\n")
            self.out.flush()
            return None
        result: RunResult = event.result
        data = event.model_dump(mode="json", exclude_none=True)
        data["result"]["usage_by_model"] = {
            key: usage.model_dump(mode="json") for key, usage in result.priced_usage().items()
        }
        data["result"]["cost_usd"] = result.cost_usd
        self.line(data)
        return result


class _HumanPrinter:
    """Text as it arrives, each tool call and result, warnings on stderr."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self.at_line_start = True
        self.turn_usage: list[tuple[int, str, Any]] = []
        self.turn = 0

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self.at_line_start = text.endswith("\n")

    def _line(self, text: str) -> None:
        if not self.at_line_start:
            self._write("\n")
        self._write(text + "\n")

    def event(self, event: Any) -> RunResult | None:
        import json

        kind = event.type
        if kind == "turn_start":
            self.turn = event.turn
        elif kind == "text_delta" or kind == "refusal_delta":
            self._write(event.text)
        elif kind == "tool_call_end":
            call = event.call
            shown = call.raw_arguments or json.dumps(call.arguments, ensure_ascii=False)
            self._line(f"→ {call.name}({shown})")
        elif kind == "tool_result":
            mark = "✗" if event.result.is_error else "←"
            body = event.result.text or json.dumps(event.result.structured_content)
            self._line(f"{mark} {event.call.name}: {_clip(body)}")
        elif kind == "warning":
            print(f"warning: {event.warning.message}", file=self.err)
        elif kind == "retry":
            print(
                f"retry: {event.model} attempt {event.attempt} failed ({event.error}: "
                f"{event.message}); retrying in {event.wait_seconds:.1f} s",
                file=self.err,
                flush=True,
            )
        elif kind == "escalation":
            if not self.at_line_start:
                self._write("\n")  # the discarded answer's line ends before the reason
            print(
                f"escalate: turn {event.turn} {event.from_model} → {event.to_model} "
                f"({event.condition}: {event.detail})",
                file=self.err,
                flush=True,
            )
        elif kind == "response_end":
            response = event.response
            model = f"{response.provider}:{response.model_id}"
            self.turn_usage.append((self.turn, model, response.usage))
        elif kind == "run_end":
            if not self.at_line_start:
                self._write("\n")
            return event.result  # type: ignore[no-any-return]
        return None


def _clip(text: str, limit: int = 200) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_usage_table(result: RunResult, turns: list[tuple[int, str, Any]], out: TextIO) -> None:
    """One row per model call, then the total, with prices where they are known."""
    from ._cost import price_usage
    from ._messages import Usage

    def cost(value: float | None) -> str:
        return "unknown" if value is None else f"${value:.6f}"

    def row(label: str, model: str, usage: Usage) -> list[str]:
        return [
            label,
            model,
            str(usage.input_tokens),
            str(usage.cache_read_input_tokens),
            str(usage.output_tokens),
            str(usage.reasoning_output_tokens),
            cost(usage.cost_usd),
        ]

    rows: list[list[str]] = [["turn", "model", "input", "cached", "output", "reasoning", "cost"]]
    for turn, model, usage in turns:
        if usage is None:
            rows.append([str(turn), model, "-", "-", "-", "-", "not reported"])
            continue
        rows.append(row(str(turn), model, price_usage(model, usage)))
    total = Usage(requests=0, cost_usd=0.0)
    for key, usage in result.usage_by_model.items():
        total = total + price_usage(key, usage)
    rows.append(row("total", f"{result.turns} turns", total))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out.write("\n")
    for r in rows:
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(r, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
