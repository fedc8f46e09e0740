"""``agentkit batch``: one durable run per input line, results as they finish.

Each input becomes a workflow whose id is the batch id (a hash of the agent
file, the model and its options) and the input's key (its ``id``, or its line
and a hash of its text), so running the same command again finds the runs
already done, or still in flight, instead of starting them over: DBOS
returns the existing workflow for an id it knows. The output file is a log of
answers, one JSON line per input, appended as runs finish; a rerun reads it
and writes only the answers it lacks.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..exceptions import UserError

if TYPE_CHECKING:
    from .._agent import Agent

__all__ = ["BatchItem", "BatchProgress", "batch_id", "read_done", "read_inputs", "workflow_id"]

#: Statuses after which a run will not change any more.
FINAL = ("SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")


@dataclass(frozen=True)
class BatchItem:
    """One input of a batch.

    Attributes:
        key: Its id in the output: the line's ``id``, else ``line<N>-<hash>``.
        input: The user's message.
        line: Its line number in the inputs file (1-based).
    """

    key: str
    input: str
    line: int


def _item(raw: str, line: int, source: str) -> BatchItem:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"{source}:{line}: not JSON ({exc.msg}); one JSON value a line") from None
    given: Any = None
    if isinstance(value, dict):
        given = value.get("id")
        value = value.get("input")
    if not isinstance(value, str) or not value.strip():
        raise UserError(
            f"{source}:{line}: expected a non-empty string or an object with a string "
            '"input" (and an optional "id"), e.g. {"id": "q1", "input": "Hello"}'
        )
    if given is not None and not isinstance(given, (str, int)):
        raise UserError(f'{source}:{line}: "id" must be a string or an integer')
    if given is None:
        digest = hashlib.sha256(value.encode()).hexdigest()[:12]
        key = f"line{line}-{digest}"
    else:
        key = str(given)
    return BatchItem(key=key, input=value, line=line)


def read_inputs(path: Path) -> list[BatchItem]:
    """The inputs of a JSONL file: a string a line, or ``{"id": ..., "input": ...}``.

    Raises:
        UserError: the file is unreadable, a line is not an input, or two share an id.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"cannot read inputs file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"inputs file {path} is not UTF-8 text") from None
    items: list[BatchItem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        item = _item(raw, number, str(path))
        if item.key in seen:
            raise UserError(
                f"{path}:{number}: id {item.key!r} is also on line {seen[item.key]}; "
                "ids must be unique"
            )
        seen[item.key] = number
        items.append(item)
    if not items:
        raise UserError(f"inputs file {path} has no inputs")
    return items


def batch_id(agent_text: bytes, model: str, options: dict[str, Any], profile: str | None) -> str:
    """The id shared by the runs of one batch: the same command gets the same id."""
    digest = hashlib.sha256()
    for part in (agent_text, model.encode(), json.dumps(options, sort_keys=True).encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update((profile or "").encode())
    return f"batch-{digest.hexdigest()[:16]}"


def workflow_id(batch: str, item: BatchItem) -> str:
    """The DBOS workflow id of one input's run."""
    return f"{batch}:{item.key}"


def read_done(out: Path) -> set[str]:
    """Ids already answered in an output file; a torn last line is cut off.

    A process killed while writing leaves half a line at the end: it is
    removed, so the answer is written again whole.
    """
    if not out.exists():
        return set()
    data = out.read_bytes()
    keep = data if data.endswith(b"\n") or not data else data[: data.rfind(b"\n") + 1]
    if keep != data:
        out.write_bytes(keep)
    done: set[str] = set()
    for raw in keep.decode("utf-8").splitlines():
        if raw.strip():
            try:
                done.add(str(json.loads(raw)["id"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise UserError(
                    f"{out} has a line that is not a batch result; choose another --out"
                ) from None
    return done


@dataclass
class BatchProgress:
    """What the progress line shows, and the batch's summary.

    Attributes:
        total: Inputs in the batch.
        done: Inputs answered (errors included).
        failed: Answers that are errors.
        retrying: Runs waiting to start again after their worker died.
        retried: Answered runs that retried a model call or were resumed.
        tokens: Input plus output tokens of the answered runs.
        cost_usd: Their price; None once any price is unknown.
    """

    total: int
    done: int = 0
    failed: int = 0
    retrying: int = 0
    retried: int = 0
    tokens: int = 0
    cost_usd: float | None = 0.0
    started: float = field(default_factory=time.monotonic)

    def add(self, line: dict[str, Any]) -> None:
        """Count one written answer."""
        self.done += 1
        if line.get("error") is not None:
            self.failed += 1
        usage = line.get("usage") or {}
        self.tokens += int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))
        if line.get("retries"):
            self.retried += 1
        cost = line.get("cost_usd")
        if line.get("error") is None:
            self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost

    def render(self) -> str:
        """One line: ``done 12/100  failed 1  retrying 0  tokens 3,456  $0.0123  4.2 runs/s``."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        cost = "$?" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        return (
            f"done {self.done}/{self.total}  failed {self.failed}  retrying {self.retrying}  "
            f"tokens {self.tokens:,}  {cost}  {self.done / elapsed:.1f} runs/s"
        )


def result_line(key: str, status: Any, agent: Agent) -> dict[str, Any]:
    """The output line of a finished run from its DBOS status (a ``RunOutcome``)."""
    from ._records import RunOutcome, result_from_record

    line: dict[str, Any] = {"id": key}
    if status.status == "SUCCESS" and isinstance(status.output, str):
        outcome = RunOutcome.model_validate_json(status.output)
        if outcome.result is not None:
            result = result_from_record(outcome.result, agent)
            usage = result.usage
            line.update(
                output=outcome.result["output"],
                usage={
                    "requests": usage.requests,
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                },
                cost_usd=result.cost_usd,
                model=result.model,
                turns=result.turns,
                retries=len(result.retries),
                error=None,
                worker=status.executor_id,
            )
            return line
        assert outcome.error is not None
        error = {"type": outcome.error.type, "message": outcome.error.message}
    elif status.error is not None:
        error = {"type": type(status.error).__name__, "message": str(status.error)}
    else:
        ended = status.status.lower().replace("_", " ")
        error = {"type": status.status, "message": f"the run ended {ended}"}
    line.update(output=None, usage=None, cost_usd=None, error=error, worker=status.executor_id)
    return line


def write_lines(out: TextIO, lines: Iterable[dict[str, Any]]) -> None:
    """Append answers, flushed, so a reader (or a rerun) sees each one whole."""
    for line in lines:
        out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    out.flush()
