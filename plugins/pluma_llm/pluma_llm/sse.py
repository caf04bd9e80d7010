"""An incremental Server-Sent Events parser for upstream streams.

Bytes go in as the network delivers them; complete events come out. Multi-byte UTF-8 characters
and events split across reads are reassembled, and ``\\n``, ``\\r\\n`` and ``\\r`` all end a line
(a ``\\r`` at the end of one read may be followed by the ``\\n`` at the start of the next).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field


@dataclass(slots=True)
class SSEEvent:
    """One dispatched event: its ``event`` name (``"message"`` by default) and joined data."""

    data: str
    event: str = "message"
    id: str | None = None


@dataclass(slots=True)
class SSEParser:
    """Feed bytes with :meth:`feed`; call :meth:`close` at end of stream for a trailing event."""

    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )
    _buffer: str = ""
    _skip_lf: bool = False
    _started: bool = False
    _data: list[str] = field(default_factory=list)
    _event: str = ""
    _id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse ``chunk`` and return the events it completed (possibly none)."""
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if not self._started:
            self._started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        buffer = self._buffer + text
        events: list[SSEEvent] = []
        start = 0
        length = len(buffer)
        while start < length:
            lf = buffer.find("\n", start)
            cr = buffer.find("\r", start, lf if lf != -1 else length)
            if cr != -1:
                end, next_start = cr, cr + 1
                if next_start < length:
                    if buffer[next_start] == "\n":
                        next_start += 1
                else:
                    # A CR at the very end: its LF (if any) arrives with the next read.
                    self._skip_lf = True
            elif lf != -1:
                end, next_start = lf, lf + 1
            else:
                break
            event = self._line(buffer[start:end])
            if event is not None:
                events.append(event)
            start = next_start
        self._buffer = buffer[start:]
        return events

    def close(self) -> list[SSEEvent]:
        """Flush at end of stream: an unterminated last line still counts, then dispatch."""
        tail = self._buffer + self._decoder.decode(b"", final=True)
        self._buffer = ""
        events: list[SSEEvent] = []
        if tail:
            event = self._line(tail)
            if event is not None:
                events.append(event)
        event = self._line("")
        if event is not None:
            events.append(event)
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent(data="\n".join(self._data), event=self._event or "message", id=self._id)
            self._data = []
            self._event = ""
            return event
        if line[0] == ":":
            return None  # comment / keep-alive
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "error":
            # Old llama.cpp sent a non-standard "error: {...}" line after HTTP 200.
            self._data.append(value)
            self._event = "error"
        return None
