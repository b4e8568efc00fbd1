"""One run at a time per session: a FIFO gate that works across trio runs and threads."""

from __future__ import annotations

import collections
import threading

import trio

from trio_adk.errors import SessionBusyError

_Key = tuple[str, str, str]


class _Waiter:
    __slots__ = ("event", "token")

    def __init__(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        self.event = trio.Event()


class SessionGates:
    """Per-session gates: runs on one session take turns, in arrival order.

    A run calls :meth:`acquire` before it loads its session and :meth:`release` when it
    has finished, so each run sees everything the previous run appended and events of
    two runs never interleave.  Works for runs in different trio runs (sync ``run()``
    uses a worker thread with its own trio run): the hand-off goes through the waiter's
    trio token.  ``acquire(key, wait=False)`` raises ``SessionBusyError`` on a busy
    session instead of waiting.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[_Key] = set()
        self._waiters: dict[_Key, collections.deque[_Waiter]] = {}

    async def acquire(self, key: _Key, *, wait: bool = True) -> None:
        """Wait for the session's turn.  Cancellation: the place in line is given up."""
        with self._lock:
            if key not in self._busy:
                self._busy.add(key)
                return
            if not wait:
                raise busy_error(key)
            waiter = _Waiter()
            self._waiters.setdefault(key, collections.deque()).append(waiter)
        try:
            await waiter.event.wait()
        except BaseException:
            with self._lock:
                queue = self._waiters.get(key)
                if queue is not None and waiter in queue:
                    queue.remove(waiter)
                    if not queue:
                        del self._waiters[key]
                    raise
            # The turn was handed to us while we were being cancelled: pass it on.
            self.release(key)
            raise

    def release(self, key: _Key) -> None:
        """End this run's turn and hand the session to the next waiter, if any."""
        while True:
            with self._lock:
                queue = self._waiters.get(key)
                if not queue:
                    self._waiters.pop(key, None)
                    self._busy.discard(key)
                    return
                waiter = queue.popleft()
                if not queue:
                    del self._waiters[key]
            try:
                if waiter.token is _current_token():
                    waiter.event.set()
                else:
                    waiter.token.run_sync_soon(waiter.event.set)
                return
            except trio.RunFinishedError:
                continue  # that waiter's trio run is gone; try the next one


def _current_token() -> trio.lowlevel.TrioToken | None:
    try:
        return trio.lowlevel.current_trio_token()
    except RuntimeError:
        return None


def busy_error(key: _Key) -> SessionBusyError:
    """The error for a run refused because its session has one in flight."""
    return SessionBusyError(
        f"Session {key[2]!r} (app {key[0]!r}, user {key[1]!r}) already has a run in flight "
        "and this runner was built with session_concurrency='reject'. Wait for that run "
        "to finish, or use session_concurrency='queue' to wait in line."
    )
