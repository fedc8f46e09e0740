"""aiohttp plumbing: one session per event loop, and the seam for transport errors.

An ``aiohttp.ClientSession`` (its connector, its sockets) belongs to the event
loop it was made on, and a process may run several loops (``agentkit.run_sync``
keeps one per thread), so the adapter keeps one session per running loop and
closes it when that loop shuts down. The connector is bounded, so a run's
parallel calls cannot open an unbounded number of connections to the gateway.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator
from types import TracebackType

import aiohttp

from agentkit.exceptions import ProviderConnectionError, UserError

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_CONNECTIONS",
    "ConnectionErrors",
    "aclose_sessions",
    "loop_session",
    "request_timeout",
]

#: Enough for a run's parallel calls, few enough to be polite to one gateway.
MAX_CONNECTIONS = 16
#: Connecting should be quick; a model may think for minutes before its first byte.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=600.0)


class _LoopSession:
    """A loop's session and the suspended generator that closes it at loop shutdown."""

    __slots__ = ("closer", "parking", "session")

    def __init__(self, session: aiohttp.ClientSession, closer: AsyncGenerator[None]) -> None:
        self.session = session
        self.closer = closer
        self.parking: asyncio.Task[None] | None = None


# Weak keys, so a loop that ended without shutting down its generators can be
# dropped (see loop_session); normally the closer removes its own entry.
_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession]
_sessions = weakref.WeakKeyDictionary()


async def _close_when_loop_ends(
    loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession
) -> AsyncGenerator[None]:
    # asyncio.run() and anyio.run() finalise every suspended async generator
    # (loop.shutdown_asyncgens) while the loop can still run code: the moment
    # to close the session on the loop that owns its sockets.
    try:
        yield
    finally:
        entry = _sessions.get(loop)
        if entry is not None and entry.session is session:
            del _sessions[loop]
        await session.close()


async def _park(generator: AsyncGenerator[None]) -> None:
    await anext(generator)


def loop_session(provider: str) -> aiohttp.ClientSession:
    """This event loop's session, made on first use.

    Args:
        provider: Named in the error when no asyncio loop is running.

    Returns:
        A session with a bounded connector and ``DEFAULT_TIMEOUT``.

    Raises:
        UserError: no asyncio event loop is running (aiohttp needs asyncio).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError as exc:
        raise UserError(
            f"{provider}: the adapter runs on aiohttp, which needs a running asyncio "
            "event loop (under trio, use another adapter or run the agent on asyncio)"
        ) from exc
    entry = _sessions.get(loop)
    if entry is not None and not entry.session.closed:
        return entry.session
    for old in [old for old in _sessions if old.is_closed()]:
        del _sessions[old]
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, limit_per_host=MAX_CONNECTIONS),
        timeout=DEFAULT_TIMEOUT,
    )
    closer = _close_when_loop_ends(loop, session)
    # The generator is held in _sessions: an unreferenced one would be finalised
    # (and the session closed) as soon as it is collected.
    entry = _sessions[loop] = _LoopSession(session, closer)
    entry.parking = loop.create_task(_park(closer))
    return session


async def aclose_sessions() -> None:
    """Close the running loop's session now instead of at loop shutdown."""
    entry = _sessions.pop(asyncio.get_running_loop(), None)
    if entry is not None:
        await entry.session.close()
        await entry.closer.aclose()


def request_timeout(seconds: float | None) -> aiohttp.ClientTimeout | None:
    """``settings.timeout`` as aiohttp understands it; None keeps the session's default.

    agentkit's timeout bounds connecting and each wait for a piece of the
    answer, not the whole answer (a long stream may take longer): aiohttp's
    ``sock_connect`` and ``sock_read``, with no ``total``.
    """
    if seconds is None:
        return None
    return aiohttp.ClientTimeout(total=None, sock_connect=seconds, sock_read=seconds)


class ConnectionErrors:
    """Context manager turning aiohttp's failures and timeouts into ``ProviderConnectionError``.

    The one seam where the transport's exceptions become agentkit's, always
    raised ``from`` the original so the cause stays visible.

    Args:
        provider: Provider name for the error.
        model_id: The model that was asked.
        base_url: Where the request went, named in the message.
    """

    __slots__ = ("base_url", "model_id", "provider")

    def __init__(self, provider: str, model_id: str, base_url: str) -> None:
        self.provider = provider
        self.model_id = model_id
        self.base_url = base_url

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # aiohttp's own timeouts (ServerTimeoutError, ConnectionTimeoutError)
        # are TimeoutErrors too; so is a total timeout, raised as a bare one.
        if isinstance(exc, TimeoutError):
            reason = f"timed out ({type(exc).__name__}) talking to {self.base_url}"
        elif isinstance(exc, aiohttp.ClientConnectorError):
            reason = f"could not connect to {self.base_url} ({exc}); is the gateway running?"
        elif isinstance(exc, aiohttp.ClientError):
            reason = f"the connection to {self.base_url} failed: {type(exc).__name__}: {exc}"
        else:
            return
        raise ProviderConnectionError(
            reason, provider=self.provider, model_id=self.model_id
        ) from exc
