"""A server-sent events (``text/event-stream``) parser that follows the WHATWG rules.

The Gemini API streams ``:streamGenerateContent?alt=sse`` as one ``data: <json>`` line
per event.  We parse the general format anyway, so a proxy or a future server that
adds comments, ``event:``/``id:`` lines or other line endings does not break us:

* lines end with CRLF, LF or CR (a CRLF split across two chunks is one line end);
* the stream is UTF-8; a leading byte order mark is skipped, invalid bytes become
  U+FFFD, and a character split across chunks is decoded whole;
* ``field:value`` with one optional space after the colon; a line without a colon is
  a field with an empty value; lines starting with ``:`` are comments;
* ``data`` lines accumulate (joined with ``\\n``), ``event`` sets the type, ``id``
  sets the last event id (ignored if it contains NUL), ``retry`` sets the
  reconnection time when it is all ASCII digits; other fields are ignored;
* a blank line dispatches the event, unless no ``data`` line was seen;
* at the end of the stream an event without its final blank line is discarded, as
  the specification says; :meth:`SSEDecoder.close` reports it so the caller can
  treat the stream as truncated (:func:`aiter_sse` raises :class:`SSETruncatedError`).

:class:`SSEDecoder` is sans-I/O: feed it byte chunks as they arrive.
"""

from __future__ import annotations

import codecs
import collections
import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import attrs

_LINE_END = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


@attrs.frozen(kw_only=True)
class SSEEvent:
    """One dispatched server-sent event."""

    event: str = "message"
    """The event type (``event:`` field), ``"message"`` when none was given."""
    data: str
    """The ``data:`` lines of the event joined with ``\\n``."""
    id: str | None = None
    """The last event id at dispatch time (``id:`` persists across events per the
    specification); ``None`` if the stream never sent one."""
    retry: int | None = None
    """The reconnection time in milliseconds from a ``retry:`` field inside this
    event, if any (see also :attr:`SSEDecoder.retry`)."""


class SSETruncatedError(Exception):
    """The event stream ended in the middle of an event.

    Raised by :func:`aiter_sse` when the body ended after a ``data:`` line (or inside a
    line) without the blank line that completes the event.  The partial event is not
    delivered: a reply cut off mid-way must be an error, never a shorter reply.
    """


class SSEDecoder:
    """Incremental event-stream decoder.

    Call :meth:`feed` with each chunk of the body as it arrives and handle the events
    it returns; call :meth:`close` at the end of the body.  Chunks may be split
    anywhere, including inside a CRLF pair or a multi-byte UTF-8 character.  Feed
    either bytes or already-decoded text, not a mix of both.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._started = False
        self._skip_lf = False
        self._line: list[str] = []
        self._data: list[str] = []
        self._event_type = ""
        self._event_retry: int | None = None
        self._id_buffer: str | None = None
        self._closed = False
        self._truncated = False
        self.last_event_id: str | None = None
        """The last event id string, updated at every blank line (spec behaviour)."""
        self.retry: int | None = None
        """The latest reconnection time (ms) sent with a ``retry:`` field."""

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<SSEDecoder {state}, {len(self._data)} pending data line(s)>"

    @property
    def pending(self) -> bool:
        """True when an event has started but not been completed by a blank line."""
        return bool(self._data) or any(self._line)

    def feed(self, chunk: bytes | bytearray | memoryview | str) -> list[SSEEvent]:
        """Decode ``chunk`` and return the events it completes (possibly none).

        Raises:
            RuntimeError: The decoder was closed.
        """
        if self._closed:
            raise RuntimeError("feed() called on a closed SSEDecoder")
        text = chunk if isinstance(chunk, str) else self._utf8.decode(chunk)
        if not self._started and text:
            self._started = True
            if text[0] == _BOM:
                text = text[1:]
        return self._feed_text(text)

    def close(self) -> bool:
        """End the stream; return True if it ended in the middle of an event.

        Per the specification the incomplete event is discarded.  "In the middle" means
        that ``data`` lines were received since the last blank line, or that the body
        ended inside a line (any characters after the last line break, including an
        incomplete UTF-8 sequence).  Calling ``close()`` again returns the same answer.
        """
        if not self._closed:
            tail = self._utf8.decode(b"", final=True)
            if tail:
                self._line.append(tail)
            self._truncated = self.pending
            self._closed = True
            self._line.clear()
            self._data.clear()
        return self._truncated

    def _feed_text(self, text: str) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        if self._skip_lf and text:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if not text:
            return events
        start = 0
        for match in _LINE_END.finditer(text):
            piece = text[start : match.start()]
            if self._line:
                self._line.append(piece)
                line = "".join(self._line)
                self._line.clear()
            else:
                line = piece
            event = self._process_line(line)
            if event is not None:
                events.append(event)
            start = match.end()
        if start < len(text):
            self._line.append(text[start:])
        # A CR at the very end may be the first half of a CRLF: the line is already
        # ended, so drop a LF that starts the next chunk.
        self._skip_lf = text[-1] == "\r"
        return events

    def _process_line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        field, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event_type = value
        elif field == "id":
            if "\0" not in value:
                self._id_buffer = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self.retry = self._event_retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        self.last_event_id = self._id_buffer
        event: SSEEvent | None = None
        if self._data:
            event = SSEEvent(
                event=self._event_type or "message",
                data="\n".join(self._data),
                id=self.last_event_id,
                retry=self._event_retry,
            )
            self._data.clear()
        self._event_type = ""
        self._event_retry = None
        return event


class SSEEventStream(AsyncIterator[SSEEvent]):
    """The async iterator returned by :func:`aiter_sse`."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._source = chunks.__aiter__()
        self._decoder = SSEDecoder()
        self._ready: collections.deque[SSEEvent] = collections.deque()
        self._done = False

    def __repr__(self) -> str:
        return f"<SSEEventStream {'done' if self._done else 'open'}, {len(self._ready)} ready>"

    async def __anext__(self) -> SSEEvent:
        while not self._ready:
            if self._done:
                raise StopAsyncIteration
            try:
                chunk = await self._source.__anext__()
            except StopAsyncIteration:
                self._done = True
                if self._decoder.close():
                    raise SSETruncatedError(
                        "the event stream ended in the middle of an event"
                    ) from None
                raise
            self._ready.extend(self._decoder.feed(chunk))
        return self._ready.popleft()

    async def aclose(self) -> None:
        """Stop iterating and close the underlying chunk iterator if it can be closed."""
        self._done = True
        self._ready.clear()
        aclose: Any = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()


def aiter_sse(byte_chunks: AsyncIterable[bytes]) -> SSEEventStream:
    """Iterate over the events of an event stream given as byte chunks.

    Typically ``aiter_sse(response.aiter_bytes())`` on a streaming ``httpx`` response.
    Events are yielded as soon as their blank line arrives.  Cancellation while
    waiting for the next chunk leaves the iterator usable; ``aclose()`` closes the
    chunk source.  Works under any async library (it only awaits ``byte_chunks``).

    Raises:
        SSETruncatedError: (from iteration) the stream ended mid-event; the events
            completed before that have been yielded.
    """
    return SSEEventStream(byte_chunks)
