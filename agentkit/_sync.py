"""The event loop behind ``run_sync``: one kept for the main thread, between calls.

``anyio.run`` makes a loop, runs, then cancels what is left, closes the
async generators (and so the shared HTTP clients, ``agentkit_adapters._http``)
and closes the loop. A script that calls ``run_sync`` in a loop paid that on
every call, and a new TCP (and TLS) connection on top: 2.4 ms a call for the
weather agent against a loopback server, where the same run awaited in one
loop takes 1.2 ms. So the main thread keeps one ``asyncio.Runner`` and its
loop from one call to the next, and with them the shared clients' pooled
connections; they are closed at interpreter exit (``atexit``), as
``anyio.run`` would have closed them at the end of each call.

What a call sees is unchanged:

- it runs in a fresh copy of the caller's context, so context variables set
  by one call never reach the next;
- the loop is not the thread's current loop (``asyncio.get_event_loop()``
  outside a call behaves as if agentkit were not there);
- Ctrl-C cancels the run and raises ``KeyboardInterrupt``, as with
  ``asyncio.run``; after that, or any other ``BaseException`` that is not an
  ``Exception``, the loop is closed the way ``anyio.run`` closes it, and the
  next call starts a new one;
- inside a running loop it raises ``UserError`` (``asyncio.run`` raised a
  bare ``RuntimeError`` there) that says to await ``run`` instead.

Other threads get a loop per call, as before: a thread that ends has no hook
to close a loop it kept, and its sockets would be left for the garbage
collector. A forked child forgets its parent's loop and starts its own.
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

__all__ = ["run_in_loop"]

_runner: asyncio.Runner | None = None
_owner = 0  # the process that made _runner (a forked child must not reuse it)
_exit_hook = False


def run_in_loop(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``main()`` to its end from sync code; the main thread's loop is kept.

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
    if threading.current_thread() is not threading.main_thread():
        import anyio

        anyio.run(main)
        return
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
    global _runner, _owner, _exit_hook
    if _runner is not None and _owner != os.getpid():
        _forget_after_fork()
    if _runner is None:
        # With a loop factory, the Runner does not make its loop the thread's
        # current one (no set_event_loop), so nothing outside a call sees it.
        _runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        _owner = os.getpid()
        if not _exit_hook:
            atexit.register(close)
            _exit_hook = True
    return _runner


def _forget_after_fork() -> None:
    # The loop's selector and self-pipe are copies of the parent's descriptors:
    # closing them here leaves the parent's loop alone. Running the loop to
    # close the clients would write to connections that are the parent's.
    global _runner
    runner, _runner = _runner, None
    loop = runner.get_loop() if runner is not None else None
    if loop is not None:
        loop.close()


def close() -> None:
    """Close the kept loop now: the tasks left are cancelled, the shared clients closed.

    Called at interpreter exit; the next ``run_sync`` starts a new loop.
    """
    global _runner
    runner, _runner = _runner, None
    if runner is not None and _owner == os.getpid():
        runner.close()
