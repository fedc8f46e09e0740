"""Framing of streamed model answers: server-sent events and newline-delimited JSON.

Pure and incremental: feed raw bytes as they arrive, get whole events or
lines back. No I/O, so any HTTP stack (httpx2, aiohttp, a thread with
urllib) can drive them; public through ``agentkit.adapter``.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["NDJSONDecoder", "SSEDecoder", "SSEEvent"]


class SSEEvent(NamedTuple):
    """One server-sent event: its ``event`` name (``message`` by default) and ``data``."""

    event: str
    data: str


class SSEDecoder:
    """Incremental server-sent-events parser over raw bytes.

    Follows the WHATWG framing rules that matter for model APIs: lines end in
    ``\\n``, ``\\r\\n`` or ``\\r`` (also when a chunk boundary splits
    ``\\r\\n``), ``data`` lines of one event are joined with ``\\n``, lines
    starting with ``:`` are comments, and a blank line ends an event. ``id``
    and ``retry`` are ignored: model streams cannot be resumed.
    """

    __slots__ = ("_buffer", "_cr", "_data", "_event")

    def __init__(self) -> None:
        self._buffer = b""
        self._cr = False
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse ``chunk`` and return the events it completed."""
        if not chunk:
            # An empty read says nothing, and must not forget a "\r" that ended the last one.
            return []
        if self._cr and chunk.startswith(b"\n"):
            # The previous chunk ended in "\r": this "\n" belongs to the same line break.
            chunk = chunk[1:]
        self._cr = chunk.endswith(b"\r")
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = (self._buffer + chunk).split(b"\n")
        self._buffer = lines.pop()
        # One loop over the lines with the state in locals, no call per line: a
        # model stream is thousands of small events, and this is their hot path.
        events: list[SSEEvent] = []
        name = self._event
        data = self._data
        # The spellings every provider sends ("data: ", "event: ", a blank line) are
        # tested first, with one method call each; the rest go the general way.
        for line in lines:
            if line.startswith(b"data: "):
                data.append(line[6:].decode("utf-8"))
            elif not line:
                if data:
                    joined = data[0] if len(data) == 1 else "\n".join(data)
                    events.append(SSEEvent(name or "message", joined))
                    data = []
                name = ""
            elif line.startswith(b"event: "):
                name = line[7:].decode("utf-8")
            elif line[0] != 0x3A:  # ":" starts a comment (keep-alive pings)
                field, _, value = line.partition(b":")
                if value.startswith(b" "):
                    value = value[1:]
                if field == b"data":
                    data.append(value.decode("utf-8"))
                elif field == b"event":
                    name = value.decode("utf-8")
        self._event = name
        self._data = data
        return events

    def flush(self) -> list[SSEEvent]:
        """Finish the body: an unterminated last event still counts (Gemini ends so)."""
        events = self.feed(b"\n\n") if self._buffer or self._data else []
        self._buffer = b""
        return events


class NDJSONDecoder:
    """Incremental newline-delimited JSON framing (Ollama's streams): bytes in, lines out.

    Lines end in ``\n`` (a ``\r`` before it is stripped with the other
    whitespace); blank lines are skipped. Decoding each line as JSON is the
    caller's job, so it can name the provider in its error.
    """

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Split ``chunk`` and return the non-blank lines it completed."""
        buffer = self._buffer + chunk
        if b"\n" not in buffer:
            self._buffer = buffer
            return []
        *complete, self._buffer = buffer.split(b"\n")
        return [line for line in (item.strip() for item in complete) if line]

    def flush(self) -> list[bytes]:
        """Finish the body: an unterminated last line still counts."""
        rest, self._buffer = self._buffer.strip(), b""
        return [rest] if rest else []
