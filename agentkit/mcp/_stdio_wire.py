"""The stdio wire of ``agentkit serve``: private copies of stdin and stdout, read as lines.

While serving, fd 0 reads the null device and fd 1 writes to stderr, as in
the SDK's ``stdio_server``, so a tool that prints cannot corrupt the
protocol. Lines are decoded as that transport decodes them (UTF-8 with bad
bytes replaced, universal newlines: what ``TextIOWrapper`` does), first by a
thread while the SDK loads, then, for a pipe or socket, by the event loop
itself, so no message crosses a thread on its way to the server.
"""

from __future__ import annotations

import codecs
import io
import os
import select
import stat
import sys
import threading
from collections.abc import Callable
from typing import IO, Protocol

__all__ = ["LineReceiver", "Wire"]

_CHUNK = 65536


class LineReceiver(Protocol):
    """Where the reading thread puts what it reads."""

    def receive(self, line: str) -> None:
        """One line, newline included (the last one may lack it)."""

    def end(self) -> None:
        """EOF."""


class _Lines:
    """Bytes in, complete lines out, with the decoder state kept between chunks."""

    def __init__(self) -> None:
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._decoder = io.IncrementalNewlineDecoder(utf8, translate=True)
        self._partial = ""

    def feed(self, data: bytes) -> list[str]:
        final = not data
        text = self._partial + self._decoder.decode(data, final=final)
        *lines, self._partial = text.split("\n")
        found = [line + "\n" for line in lines]
        if final and self._partial:
            found.append(self._partial)
            self._partial = ""
        return found


class Wire:
    """The protocol's own copies of stdin and stdout; fd 0 and 1 point elsewhere meanwhile."""

    def __init__(self) -> None:
        import fcntl

        sys.stdout.flush()
        self.in_fd = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
        out_fd = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        mode = os.fstat(self.in_fd).st_mode
        # epoll takes pipes, sockets and terminals, not regular files.
        self.pollable = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)
        self.lines = _Lines()
        self._out: IO[bytes] = os.fdopen(out_fd, "wb")
        self._write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._stop_read, self._stop_write = os.pipe()
        self._on_stopped: Callable[[], None] | None = None
        self._done = False

    def write(self, data: bytes) -> None:
        """Write one message; safe from any thread. A closed wire swallows it."""
        with self._write_lock:
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, ValueError):
                pass  # the client has gone: nothing can reach it any more

    def read_into(self, receiver: LineReceiver) -> None:
        """Read lines until EOF or ``stop_reading`` (the body of the reading thread)."""
        try:
            while True:
                if self.pollable:
                    ready, _, _ = select.select([self.in_fd, self._stop_read], [], [])
                    if self._stop_read in ready:
                        with self._state_lock:
                            self._done = True
                            on_stopped = self._on_stopped
                        if on_stopped is not None:
                            on_stopped()
                        return
                data = os.read(self.in_fd, _CHUNK)
                if not data:
                    break
                for line in self.lines.feed(data):
                    receiver.receive(line)
        except OSError:
            pass  # a wire that breaks ends like one that closes
        with self._state_lock:
            self._done = True
        for line in self.lines.feed(b""):
            receiver.receive(line)
        receiver.end()

    def stop_reading(self, on_stopped: Callable[[], None]) -> bool:
        """Ask the reading thread to stop before its next read and then call ``on_stopped``.

        Everything it read before stopping has gone to its receiver, and the
        bytes after are still in the pipe for whoever reads next, with
        ``lines`` holding any partial line. False when it cannot be stopped
        (a regular file) or has already ended: it keeps or kept delivering.
        """
        with self._state_lock:
            if not self.pollable or self._done:
                return False
            self._on_stopped = on_stopped
        os.write(self._stop_write, b"x")
        return True
