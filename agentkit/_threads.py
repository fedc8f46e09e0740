"""Sync tools off the event loop, with a hand-off lighter than ``anyio.to_thread``.

A sync ``@tool`` must never block the event loop, so it runs in a worker
thread; on a quick tool the hand-off is most of what the call costs, and on
a virtual machine most of the hand-off is threads waking up, not
instructions. ``anyio.to_thread.run_sync`` is general (capacity limiter,
cancel-scope bookkeeping, a checkpoint before and after): about 0.17 ms per
call on a busy 2-core machine. Here jobs go to a persistent worker in a
``_Batch`` and the loop waits for their answers, without the GIL, for up to
``HANDOFF_WAIT``:

* A call on a loop with nothing else ready is handed over at once; the
  worker wakes to a free GIL, runs it and wakes the loop, and the caller
  goes on without suspending. Posting the answer with
  ``call_soon_threadsafe`` instead cost the worker a wait for the GIL the
  loop held until it blocked, then the loop a wake-up through its
  self-pipe, a callback and a task step: in runs, about twice as long.
* Such a call, or a batch of one, goes to the ``_Resident`` worker when it
  is free: a thread of its own with its fields, eventfd and locks made once,
  so a hand-off touches little memory. In a run the previous hand-off was a
  model call ago and everything on its path is cold; there the pool's path
  cost 130-170 us a hand-off on a 2-vCPU VM, the resident's 98-136 us, and
  two bare threads trading an eventfd 40-65 us (``bench/handoff.py``).
* Calls made while the loop has other work (200 concurrent runs make 20-odd
  tool calls in one loop iteration) wait for the end of the iteration and
  go over together, so the worker and the loop trade the GIL once a batch.
  A worker woken per call instead waited for the GIL while the loop ran
  on, and every GIL release of the loop woke it again for nothing.

A job still running when the wait ends is answered through
``call_soon_threadsafe``, and the batch's jobs not started yet go back to
the pool, which starts another worker when the ones it has are all in slow
calls. So the loop is held up at most ``HANDOFF_WAIT`` a batch, and a
blocking tool never blocks it; after a wait that ran out, the next
hand-offs go without one, so a slow tool called again and again costs the
loop a wait only once in up to ``MAX_BACKOFF`` calls.

While the loop waits for a batch it idles its CPU, so on Linux the worker
is kept on that CPU for the wait (``_Nearby``): the two threads then hand
the GIL to each other by a context switch, not by a wake-up sent to
another CPU, which on a virtual machine costs an interrupt through the
hypervisor (a quick tool's hand-off on a 2-vCPU VM: 77-150 microseconds
otherwise, 17 kept nearby with the worker woken through ``_Mailbox``). A
wait that runs out sets the worker free again, as does any job it runs
while the loop goes on, so a slow or GIL-releasing tool still runs beside
the loop on another CPU.

Semantics kept from ``to_thread.run_sync(..., abandon_on_cancel=True)``:
the function runs in a copy of the caller's context; a cancelled caller
(a timeout) stops waiting at once and the thread finishes on its own; at
most ``MAX_LIVE`` calls run at once (anyio's default limit) and the rest
wait for a worker; ``anyio.from_thread`` works inside the function (a call
that uses it outlasts the wait, then the loop serves it). Under trio (no
asyncio loop) calls go through ``anyio.to_thread`` unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import select
import threading
from collections import deque
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

__all__ = ["MAX_LIVE", "busy_workers", "run_in_worker"]

#: Calls running at once; more wait for a worker (anyio's default limiter size).
MAX_LIVE = 40
#: An idle worker ends after this many seconds without work.
IDLE_SECONDS = 10.0
#: Seconds without a waiting job taken before another worker starts.
SPAWN_DELAY = 0.002
#: Seconds the loop waits, without the GIL, for the answers of a batch before
#: it awaits the rest: some thread wake-ups on a loaded machine, far below
#: what a person or a timer notices.
HANDOFF_WAIT = 0.0005
#: Most hand-offs that go without a wait after waits ran out: a slow tool
#: called again and again costs the loop a wait only once in so many calls.
MAX_BACKOFF = 64
#: Waits for a worker before workers are kept on the waiting loop's CPU: the
#: set-up (``ctypes``, ~8 ms to import) pays back over many hand-offs, not
#: in a script that calls one tool once.
NEARBY_AFTER = 32


class _Job:
    """One call: what to run, where, and (once run) its answer."""

    __slots__ = ("context", "error", "function", "future", "loop", "value")

    def __init__(
        self,
        function: Callable[[], Any],
        context: contextvars.Context,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any] | None,
    ) -> None:
        self.function = function
        self.context = context
        self.loop = loop
        self.future = future  # None while the caller waits without suspending
        self.value: Any = None
        self.error: BaseException | None = None

    def answer(self) -> Any:
        """The value the worker left, or its exception raised."""
        error = self.error
        if error is not None:
            self.error = None  # no cycle through the traceback
            raise error
        return self.value


class _Batch:
    """Jobs handed to one worker together while the loop waits for them.

    Under ``lock`` the worker counts the jobs it ``started`` and
    ``finished`` (answers left in the jobs) as long as the loop has not
    ``abandoned`` the wait; once it has, the job running then is answered
    through its future and the worker starts no more of them.
    """

    __slots__ = ("abandoned", "done", "finished", "jobs", "lock", "started")

    def __init__(self, jobs: list[_Job]) -> None:
        self.jobs = jobs
        self.lock = threading.Lock()
        self.done = threading.Lock()  # released by the worker at the end
        self.done.acquire()
        self.started = 0
        self.finished = 0
        self.abandoned = False


def _claim_for_anyio(loop: asyncio.AbstractEventLoop) -> None:
    """Let ``anyio.from_thread`` in this thread find ``loop`` (its thread-local token).

    Imported here, in the worker, so ``import agentkit`` does not load
    anyio's asyncio backend.
    """
    try:
        from anyio._backends._asyncio import AsyncIOBackend
        from anyio._core._eventloop import threadlocals
        from anyio.lowlevel import EventLoopToken
    except ImportError:  # pragma: no cover - another anyio layout: no from_thread inside tools
        return
    threadlocals.current_token = EventLoopToken(AsyncIOBackend, loop)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    # On the loop: a caller that gave up (cancelled, or timed out) left a done future.
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _post(job: _Job, value: Any, error: BaseException | None) -> None:
    """Settle ``job``'s future on its loop, from the worker."""
    future = job.future
    assert future is not None  # given before the job was queued, or the wait abandoned
    # RuntimeError: the loop closed while the abandoned call ran.
    with contextlib.suppress(RuntimeError):
        job.loop.call_soon_threadsafe(_settle, future, value, error)


def _gave_up(job: _Job) -> bool:
    """Whether ``job``'s caller stopped waiting (cancelled, or out of time)."""
    return job.future is not None and job.future.done()


def _idle(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether no other callback is ready to run on ``loop``.

    asyncio's own loops keep them in ``_ready``; another loop (uvloop) is
    taken as busy, so its calls go over at the end of an iteration.
    """
    ready = getattr(loop, "_ready", None)
    return ready is not None and not ready


class _Pool:
    """Persistent daemon workers, each with its own queue, and the idle ones on a stack.

    A job no idle worker can take waits in ``waiting`` for the next worker to
    finish, and another worker starts only when no waiting job was taken for
    ``SPAWN_DELAY`` (every worker is inside a slow call). Starting one per
    job at once, as a thread pool does, put 40 threads on 200 concurrent
    runs of a quick tool, and their fight for the GIL cost more than the
    tools: one or two workers taking job after job keep up with the loop.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.waiting: deque[_Job] = deque()
        self.live = 0  # calls submitted and not yet settled or abandoned
        self.workers = 0  # threads alive
        self.taken = 0  # waiting jobs taken by workers that had just finished one, ever
        self.watching: asyncio.AbstractEventLoop | None = None  # where a _watch is scheduled
        # Per loop, the jobs of its current iteration, handed over at its end.
        self.gathering: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        # After a wait ran out, this many hand-offs go without one (awaited, as
        # a slow call is); each wait in a row that runs out doubles it.
        self.skip = 0
        self.backoff = 1

    def gather(self, job: _Job) -> None:
        """Hand ``job`` over with the others of this loop iteration, at its end."""
        loop = job.loop
        jobs = self.gathering.get(loop)
        if jobs is None:
            if self.gathering:
                self._forget_closed_loops()
            jobs = self.gathering[loop] = []
            loop.call_soon(self._flush, loop)
        jobs.append(job)

    def _forget_closed_loops(self) -> None:
        # A loop that closed before its flush ran left its entry (and its jobs,
        # whose callers are gone with it); without this, every such loop would
        # stay referenced for the life of the process.
        for loop in [loop for loop in self.gathering if loop.is_closed()]:
            del self.gathering[loop]

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        # On the loop, after the callbacks that were ready with the first job.
        # (Gathered jobs all have futures; a cancelled caller's is done.)
        jobs = [job for job in self.gathering.pop(loop) if not _gave_up(job)]
        if jobs:
            for job in self.wait_for(jobs):
                assert job.future is not None
                _settle(job.future, job.value, job.error)

    def wait_for(self, jobs: list[_Job]) -> list[_Job]:
        """Hand ``jobs`` to an idle worker and wait; those answered in time.

        Each job not answered has a future, settled later: the one running
        when the wait ended by the worker, the others through the pool.
        """
        worker = None
        if self.skip:
            self.skip -= 1
        else:
            if len(jobs) == 1:
                resident = _resident or _start_resident()
                answered = None if resident is None else resident.hand(jobs[0])
                if answered is not None:  # None: the resident is busy with another call
                    if answered:
                        self.backoff = 1
                        return jobs
                    self.skip, self.backoff = self.backoff, min(2 * self.backoff, MAX_BACKOFF)
                    return []  # it answers through the job's future
            with self.lock:
                worker = self.idle.pop() if self.idle else None
        if worker is not None:
            batch = _Batch(jobs)
            nearby = _nearby.keep(worker)
            worker.queue.put(batch)
            if batch.done.acquire(timeout=HANDOFF_WAIT):
                self.backoff = 1
                return jobs
            if nearby:
                _nearby.free(worker)
            self.skip, self.backoff = self.backoff, min(2 * self.backoff, MAX_BACKOFF)
        loop = jobs[0].loop
        for job in jobs:
            if job.future is None:
                job.future = loop.create_future()
        if worker is None:
            self.submit_all(jobs)
            return []
        with batch.lock:
            batch.abandoned = True
            finished, started = batch.finished, batch.started
        self.submit_all(jobs[started:])
        return jobs[:finished]

    def submit_all(self, jobs: list[_Job]) -> None:
        """Give each job to an idle worker, else queue it for the next one free."""
        for job in jobs:
            with self.lock:
                if self.idle:
                    worker = self.idle.pop()
                else:
                    self.waiting.append(job)
                    if self.workers == 0:
                        self._start()
                    elif self.watching is None or self.watching.is_closed():
                        # (A watch on a loop that has closed since never fires.)
                        self.watching = job.loop
                        job.loop.call_later(SPAWN_DELAY, self._watch, job.loop, self.taken)
                    continue
            worker.queue.put(job)

    def _start(self) -> None:
        # Under the lock. The new worker begins with the oldest waiting job,
        # handed here so it does not count in ``taken``: only a worker that
        # finished a call shows the workers are moving.
        self.workers += 1
        _Worker(self, self.waiting.popleft())

    def _watch(self, loop: asyncio.AbstractEventLoop, taken: int) -> None:
        # On the loop, SPAWN_DELAY after a job had to wait.
        with self.lock:
            if not self.waiting:
                self.watching = None
                return
            if self.taken == taken:
                # No waiting job was taken: the workers are all in slow calls.
                # Double them (40 sleeping calls all run within ~12 ms), never
                # past MAX_LIVE running calls (abandoned ones do not count).
                running = self.live - len(self.waiting)
                for _ in range(min(len(self.waiting), MAX_LIVE - running, max(1, self.workers))):
                    self._start()
            taken = self.taken
        loop.call_later(SPAWN_DELAY, self._watch, loop, taken)

    def next_job(self, worker: _Worker) -> _Job | None:
        """A waiting job for ``worker``, or None once it is back on the idle stack."""
        with self.lock:
            if self.waiting:
                self.taken += 1
                return self.waiting.popleft()
            self.idle.append(worker)
            return None

    def retire(self, worker: _Worker) -> bool:
        """Whether idle ``worker`` may end (no job was handed to it meanwhile)."""
        with self.lock:
            if worker in self.idle:
                self.idle.remove(worker)
                self.workers -= 1
                return True
            return False


class _Mailbox:
    """A worker's inbox: jobs in a deque, and an eventfd counting them (Linux).

    ``os.eventfd_write`` lets go of the GIL around its system call, so the
    worker it wakes on the loop's CPU finds the GIL free and runs at once. A
    ``SimpleQueue`` wakes it while the loop still holds the GIL: the worker
    preempts the loop, finds the GIL taken and sleeps again until the loop
    waits (5 context switches a hand-off instead of 2; 37 against 17
    microseconds a call to a quick tool, kept nearby).
    """

    __slots__ = ("fd", "items", "poller")

    def __init__(self) -> None:
        self.items: deque[_Job | _Batch] = deque()
        self.fd = os.eventfd(0, os.EFD_SEMAPHORE)  # each read takes one
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)

    def put(self, item: _Job | _Batch) -> None:
        self.items.append(item)
        os.eventfd_write(self.fd, 1)

    def get(self, timeout: float) -> _Job | _Batch:
        """The oldest item; ``Empty`` after ``timeout`` seconds without one."""
        if not self.poller.poll(timeout * 1000):
            raise Empty
        os.eventfd_read(self.fd)
        return self.items.popleft()

    def close(self) -> None:
        os.close(self.fd)


class _Queue(SimpleQueue):  # type: ignore[type-arg]
    """The inbox where there is no eventfd."""

    def close(self) -> None:
        pass


class _Worker:
    def __init__(self, pool: _Pool, first: _Job) -> None:
        self.pool = pool
        self.queue: _Mailbox | _Queue = _Mailbox() if hasattr(os, "eventfd") else _Queue()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cpu = -1  # the one CPU the thread is kept on, or -1 (free)
        thread = threading.Thread(
            target=self.main, args=(first,), name="agentkit-tool", daemon=True
        )
        thread.start()
        self.tid: int = thread.native_id or 0  # (set before start() returns)

    def main(self, first: _Job) -> None:
        queue, pool = self.queue, self.pool
        work: _Job | _Batch | None = first
        while True:
            while work is not None:
                if isinstance(work, _Batch):
                    batch = work
                    self.run_batch(batch)
                    # Back on the idle stack (or onto a waiting job) before
                    # waking the loop, so that this thread then blocks on its
                    # queue at once and leaves the GIL to the loop.
                    work = pool.next_job(self)
                    batch.done.release()
                    del batch
                else:
                    job = work
                    if self.cpu != -1:  # the loop goes on meanwhile: run beside it
                        _nearby.free(self)
                    value, error = self.call(job)
                    work = pool.next_job(self)
                    _post(job, value, error)
                    # An idle worker must not keep a result alive.
                    del job, value, error
            try:
                work = queue.get(timeout=IDLE_SECONDS)
            except Empty:
                if pool.retire(self):
                    queue.close()
                    return

    def run_batch(self, batch: _Batch) -> None:
        lock = batch.lock
        for job in batch.jobs:
            with lock:
                if batch.abandoned:
                    return
                batch.started += 1
            value, error = self.call(job)
            with lock:
                if not batch.abandoned:
                    job.value, job.error = value, error
                    batch.finished += 1
                    continue
            _post(job, value, error)
            return

    def call(self, job: _Job) -> tuple[Any, BaseException | None]:
        """``job``'s function run in its context: the value, or the exception raised."""
        loop = job.loop
        if loop is not self.loop:
            self.loop = loop
            _claim_for_anyio(loop)
        if _gave_up(job):
            return None, None  # the caller gave up before a worker was free
        try:
            return job.context.run(job.function), None
        except BaseException as exc:  # handed to the caller, like a thread pool does
            return None, exc


class _Resident:
    """The worker for hand-offs the loop waits for one at a time (Linux).

    A quick tool called from a quiet loop is the common case: one call, the
    loop waiting. In a run the previous hand-off was a model call ago, and on
    a virtual machine each step of the pool's path (an idle stack under its
    lock, a batch with two new locks, a mailbox polled and read, the batch's
    lock per job, the idle stack again) then runs cold: 130-170 us a hand-off
    against 98-136 us for this path, which touches one thread's few fields,
    one eventfd and three locks made once (``bench/handoff.py`` shows the curve).
    ``owner`` makes it one caller's at a time, across loops and threads; a
    caller that finds it taken uses the pool.

    A call that outlasts ``HANDOFF_WAIT`` is answered like the pool's: the
    caller awaits the job's future, and the resident, set free from the
    loop's CPU, posts the answer and is free again once the call returns.
    The thread lives as long as the process (a daemon blocked in a read).
    """

    __slots__ = (
        *("abandoned", "cpu", "done", "fd", "finished"),
        *("job", "lock", "loop", "owner", "tid"),
    )

    def __init__(self) -> None:
        self.fd = os.eventfd(0)
        self.owner = threading.Lock()  # held by the caller whose job it is
        self.done = threading.Lock()  # released by the thread when the answer is in the job
        self.done.acquire()
        self.lock = threading.Lock()  # guards finished/abandoned between the two
        self.finished = False
        self.abandoned = False
        self.job: _Job | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.cpu = -1  # as a _Worker's: the CPU it is kept on, or -1
        thread = threading.Thread(target=self.main, name="agentkit-tool", daemon=True)
        thread.start()
        self.tid: int = thread.native_id or 0

    def hand(self, job: _Job) -> bool | None:
        """Run ``job`` here, waiting up to ``HANDOFF_WAIT``: whether it was answered
        in time (then ``job`` holds the answer; else ``job.future`` will), or None
        when the resident is another caller's."""
        if not self.owner.acquire(blocking=False):
            return None
        nearby = _nearby.keep(self)
        self.job = job
        os.eventfd_write(self.fd, 1)  # lets go of the GIL: the thread runs at once
        if not self.done.acquire(timeout=HANDOFF_WAIT):
            with self.lock:
                running = not self.finished
                if running:  # it answers through the future (a gathered job has one)
                    if job.future is None:
                        job.future = job.loop.create_future()
                    self.abandoned = True
            if running:
                if nearby:
                    _nearby.free(self)
                return False
            self.done.acquire()  # it finished as the wait ended: released just now
        self.finished = False
        self.job = None
        self.owner.release()
        return True

    def main(self) -> None:
        while True:
            os.eventfd_read(self.fd)
            job = self.job
            assert job is not None
            loop = job.loop
            if loop is not self.loop:
                self.loop = loop
                _claim_for_anyio(loop)
            value: Any = None
            error: BaseException | None = None
            try:
                value = job.context.run(job.function)
            except BaseException as exc:  # handed to the caller, like a thread pool does
                error = exc
            with self.lock:
                late = self.abandoned
                if late:
                    self.abandoned = False
                else:
                    job.value, job.error = value, error
                    self.finished = True
                    self.done.release()
            if late:
                # The caller stopped waiting: answer through the future, then be free.
                self.job = None
                _post(job, value, error)
                self.owner.release()
            # An idle resident must not keep a result (or the caller's context) alive.
            del job, value, error


def _start_resident() -> _Resident | None:
    """The resident, started on first use; None where there is no eventfd."""
    global _resident
    if not hasattr(os, "eventfd"):
        return None
    with _pool.lock:
        if _resident is None:
            _resident = _Resident()
    return _resident


def _forget_resident() -> None:
    # In a forked child the resident's thread is gone: the next hand-off starts another.
    global _resident
    _resident = None


class _Nearby:
    """Keeps a worker on the CPU of the loop thread waiting for it (Linux).

    Off until ``NEARBY_AFTER`` waits have been made, and for good where the
    kernel has no per-thread affinity, the process may use one CPU only, or
    a call fails (a container's CPU set changed, say).
    """

    #: ``waits`` once the feature has been turned off for good.
    OFF = -1

    def __init__(self) -> None:
        self.waits = 0  # counted up to NEARBY_AFTER while off, then OFF if it cannot start
        self.on = False
        self.getcpu: Callable[[], int] | None = None
        self.cpus: frozenset[int] = frozenset()  # where a free worker may run

    def keep(self, worker: _Worker | _Resident) -> bool:
        """Move idle ``worker`` onto this thread's CPU; whether it was kept there."""
        if not self.on:
            if self.waits == self.OFF:
                return False
            self.waits += 1
            if self.waits < NEARBY_AFTER:
                return False
            self._start()
            if not self.on:
                self.waits = self.OFF
                return False
        assert self.getcpu is not None
        cpu = self.getcpu()
        if cpu != worker.cpu:
            try:
                os.sched_setaffinity(worker.tid, (cpu,))
            except OSError:
                self.on = False
                self.waits = self.OFF
                return False
            worker.cpu = cpu
        return True

    def free(self, worker: _Worker | _Resident) -> None:
        """Let ``worker`` run on any CPU the process may use."""
        worker.cpu = -1
        with contextlib.suppress(OSError):  # the thread has ended
            os.sched_setaffinity(worker.tid, self.cpus)

    def _start(self) -> None:
        if not hasattr(os, "sched_setaffinity"):
            return
        try:
            import ctypes

            # PyDLL: called with the GIL held (a vDSO read, no reason to let it go).
            getcpu = ctypes.PyDLL(None).sched_getcpu
            getcpu.restype = ctypes.c_int
            getcpu.argtypes = ()
            cpus = frozenset(os.sched_getaffinity(0))
        except (ImportError, AttributeError, OSError):
            return
        if len(cpus) > 1 and getcpu() in cpus:
            self.getcpu, self.cpus, self.on = getcpu, cpus, True


_pool = _Pool()
_nearby = _Nearby()
_resident: _Resident | None = None
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_resident)


def busy_workers() -> int:
    """Worker threads inside a call now, calls whose caller gave up included."""
    with _pool.lock:
        busy = _pool.workers - len(_pool.idle)
    resident = _resident
    return busy + (resident is not None and resident.owner.locked())


def _expire(future: asyncio.Future[Any]) -> None:
    # On the loop, at the deadline: the caller stops waiting; the thread runs on.
    if not future.done():
        future.set_exception(TimeoutError())


async def run_in_worker(
    function: Callable[[], Any],
    timeout: float | None = None,  # noqa: ASYNC109 - a timer on the future, cheaper than a scope
) -> Any:
    """``function()`` in a worker thread; the caller may be cancelled meanwhile.

    Args:
        function: What to run.
        timeout: Seconds to wait for it, then raise ``TimeoutError`` (the
            thread finishes on its own, as after a cancellation). A timer on
            the future the caller awaits, where ``anyio.fail_after`` around
            the call would cost a cancel scope, as much again as the hand-off.

    Raises:
        TimeoutError: ``timeout`` passed first.
        BaseException: whatever ``function`` raised.
    """
    # Imported here: asyncio is loaded once a loop runs, not by ``import agentkit``.
    import asyncio

    loop = asyncio._get_running_loop()
    if loop is None:  # trio: anyio's own threads
        import anyio
        import anyio.to_thread

        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(function, abandon_on_cancel=True)
    pool = _pool
    deadline = None if timeout is None else loop.time() + timeout
    if (timeout is None or timeout > HANDOFF_WAIT) and _idle(loop):
        # Nothing else to run: hand it over now, and go on without suspending
        # if it is answered within the wait.
        job = _Job(function, contextvars.copy_context(), loop, None)
        if pool.wait_for([job]):
            return job.answer()
        future = job.future
        assert future is not None
        handed = True
    else:
        future = loop.create_future()
        job = _Job(function, contextvars.copy_context(), loop, future)
        handed = False
    timer = None if deadline is None else loop.call_at(deadline, _expire, future)
    pool.live += 1
    try:
        if not handed:
            pool.gather(job)
        return await future
    finally:
        pool.live -= 1
        if timer is not None:
            timer.cancel()
