"""LiveRequest and LiveRequestQueue: what a caller sends into a live run."""

from __future__ import annotations

import logging
import math
import threading
from functools import partial

import attrs
import trio
from google.genai import types

from trio_adk._bridges._anywhere import awaitable_anywhere
from trio_adk._utils._model import ModelMixin

DEFAULT_CAPACITY = 256

_log = logging.getLogger("trio_adk")


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


def check_live_request(request: object) -> None:
    """``send``/``asend`` take a ``LiveRequest``: a clear ``TypeError`` otherwise."""
    if not isinstance(request, LiveRequest):
        hint = ""
        if isinstance(request, types.Blob):
            hint = "; for media use send_realtime(blob)"
        elif isinstance(request, types.Content | str):
            hint = "; for a content turn use send_content(types.Content(...))"
        raise TypeError(f"request must be a LiveRequest, got {type(request).__name__}{hint}.")


class LiveRequestQueue:
    """A bounded FIFO of ``LiveRequest`` items feeding one live run.

    Build it anywhere, even outside an event loop and before any run.  The queue binds
    to the trio run that reads it (the first ``get()``, or an explicit ``bind()``).

    Policy: the sync ``send_*`` methods never block, from any thread.  They raise
    :class:`QueueFull` in the calling thread when ``capacity`` requests are waiting
    (sent and not yet taken by the run), and ``trio.ClosedResourceError`` after
    ``close()``; a request they accept is delivered, in order, and never dropped.
    ``await asend(request)`` waits for room instead (backpressure).  ``close()`` ends
    the input: queued requests are still delivered, later sends raise
    ``trio.ClosedResourceError``, and once drained ``get()`` returns
    ``LiveRequest(close=True)``.

    Threads and loops:

    * ``send_*``, ``send``, ``send_threadsafe``, ``close`` and ``closed``: from any
      thread.  From a thread other than the bound run's, an accepted request is handed
      to that run in FIFO order (per producer thread), so an audio callback thread may
      call ``send_realtime``.
    * ``asend`` and ``get``: awaitables for trio tasks, and for asyncio code served by
      trio-adk's guest run on the asyncio thread (``await queue.get()`` under
      ``asyncio.run`` works).  Not from other threads.
    """

    def __init__(self, capacity: int | float = DEFAULT_CAPACITY) -> None:
        if capacity != math.inf:
            if isinstance(capacity, bool) or not isinstance(capacity, int):
                raise TypeError(f"capacity must be an int or math.inf, got {capacity!r}.")
            if capacity < 1:
                raise ValueError(f"capacity must be at least 1 (or math.inf), got {capacity}.")
        self._capacity = capacity
        # Unbounded underneath: room is counted in ``_waiting`` (requests accepted and
        # not yet taken by ``get()``, including those still on their way from another
        # thread), so an accepted request always fits when it arrives.
        self._send, self._receive = trio.open_memory_channel[LiveRequest](math.inf)
        self._waiting = 0
        self._in_transit = 0  # accepted on another thread, not yet put
        self._closed = False
        self._drained = False  # ``get()`` has taken the end of input
        # Where ``asend`` waits for room, and the trio run it waits in.
        self._room: trio.lowlevel.ParkingLot | None = None
        self._room_token: trio.lowlevel.TrioToken | None = None
        # The bound run: its token and the thread it runs on.  ``_lock`` protects the
        # counts, the bound/not-bound decision and direct puts.
        self._lock = threading.Lock()
        self._token: trio.lowlevel.TrioToken | None = None
        self._thread_id: int | None = None

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called (sticky).  Any thread."""
        return self._closed

    @property
    def capacity(self) -> int | float:
        """How many requests may wait in the queue."""
        return self._capacity

    @property
    def bound(self) -> bool:
        """True once a trio run reads this queue (see :meth:`bind`)."""
        return self._token is not None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        bound = "bound" if self._token is not None else "unbound"
        return f"<LiveRequestQueue {state}, {bound}, {self._waiting}/{self._capacity} queued>"

    # -- binding ------------------------------------------------------------------

    def bind(self) -> None:
        """Bind the queue to the current trio run (its token and thread).

        Must be called from inside a trio run (a trio task, or asyncio code served by the
        guest run).  ``get()`` calls it; calling it again from the same run is cheap, and
        from another run rebinds to that run.
        """
        token = trio.lowlevel.current_trio_token()
        if self._token is token:
            return
        with self._lock:
            self._token = token
            self._thread_id = threading.get_ident()

    def _foreign_token(self) -> trio.lowlevel.TrioToken | None:
        """The bound run's token when called from another thread, else None.

        Caller holds ``_lock``."""
        if self._token is None or self._thread_id == threading.get_ident():
            return None
        return self._token

    def _unbind(self, token: trio.lowlevel.TrioToken) -> None:
        """The bound run finished: forget it (caller holds ``_lock``)."""
        if self._token is token:
            self._token = None
            self._thread_id = None

    # -- sending --------------------------------------------------------------------

    def _closed_error(self) -> trio.ClosedResourceError:
        return trio.ClosedResourceError(
            "LiveRequestQueue is closed: no more requests can be sent.")

    def _accept(self, request: LiveRequest) -> trio.lowlevel.TrioToken | None:
        """Count ``request`` in, or raise; put it right here unless it must travel to
        the bound run from this thread (then that run's token is returned)."""
        with self._lock:
            if request.close:
                if self._closed:
                    return None
                self._closed = True
            else:
                if self._closed:
                    raise self._closed_error()
                if self._waiting >= self._capacity:
                    raise QueueFull(
                        f"LiveRequestQueue is full ({self._capacity} requests waiting). "
                        "Use `await queue.asend(...)` to wait for room, send less often, "
                        "or build the queue with a larger capacity.")
                self._waiting += 1
            token = self._foreign_token()
            if token is None and request.close and self._in_transit:
                # On the bound run's thread, with requests still on their way from
                # another thread: the end of input goes behind them (FIFO).
                token = self._token
            if token is None:
                self._send.send_nowait(request)
            else:
                self._in_transit += 1
            return token

    def _put(self, request: LiveRequest) -> None:
        """Put a request that travelled to the bound run's thread; never fails."""
        with self._lock:
            self._in_transit -= 1
            self._send.send_nowait(request)

    def _put_here(self, request: LiveRequest, token: trio.lowlevel.TrioToken) -> None:
        """The bound run finished before the request reached it: put it directly."""
        with self._lock:
            self._in_transit -= 1
            self._unbind(token)
            self._send.send_nowait(request)

    def send_threadsafe(self, request: LiveRequest, *, block: bool = False) -> None:
        """Queue ``request`` from any thread (for producers on other threads).

        Raises :class:`QueueFull` (at capacity) or ``trio.ClosedResourceError`` (after
        ``close()``) right here, in the calling thread; an accepted request is
        delivered, in FIFO order per producer thread.  From a thread other than the
        bound run's, ``block=False`` (the default) returns at once and the request
        reaches the run shortly after; ``block=True`` waits until it is in the queue (a
        round trip of about 0.1 ms).  ``LiveRequest(close=True)`` closes.
        """
        check_live_request(request)
        token = self._accept(request)
        if token is None:
            return
        # Blocking waits for the put, which from_thread cannot do on the run's own thread
        # (there the token only defers a close behind requests in transit).
        if block and self._thread_id != threading.get_ident():
            try:
                trio.from_thread.run_sync(self._put, request, trio_token=token)
            except trio.RunFinishedError:
                self._put_here(request, token)
            return
        try:
            token.run_sync_soon(self._put, request)
        except trio.RunFinishedError:
            self._put_here(request, token)

    def send(self, request: LiveRequest) -> None:
        """Queue ``request`` without blocking; ``LiveRequest(close=True)`` closes.

        Raises :class:`QueueFull` when ``capacity`` requests are waiting and
        ``trio.ClosedResourceError`` after ``close()``.  Any thread (see
        :meth:`send_threadsafe`).
        """
        self.send_threadsafe(request)

    @awaitable_anywhere
    async def asend(self, request: LiveRequest) -> None:
        """Queue ``request``, waiting for room (backpressure).

        For trio tasks, or asyncio code served by the guest run; not from other threads.
        Cancellation while waiting: the request is not queued.  Raises
        ``trio.ClosedResourceError`` after ``close()`` (also if it closes while waiting).
        """
        while True:
            try:
                self.send_threadsafe(request)
                return
            except QueueFull:
                if self._room is None:
                    self._room = trio.lowlevel.ParkingLot()
                    self._room_token = trio.lowlevel.current_trio_token()
                await self._room.park()

    def send_content(self, content: types.Content) -> None:
        """Queue a content turn (any thread; see :meth:`send`)."""
        if not isinstance(content, types.Content):
            raise TypeError(f"send_content takes a types.Content, got {type(content).__name__}"
                            "; for text use types.Content(role='user', parts=[types.Part("
                            "text=...)]).")
        self.send_threadsafe(LiveRequest(content=content))

    def send_realtime(self, blob: types.Blob) -> None:
        """Queue a realtime media chunk, audio or video (any thread; see :meth:`send`)."""
        if not isinstance(blob, types.Blob):
            raise TypeError(f"send_realtime takes a types.Blob, got {type(blob).__name__}; "
                            "use types.Blob(data=pcm_bytes, mime_type='audio/pcm;rate=16000').")
        self.send_threadsafe(LiveRequest(blob=blob))

    def send_activity_start(self) -> None:
        """Signal that the user started speaking (any thread; see :meth:`send`)."""
        self.send_threadsafe(LiveRequest(activity_start=types.ActivityStart()))

    def send_activity_end(self) -> None:
        """Signal that the user stopped speaking (any thread; see :meth:`send`)."""
        self.send_threadsafe(LiveRequest(activity_end=types.ActivityEnd()))

    def send_audio_stream_end(self) -> None:
        """Signal that the audio stream ended (any thread; see :meth:`send`)."""
        self.send_threadsafe(LiveRequest(audio_stream_end=True))

    def close(self) -> None:
        """End the input; idempotent and sticky.  Queued requests are still delivered.

        Any thread: ``closed`` is true at once; the end of input reaches the run after
        every request accepted before it.  Tasks waiting in ``asend`` get
        ``trio.ClosedResourceError``.
        """
        self.send_threadsafe(LiveRequest(close=True))
        self._wake_senders()

    def _wake_senders(self, count: int | None = None) -> None:
        """Wake ``count`` tasks waiting in ``asend`` (all when None), from any thread."""
        room, token = self._room, self._room_token
        if room is None or token is None or not room.statistics().tasks_waiting:
            return
        wake = room.unpark_all if count is None else partial(room.unpark, count=count)
        try:
            if trio.lowlevel.in_trio_run() and trio.lowlevel.current_trio_token() is token:
                wake()
            else:
                token.run_sync_soon(wake)
        except trio.RunFinishedError:
            pass  # nobody waits in a run that is over

    # -- receiving ------------------------------------------------------------------

    @awaitable_anywhere
    async def get(self) -> LiveRequest:
        """The next request; after ``close()`` and once drained, ``LiveRequest(close=True)``.

        For the trio task (or guest-served asyncio code) that reads the live input; binds
        the queue to this run.  Cancellation: nothing is taken from the queue.
        """
        self.bind()
        if self._drained:
            await trio.lowlevel.checkpoint()
            return LiveRequest(close=True)
        request = await self._receive.receive()
        if request.close:
            self._drained = True
            return request
        with self._lock:
            self._waiting -= 1
        self._wake_senders(1)
        return request
