"""LiveRequest and LiveRequestQueue: what a caller sends into a live run."""

from __future__ import annotations

import math

import attrs
import trio
from google.genai import types

from trio_adk._bridges._anywhere import awaitable_anywhere
from trio_adk._utils._model import ModelMixin

DEFAULT_CAPACITY = 256


@attrs.define(kw_only=True)
class LiveRequest(ModelMixin):
    """One item for a live run: content, a media blob, an activity signal, or close.

    When several fields are set, ``close`` is handled first, then one of
    ``activity_start`` > ``activity_end`` > ``audio_stream_end`` > ``blob``; ``content`` is
    sent in addition.
    """

    content: types.Content | None = None
    blob: types.Blob | None = None
    activity_start: types.ActivityStart | None = None
    activity_end: types.ActivityEnd | None = None
    audio_stream_end: bool = False
    close: bool = False


class QueueFull(trio.WouldBlock):
    """The live queue is at capacity; the request was not queued.

    Slow down, use ``await queue.asend(...)`` to wait for room, or build the queue
    with a larger ``capacity``.
    """


class LiveRequestQueue:
    """A bounded FIFO of ``LiveRequest`` items feeding one live run.

    Build it anywhere, even outside an event loop.  The ``send_*`` methods never block:
    when ``capacity`` items are waiting they raise :class:`QueueFull`.  ``await
    asend(request)`` waits for room instead (backpressure).  ``close()`` ends the input:
    queued items are still delivered, later sends raise ``trio.ClosedResourceError``.
    The sync methods may be called from the trio thread that runs the live session (or
    before it starts); the awaitables from trio tasks.
    """

    def __init__(self, capacity: int | float = DEFAULT_CAPACITY) -> None:
        if capacity != math.inf and (not isinstance(capacity, int) or capacity < 1):
            raise ValueError(f"capacity must be a positive int or math.inf, got {capacity!r}.")
        self._capacity = capacity
        self._send, self._receive = trio.open_memory_channel[LiveRequest](capacity)
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called (sticky)."""
        return self._closed

    @property
    def capacity(self) -> int | float:
        """How many requests may wait in the queue."""
        return self._capacity

    def __repr__(self) -> str:
        stats = self._send.statistics()
        state = "closed" if self._closed else "open"
        return (f"<LiveRequestQueue {state}, {stats.current_buffer_used}/"
                f"{self._capacity} queued>")

    def send(self, request: LiveRequest) -> None:
        """Queue ``request`` without blocking (``QueueFull`` when at capacity)."""
        if request.close:
            self.close()
            return
        if self._closed:
            raise trio.ClosedResourceError(
                "LiveRequestQueue is closed: no more requests can be sent.")
        try:
            self._send.send_nowait(request)
        except trio.WouldBlock:
            raise QueueFull(
                f"LiveRequestQueue is full ({self._capacity} requests waiting). Use "
                "`await queue.asend(...)` to wait for room or a larger capacity."
            ) from None

    @awaitable_anywhere
    async def asend(self, request: LiveRequest) -> None:
        """Queue ``request``, waiting for room.  Cancellation: not queued."""
        if request.close:
            self.close()
            return
        if self._closed:
            raise trio.ClosedResourceError(
                "LiveRequestQueue is closed: no more requests can be sent.")
        await self._send.send(request)

    def send_content(self, content: types.Content) -> None:
        """Queue a content turn."""
        self.send(LiveRequest(content=content))

    def send_realtime(self, blob: types.Blob) -> None:
        """Queue a realtime media chunk (audio or video)."""
        self.send(LiveRequest(blob=blob))

    def send_activity_start(self) -> None:
        """Signal that the user started speaking."""
        self.send(LiveRequest(activity_start=types.ActivityStart()))

    def send_activity_end(self) -> None:
        """Signal that the user stopped speaking."""
        self.send(LiveRequest(activity_end=types.ActivityEnd()))

    def send_audio_stream_end(self) -> None:
        """Signal that the audio stream ended."""
        self.send(LiveRequest(audio_stream_end=True))

    def close(self) -> None:
        """End the input; idempotent.  Queued requests are still delivered."""
        if not self._closed:
            self._closed = True
            self._send.close()

    @awaitable_anywhere
    async def get(self) -> LiveRequest:
        """The next request; after ``close()`` and once drained, ``LiveRequest(close=True)``.

        Cancellation: nothing is taken from the queue.
        """
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            return LiveRequest(close=True)
