"""``agentkit worker``: take batch runs from the shared queues until stopped.

Any number of workers, on any machines, launch DBOS on the same Postgres
system database and dequeue from the ``agentkit-<provider>`` queues; DBOS
enforces each queue's rate limit and concurrency across all of them. On
start-up and then every second each worker sweeps for workers that died
(see ``_liveness``), so their runs are picked up by the living.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from types import FrameType

from ._liveness import liveness_for, new_executor_id
from ._queues import QUEUE_PREFIX, launch_engine

__all__ = ["Worker", "run_worker"]


class Worker:
    """This process as a worker on the shared queues.

    Args:
        db_url: The system database (Postgres to share it between processes).
        concurrency: Runs at once in each worker, per provider queue; stored
            on the queues (DBOS keeps it there), so it applies to every worker.
        providers: Serve only these providers' queues (default: all), and
            load their adapters before taking work.
        sweep_interval: Seconds between sweeps for dead workers.
        listen: Run work here; False makes a process that only enqueues.
    """

    def __init__(
        self,
        db_url: str,
        *,
        concurrency: int | None = None,
        providers: Sequence[str] = (),
        sweep_interval: float = 1.0,
        listen: bool = True,
    ) -> None:
        self.db_url = db_url
        self.concurrency = concurrency
        self.providers = list(providers)
        self.queues = [f"{QUEUE_PREFIX}{p}" for p in providers]
        self.sweep_interval = sweep_interval
        self.listen = listen
        self.executor_id = new_executor_id()
        self.liveness = liveness_for(db_url, self.executor_id) if listen else None
        self._configured: set[str] = set()
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def start(self) -> None:
        """Take the liveness lock, launch DBOS, start sweeping."""
        if self.listen:
            self._warm_up()
        if self.liveness is not None:
            self.liveness.hold()
        queues = (self.queues or None) if self.listen else []
        launch_engine(self.db_url, executor_id=self.executor_id, queues=queues)
        self._configure_queues()
        if self.liveness is not None:
            self.liveness.sweep()
        self._sweeper = threading.Thread(
            target=self._sweep_loop, name="agentkit-sweep", daemon=True
        )
        self._sweeper.start()

    def _warm_up(self) -> None:
        """Load the runner and the named providers' adapters before taking work.

        Otherwise the first runs of a fresh worker pay for these imports
        (seconds on a busy machine) between their start, which the rate
        limit counts, and their first request, so requests bunch up.
        """
        from .._agentfile import load_agent  # noqa: F401
        from .._registry import adapter_factory
        from .._runner import run  # noqa: F401

        for provider in self.providers:
            adapter_factory(provider)

    def _configure_queues(self) -> None:
        if self.concurrency is None:
            return
        from dbos import DBOS

        for queue in DBOS.list_queues():
            if queue.name.startswith(QUEUE_PREFIX) and queue.name not in self._configured:
                if not self.queues or queue.name in self.queues:
                    queue.set_worker_concurrency(self.concurrency)
                self._configured.add(queue.name)

    def _sweep_loop(self) -> None:
        import logging

        log = logging.getLogger("agentkit.durable")
        while not self._stop.wait(self.sweep_interval):
            try:
                self._configure_queues()
                if self.liveness is not None:
                    self.liveness.sweep()
            except Exception as exc:
                # A database hiccup must not end the worker: the next sweep retries.
                log.warning("sweep failed: %s: %s", type(exc).__name__, exc)

    def wait(self) -> None:
        """Block until ``stop()`` (or SIGTERM/SIGINT through ``run_worker``)."""
        self._stop.wait()

    def stop(self) -> None:
        """Stop sweeping and shut DBOS down; unfinished runs are recovered elsewhere."""
        from ._engine import shutdown

        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=10)
        shutdown()
        if self.liveness is not None:
            self.liveness.release()


def run_worker(
    db_url: str,
    *,
    concurrency: int | None = None,
    providers: Sequence[str] = (),
    ready: threading.Event | None = None,
) -> None:
    """Serve the queues until SIGTERM or SIGINT; prints one line when ready."""
    worker = Worker(db_url, concurrency=concurrency, providers=providers)
    worker.start()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        worker._stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    served = ", ".join(worker.queues) if worker.queues else "every agentkit queue"
    print(
        f"worker {worker.executor_id} ready on {served}",
        flush=True,
    )
    if ready is not None:
        ready.set()
    try:
        worker.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        worker.stop()
