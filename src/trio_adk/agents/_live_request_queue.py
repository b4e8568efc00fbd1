"""LiveRequest and LiveRequestQueue: what a caller sends into a live run."""

from __future__ import annotations

import logging
import math
import threading

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


class LiveRequestQueue:
    """A bounded FIFO of ``LiveRequest`` items feeding one live run.

    Build it anywhere, even outside an event loop and before any run.  The queue binds
    to the trio run that reads it (the first ``get()``, or an explicit ``bind()``).

    Policy: the sync ``send_*`` methods never block.  On the reading run's thread, or
    before the queue is bound, they queue directly and raise :class:`QueueFull` when
    ``capacity`` requests are waiting (nothing already queued is dropped or reordered).
    ``await asend(request)`` waits for room instead (backpressure).  ``close()`` ends
    the input: queued requests are still delivered, later sends raise
    ``trio.ClosedResourceError``, and once drained ``get()`` returns
    ``LiveRequest(close=True)``.

    Threads and loops:

    * ``send_*``, ``send``, ``close`` and ``closed``: from any thread.  From a thread
      other than the bound run's thread they go through :meth:`send_threadsafe`
      (fire-and-forget, FIFO), so an audio callback thread may call ``send_realtime``.
    * ``asend`` and ``get``: awaitables for trio tasks, and for asyncio code served by
      trio-adk's guest run on the asyncio thread (``await queue.get()`` under
      ``asyncio.run`` works).  Not from other threads.
    """

    def __init__(self, capacity: int | float = DEFAULT_CAPACITY) -> None:
        if capacity != math.inf and (not isinstance(capacity, int) or capacity < 1):
            raise ValueError(f"capacity must be a positive int or math.inf, got {capacity!r}.")
        self._capacity = capacity
        self._send, self._receive = trio.open_memory_channel[LiveRequest](capacity)
        self._closed = False
        self._dropped = 0
        # The bound run: its token and the thread it runs on.  ``_lock`` protects the
        # bound/not-bound decision (and direct sends made before binding).
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
    def dropped(self) -> int:
        """Requests handed over fire-and-forget from another thread that could not be
        queued (full or closed by then); each is logged."""
        return self._dropped

    @property
    def bound(self) -> bool:
        """True once a trio run reads this queue (see :meth:`bind`)."""
        return self._token is not None

    def __repr__(self) -> str:
        stats = self._send.statistics()
        state = "closed" if self._closed else "open"
        bound = "bound" if self._token is not None else "unbound"
        return (f"<LiveRequestQueue {state}, {bound}, {stats.current_buffer_used}/"
                f"{self._capacity} queued, {self._dropped} dropped>")

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

    def _check_open(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError(
                "LiveRequestQueue is closed: no more requests can be sent.")

    def _deliver(self, request: LiveRequest) -> None:
        """Queue or close right here (on the bound run's thread, or unbound)."""
        if request.close:
            self._send.close()
            return
        try:
            self._send.send_nowait(request)
        except trio.WouldBlock:
            raise QueueFull(
                f"LiveRequestQueue is full ({self._capacity} requests waiting). Use "
                "`await queue.asend(...)` to wait for room or a larger capacity."
            ) from None
        except trio.ClosedResourceError:
            raise trio.ClosedResourceError(
                "LiveRequestQueue is closed: no more requests can be sent.") from None

    def _deliver_soon(self, request: LiveRequest) -> None:
        """``run_sync_soon`` callback: never lets an exception escape (that would crash
        the trio run); counts and logs what could not be queued."""
        try:
            self._deliver(request)
        except Exception as exc:  # must not escape the callback
            self._dropped += 1
            n = self._dropped
            if str(n).rstrip("0") == "1":  # log at 1, 10, 100, ...
                _log.warning("LiveRequestQueue dropped a request sent from another "
                             "thread (%d dropped so far): %s", n, exc)

    def _route(self, request: LiveRequest, *, block: bool) -> None:
        with self._lock:
            token = self._foreign_token()
            if token is None:
                # Unbound or on the bound run's thread: queue directly.  Holding the
                # lock keeps a concurrent bind() from starting to read mid-send.
                self._deliver(request)
                return
            if not block:
                try:
                    token.run_sync_soon(self._deliver_soon, request)
                except trio.RunFinishedError:
                    self._unbind(token)
                    self._deliver(request)
                return
        try:
            trio.from_thread.run_sync(self._deliver, request, trio_token=token)
        except trio.RunFinishedError:
            with self._lock:
                self._unbind(token)
                self._deliver(request)

    def send_threadsafe(self, request: LiveRequest, *, block: bool = False) -> None:
        """Queue ``request`` from any thread (for producers on other threads).

        From a thread other than the bound trio run's, the request is handed to that run
        in FIFO order (order per producer thread is kept).  With ``block=False`` (the
        default) this never waits: it is fire-and-forget, and a request that turns out
        not to fit (``QueueFull``, or closed meanwhile) is counted in :attr:`dropped`
        and logged instead of raised.  With ``block=True`` the calling thread waits
        until the trio run has tried it (a round trip of about 0.1 ms) and
        ``QueueFull``/``ClosedResourceError`` are raised here.  Not bound yet, or
        called on the bound run's thread: queued directly, errors raised as for
        :meth:`send`.  ``trio.ClosedResourceError`` is raised at once when ``close()``
        was already called.
        """
        if request.close:
            self._close(block=block)
            return
        self._check_open()
        self._route(request, block=block)

    def send(self, request: LiveRequest) -> None:
        """Queue ``request`` without blocking; ``LiveRequest(close=True)`` closes.

        Raises :class:`QueueFull` when at capacity and ``trio.ClosedResourceError``
        after ``close()``.  Any thread: from a thread other than the bound run's it is
        ``send_threadsafe(request)`` (fire-and-forget, see there).
        """
        self.send_threadsafe(request)

    @awaitable_anywhere
    async def asend(self, request: LiveRequest) -> None:
        """Queue ``request``, waiting for room (backpressure).

        For trio tasks, or asyncio code served by the guest run; not from other threads.
        Cancellation while waiting: the request is not queued.  Raises
        ``trio.ClosedResourceError`` after ``close()`` (also if it closes while waiting).
        """
        if request.close:
            self.close()
            return
        self._check_open()
        try:
            await self._send.send(request)
        except trio.ClosedResourceError:
            raise trio.ClosedResourceError(
                "LiveRequestQueue is closed: no more requests can be sent.") from None

    def send_content(self, content: types.Content) -> None:
        """Queue a content turn (any thread; see :meth:`send`)."""
        self.send(LiveRequest(content=content))

    def send_realtime(self, blob: types.Blob) -> None:
        """Queue a realtime media chunk, audio or video (any thread; see :meth:`send`)."""
        self.send(LiveRequest(blob=blob))

    def send_activity_start(self) -> None:
        """Signal that the user started speaking (any thread; see :meth:`send`)."""
        self.send(LiveRequest(activity_start=types.ActivityStart()))

    def send_activity_end(self) -> None:
        """Signal that the user stopped speaking (any thread; see :meth:`send`)."""
        self.send(LiveRequest(activity_end=types.ActivityEnd()))

    def send_audio_stream_end(self) -> None:
        """Signal that the audio stream ended (any thread; see :meth:`send`)."""
        self.send(LiveRequest(audio_stream_end=True))

    def close(self) -> None:
        """End the input; idempotent and sticky.  Queued requests are still delivered.

        Any thread: ``closed`` is true at once; from another thread the end of input is
        handed to the bound run after the requests this thread sent before (FIFO).
        """
        self._close(block=False)

    def _close(self, *, block: bool) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._route(LiveRequest(close=True), block=block)

    # -- receiving ------------------------------------------------------------------

    @awaitable_anywhere
    async def get(self) -> LiveRequest:
        """The next request; after ``close()`` and once drained, ``LiveRequest(close=True)``.

        For the trio task (or guest-served asyncio code) that reads the live input; binds
        the queue to this run.  Cancellation: nothing is taken from the queue.
        """
        self.bind()
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            return LiveRequest(close=True)
