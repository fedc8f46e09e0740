"""The driver of ``agentkit batch``: enqueue, follow, write answers, show progress."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ._batch import (
    FINAL,
    BatchItem,
    BatchProgress,
    batch_id,
    read_done,
    read_inputs,
    result_line,
    workflow_id,
    write_lines,
)

if TYPE_CHECKING:
    from .._agent import Agent

__all__ = ["BatchOptions", "run_batch"]


@dataclass(frozen=True)
class BatchOptions:
    """What ``agentkit batch`` was asked to do.

    Attributes:
        agent: The agent file.
        inputs: The JSONL inputs file.
        out: The JSONL results file (appended to; answered ids are skipped).
        db_url: The system database.
        model: ``provider:model`` (else the agent file's default, and so on).
        base_url: API root for the model's requests.
        profile: A profile of the agent file.
        rate: The provider queue's rate limit (run starts per period).
        concurrency: Runs in flight across all workers.
        worker_concurrency: Runs in flight in each worker (this process too).
        work_here: Run work in this process too (else only workers do).
        poll: Seconds between looks at the runs' statuses.
    """

    agent: Path
    inputs: Path
    out: Path
    db_url: str
    model: str | None = None
    base_url: str | None = None
    profile: str | None = None
    rate: tuple[int, float] | None = None
    concurrency: int | None = None
    worker_concurrency: int | None = None
    work_here: bool = True
    poll: float = 0.2


def _spec(options: BatchOptions, agent: Agent, model: str, item: BatchItem) -> str:
    from .._runner import _input_messages
    from ._records import RunSpec

    spec = RunSpec(
        agent=str(options.agent.resolve()),
        agent_name=agent.name,
        profile=options.profile,
        model=model,
        base_url=options.base_url,
        input=_input_messages(agent, item.input, None),
        # Nobody watches a batch run's tokens arrive: whole answers cost less.
        stream=False,
    )
    return spec.model_dump_json()


class _Display:
    """The progress line on stderr: redrawn in place on a terminal, else a line a second."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.tty = bool(getattr(err, "isatty", lambda: False)())
        self.last = 0.0
        self.shown = ""

    def show(self, progress: BatchProgress, *, final: bool = False) -> None:
        text = progress.render()
        now = time.monotonic()
        if self.tty:
            self.err.write("\r" + text.ljust(len(self.shown)) + ("\n" if final else ""))
        elif final or (text != self.shown and now - self.last >= 1.0):
            self.err.write(text + "\n")
            self.last = now
        self.shown = text
        self.err.flush()


def run_batch(options: BatchOptions, err: TextIO | None = None) -> BatchProgress:
    """Run a batch to the end (or find it done); returns the final counts.

    Raises:
        UserError: a bad agent file, inputs file, output file or limit.
    """
    from dbos import DBOS, SetWorkflowID

    err = err or sys.stderr
    from .._agentfile import load_agent
    from .._registry import choose_model
    from ._queues import QUEUE_PREFIX, queue_name, set_queue_limits
    from ._worker import Worker
    from ._workflow import run_workflow

    agent = load_agent(options.agent, profile=options.profile)
    text = options.agent.read_bytes()
    choice = choose_model(options.model, agent.default_model)
    items = read_inputs(options.inputs)
    done = read_done(options.out)
    batch = batch_id(
        text,
        choice.model,
        {"base_url": options.base_url} if options.base_url else {},
        options.profile,
    )
    queue = queue_name(choice.model)
    print(
        f"batch {batch}: {len(items)} inputs ({len(done & {i.key for i in items})} answered "
        f"already), model {choice.model}, queue {queue}",
        file=err,
        flush=True,
    )
    # Working here too, the batch serves its own provider's queue only.
    worker = Worker(
        options.db_url, listen=options.work_here, providers=[queue.removeprefix(QUEUE_PREFIX)]
    )
    worker.start()
    progress = BatchProgress(total=len(items))
    display = _Display(err)
    try:
        set_queue_limits(
            queue,
            rate=options.rate,
            concurrency=options.concurrency,
            worker_concurrency=options.worker_concurrency,
        )
        dbos_queue = DBOS.retrieve_queue(queue)
        assert dbos_queue is not None
        waiting: dict[str, str] = {}
        for item in items:
            if item.key in done:
                progress.done += 1
                continue
            wid = workflow_id(batch, item)
            # A known id gives back the run already recorded: done, in
            # flight or queued, it is not started a second time.
            with SetWorkflowID(wid):
                dbos_queue.enqueue(run_workflow, _spec(options, agent, choice.model, item))
            waiting[wid] = item.key
        with options.out.open("a", encoding="utf-8") as out:
            while waiting:
                display.show(progress)
                _collect(waiting, progress, out, agent)
                if waiting:
                    time.sleep(options.poll)
        display.show(progress, final=True)
    finally:
        worker.stop()
    return progress


def _collect(waiting: dict[str, str], progress: BatchProgress, out: TextIO, agent: Agent) -> None:
    """Write the answers of runs that finished since the last look."""
    from dbos import DBOS

    ids = list(waiting)
    finished: list[str] = []
    retrying = 0
    for start in range(0, len(ids), 500):
        for status in DBOS.list_workflows(
            workflow_ids=ids[start : start + 500], load_input=False, load_output=False
        ):
            if status.status in FINAL:
                finished.append(status.workflow_id)
            elif status.status == "ENQUEUED" and status.dequeued_at is not None:
                # Back on the queue after it had started: its worker died.
                retrying += 1
    progress.retrying = retrying
    lines = []
    for start in range(0, len(finished), 100):
        for status in DBOS.list_workflows(
            workflow_ids=finished[start : start + 100], load_input=False, load_output=True
        ):
            line = result_line(waiting.pop(status.workflow_id), status, agent)
            lines.append(line)
            progress.add(line)
    write_lines(out, lines)
