"""The event loops behind ``run_sync``: one per thread, kept between calls.

``anyio.run`` makes a loop, runs, then cancels what is left, closes the
async generators (and so the shared HTTP clients, ``agentkit_adapters._http``)
and closes the loop. A script that calls ``run_sync`` in a loop paid that on
every call, and a new TCP (and TLS) connection on top: 3.3 ms a call for the
weather agent against a loopback server, where the same run awaited in one
loop takes half of that. So each thread that calls ``run_sync`` keeps one
``asyncio.Runner`` and its loop from one call to the next, and with them the
shared clients' pooled connections: a script's main thread, and each worker
of a web server's thread pool.

A kept loop is closed (its tasks cancelled, its async generators and so its
clients closed, as ``anyio.run`` closes them at the end of each call):

- at interpreter exit (``atexit``), for the threads that have ended and the
  one exiting; a daemon thread still running keeps its loop to the end;
- when its thread has ended, by the next ``run_sync`` call in any thread
  (a thread has no hook that runs when it ends), so threads made for one
  call each leave at most one loop open at a time, never a growing pile;
- after a call that ends in a ``BaseException`` that is not an
  ``Exception`` (Ctrl-C, ``SystemExit``): the next call starts a new loop.

What a call sees is unchanged: it runs in a fresh copy of the caller's
context, so context variables set by one call never reach the next; the loop
is never made the thread's current one (``asyncio.get_event_loop()`` outside a
call behaves as if agentkit were not there); Ctrl-C in the main thread
cancels the run and raises ``KeyboardInterrupt``, as with ``asyncio.run``.
Inside a running loop it raises ``UserError`` (``asyncio.run`` raised a bare
``RuntimeError`` there) that says to await ``run`` instead. A forked child
forgets its parent's loops and starts its own.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from .exceptions import UserError

if TYPE_CHECKING:
    import asyncio

__all__ = ["close", "run_in_loop"]

_runners: dict[threading.Thread, asyncio.Runner] = {}
_lock = threading.Lock()
_owner = os.getpid()  # the process the runners belong to (a forked child must not run them)


def run_in_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main()`` to its end from sync code, on this thread's kept loop.

    Raises:
        UserError: called where an event loop is running already.
    """
    # Imported here: ``import agentkit`` does not load asyncio.
    import asyncio
    import contextvars

    if asyncio._get_running_loop() is not None:
        raise UserError(
            "run_sync() was called inside a running event loop, which it would "
            "block; in async code, use 'await agentkit.run(...)' instead"
        )
    runner = _kept_runner(asyncio)
    try:
        runner.run(main(), context=contextvars.copy_context())
    except Exception:
        raise
    except BaseException:
        # Interrupted (Ctrl-C, SystemExit, a cancellation from outside): end the
        # loop as anyio.run would have, so nothing of this run is left over.
        close()
        raise


def _kept_runner(asyncio: Any) -> asyncio.Runner:
    if _owner != os.getpid():
        _forget_after_fork()
    thread = threading.current_thread()
    with _lock:
        runner = _runners.get(thread)
        # Another thread's loop is kept: take those whose thread has ended.
        ended = _take_ended() if len(_runners) > (runner is not None) else []
        if runner is None:
            # With a loop factory, the Runner does not make its loop the thread's
            # current one (no set_event_loop), so nothing outside a call sees it.
            runner = _runners[thread] = asyncio.Runner(loop_factory=asyncio.new_event_loop)
    # No thread runs these loops any more: closing them here runs their last
    # steps (the clients' closing) on this thread, before this call's loop starts.
    _close_all(ended)
    return runner


def _take_ended(also: threading.Thread | None = None) -> list[tuple[threading.Thread, Any]]:
    """Under ``_lock``: take out the runners of the threads that have ended (and ``also``'s)."""
    taken = [(t, r) for t, r in _runners.items() if t is also or not t.is_alive()]
    for t, _ in taken:
        del _runners[t]
    return taken


def _close_all(taken: list[tuple[threading.Thread, Any]]) -> None:
    for t, runner in taken:
        try:
            runner.close()
        except Exception:  # someone else's leftovers must not fail this call
            import logging

            logging.getLogger("agentkit").warning(
                "closing the event loop run_sync kept for the thread %s failed",
                t.name,
                exc_info=True,
            )


def close() -> None:
    """Close this thread's kept loop now; its next ``run_sync`` starts a new one."""
    with _lock:
        runner = _runners.pop(threading.current_thread(), None)
    if runner is not None:
        runner.close()


def _close_at_exit() -> None:
    if _owner != os.getpid():
        return  # a forked child's copy of the parent's hook: the loops are the parent's
    with _lock:
        done = _take_ended(also=threading.current_thread())
    _close_all(done)


def _forget_after_fork() -> None:
    # The loops' selectors and self-pipes are copies of the parent's descriptors:
    # closing them here leaves the parent's loops alone. Running a loop to close
    # its clients would write to connections that are the parent's.
    global _owner, _lock
    runners = list(_runners.values())
    _runners.clear()
    _lock = threading.Lock()  # another thread may have held it at the fork
    _owner = os.getpid()
    for runner in runners:
        runner.get_loop().close()


# Registered with the module, which the runner imports on the first run.
atexit.register(_close_at_exit)
