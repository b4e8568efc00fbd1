"""A small pool of psycopg (sync) connections, used from trio through worker threads.

Why threads: every async PostgreSQL driver for Python runs on asyncio only, so each
query runs in psycopg's sync mode in ``trio.to_thread.run_sync`` (never abandoned: a
connection is used by one thread at a time and its state is known when the call ends).

Cancellation: :func:`call` runs a watcher task beside the thread.  When the trio side is
cancelled while the query is still running, the watcher asks the server to cancel it
(``Connection.cancel_safe()``, from another thread, bounded by ``CANCEL_TIMEOUT``); the
query stops with ``QueryCanceled``, its transaction rolls back, and that error (which we
asked for) is swallowed so the caller sees trio's ``Cancelled``.  The connection stays
usable: after a cancel, a probe query absorbs a cancel request that arrived late, before
the connection goes back to the pool.  If the server does not react within
``GRACE_AFTER_CANCEL`` the watcher shuts the socket down, which ends the query with an
error; that connection is discarded.  Cleanup is therefore shielded and bounded.

Several trio runs at once: the service may be used from several trio runs on several
threads (sync ``runner.run()`` has its own run), so the pool's state is guarded by a
``threading.Lock`` rather than one run's primitives.  A task that finds no free
connection queues a waiter holding its run's trio token and a ``trio.Event`` of that
run; a released connection (or a freed slot) is handed to the first waiter through its
token, FIFO.  Waiting is cancellable: a cancelled waiter leaves the queue, or passes on
what it was handed in the meantime.
"""

from __future__ import annotations

import collections
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import psycopg
import trio
from psycopg.conninfo import make_conninfo

from trio_adk.errors import StorageError
from trio_adk.sessions._postgres._url import PostgresTarget

T = TypeVar("T")

CANCEL_TIMEOUT = 5.0
GRACE_AFTER_CANCEL = 10.0
CLOSE_TIMEOUT = 5.0


class PooledConnection:
    """One psycopg connection and when it was opened."""

    __slots__ = ("opened", "pg", "poisoned")

    def __init__(self, pg: psycopg.Connection[Any]) -> None:
        self.pg = pg
        self.opened = time.monotonic()
        self.poisoned = False  # state unknown (a cancel we could not absorb): discard

    @property
    def broken(self) -> bool:
        return bool(self.poisoned or self.pg.broken or self.pg.closed)


class _Slot:
    """Handed to a waiter when a connection was discarded: open a new one."""


class _Closed:
    """Handed to waiters when the pool closes."""


_SLOT = _Slot()
_CLOSED = _Closed()
_Handed = PooledConnection | _Slot | _Closed


class _Waiter:
    __slots__ = ("event", "item", "token")

    def __init__(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        self.event = trio.Event()
        self.item: _Handed | None = None


class ConnectionPool:
    """At most ``max_size`` connections (``None``: no bound), opened when first needed.

    Methods may be called from any trio run on any thread.  Connections idle in the
    pool are reused newest first; a connection older than ``recycle`` seconds is closed
    instead of reused; a broken one is discarded, and when one turns out broken the
    other idle ones are checked before reuse (a server restart breaks them all).
    """

    def __init__(self, target: PostgresTarget, *, max_size: int | None,
                 wait_timeout: float | None = None, recycle: float | None = None,
                 keep_idle: int | None = None) -> None:
        self._target = target
        self._max_size = max_size
        self._wait_timeout = wait_timeout
        self._recycle = recycle
        self._keep_idle = keep_idle
        self._lock = threading.Lock()
        self._idle: list[PooledConnection] = []
        self._size = 0
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._closed = False
        self._suspect = False

    def statistics(self) -> tuple[int, int]:
        """(connections open or opening, of which idle)."""
        with self._lock:
            return self._size, len(self._idle)

    # -- lending ------------------------------------------------------------------------

    async def acquire(self) -> PooledConnection:
        """A connection for the caller's exclusive use; give it back with :meth:`release`.

        Waits (FIFO) when ``max_size`` connections are in use.  Cancellation while
        waiting gives up the place in line.  Opening a connection runs in a worker
        thread and is bounded by libpq's ``connect_timeout`` (10 s unless the URL says
        otherwise); cancellation waits for it.

        Raises:
            StorageError: the server cannot be reached, or the pool waited longer than
                ``pool_timeout``, or the service is closed.
        """
        waiter = None
        with self._lock:
            self._check_open()
            item: _Handed | None = self._take_idle()
            if item is None:
                if self._max_size is None or self._size < self._max_size:
                    self._size += 1
                    item = _SLOT
                else:
                    waiter = _Waiter()
                    self._waiters.append(waiter)
        if waiter is not None:
            item = await self._wait(waiter)
        if isinstance(item, _Closed):
            raise self._closed_error()
        if isinstance(item, PooledConnection):
            if not await self._stale(item):
                return item
            self._discard(item, hand_on=False)
        return await self._open()

    def release(self, conn: PooledConnection, *, broken: bool = False) -> None:
        """Give back ``conn``; a broken one is closed and its slot handed on.  Does not
        block on the network except to close a broken connection (bounded by the OS)."""
        if broken or conn.broken:
            self._discard(conn)
            return
        while True:
            with self._lock:
                if self._closed or (self._keep_idle is not None and not self._waiters
                                    and len(self._idle) >= self._keep_idle):
                    close_it = True
                else:
                    close_it = False
                    if not self._waiters:
                        self._idle.append(conn)
                        return
                    waiter = self._waiters.popleft()
            if close_it:
                self._discard(conn)
                return
            if _hand(waiter, conn):
                return

    async def close(self) -> None:
        """Close the idle connections now and the lent ones when they come back; wake
        every waiter with an error.  Shielded, bounded by the OS's socket close."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            waiters, self._waiters = list(self._waiters), collections.deque()
            self._size -= len(idle)
        for waiter in waiters:
            _hand(waiter, _CLOSED)
        with trio.CancelScope(shield=True):
            for conn in idle:
                await trio.to_thread.run_sync(_close_quietly, conn)

    # -- internals ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise self._closed_error()

    def _closed_error(self) -> StorageError:
        return StorageError(f"The session service for {self._target.describe} is closed; "
                            "create a new one.")

    def _take_idle(self) -> PooledConnection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.broken:
                self._size -= 1
                _close_quietly(conn)
                continue
            return conn
        return None

    async def _stale(self, conn: PooledConnection) -> bool:
        """Too old to reuse, or broken by a server restart noticed on another one."""
        if self._recycle is not None and time.monotonic() - conn.opened > self._recycle:
            return True
        if self._suspect:
            # Another connection broke: check this one with a cheap round trip.
            ok = await trio.to_thread.run_sync(_ping, conn)
            if ok:
                self._suspect = False
            return not ok
        return False

    def _discard(self, conn: PooledConnection, *, hand_on: bool = True) -> None:
        if conn.broken:
            self._suspect = True
        _close_quietly(conn)
        with self._lock:
            self._size -= 1
        if hand_on:
            self._hand_slot()

    def _hand_slot(self) -> None:
        """A slot is free: let the first waiter open a connection in it."""
        while True:
            with self._lock:
                if not self._waiters or self._closed:
                    return
                waiter = self._waiters.popleft()
                self._size += 1
            if _hand(waiter, _SLOT):
                return
            with self._lock:
                self._size -= 1

    async def _wait(self, waiter: _Waiter) -> _Handed:
        try:
            if self._wait_timeout is None:
                await waiter.event.wait()
            else:
                with trio.move_on_after(self._wait_timeout) as scope:
                    await waiter.event.wait()
                if scope.cancelled_caught and waiter.item is None:
                    with self._lock:
                        if waiter in self._waiters:
                            self._waiters.remove(waiter)
                            raise StorageError(
                                f"No free connection to {self._target.describe} within "
                                f"pool_timeout={self._wait_timeout} s (pool of "
                                f"{self._max_size}); raise pool_size or pool_timeout.")
                    await waiter.event.wait()  # handed at the last moment: shielded by
                    # nothing, but set already or about to be (run_sync_soon).
        except BaseException:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                    raise
            # Something was handed to us while we were being cancelled: pass it on.
            item = waiter.item
            if isinstance(item, PooledConnection):
                self.release(item)
            elif isinstance(item, _Slot):
                with self._lock:
                    self._size -= 1
                self._hand_slot()
            raise
        assert waiter.item is not None
        return waiter.item

    async def _open(self) -> PooledConnection:
        target = self._target

        def connect() -> PooledConnection:
            pg = psycopg.Connection.connect(
                make_conninfo("", **target.params), autocommit=True,
                prepare_threshold=5 if target.prepare else None)
            return PooledConnection(pg)

        try:
            conn = await trio.to_thread.run_sync(connect)
        except BaseException as exc:
            with self._lock:
                self._size -= 1
            self._hand_slot()
            if isinstance(exc, psycopg.Error):
                raise StorageError(
                    f"Cannot connect to PostgreSQL at {target.describe}: "
                    f"{target.scrub(str(exc)).strip()}") from exc
            raise
        with self._lock:
            closed = self._closed
        if closed:
            self._discard(conn, hand_on=False)
            raise self._closed_error()
        return conn


def _hand(waiter: _Waiter, item: _Handed) -> bool:
    """Give ``item`` to ``waiter``; False when the waiter's trio run is gone."""
    waiter.item = item
    try:
        if waiter.token is _current_token():
            waiter.event.set()
        else:
            waiter.token.run_sync_soon(waiter.event.set)
    except trio.RunFinishedError:
        waiter.item = None
        return False
    return True


def _current_token() -> trio.lowlevel.TrioToken | None:
    try:
        return trio.lowlevel.current_trio_token()
    except RuntimeError:
        return None


def _close_quietly(conn: PooledConnection) -> None:
    try:
        conn.pg.close()
    except Exception:
        pass


def _ping(conn: PooledConnection) -> bool:
    try:
        conn.pg.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


# -- one call, cancel-safe ------------------------------------------------------------


class _CallState:
    __slots__ = ("cancel_requested", "finished", "lock", "running")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = True
        self.cancel_requested = False
        self.finished = trio.Event()


class Outcome(Generic[T]):
    """What the thread returned or raised, and whether the trio side cancelled it."""

    __slots__ = ("cancel_requested", "error", "value")

    def __init__(self) -> None:
        self.value: T | None = None
        self.error: BaseException | None = None
        self.cancel_requested = False


async def call(conn: PooledConnection, fn: Callable[[psycopg.Connection[Any]], T],
               into: Outcome[T]) -> None:
    """Run ``fn(connection)`` in a worker thread, cancel-safe; store its result in
    ``into`` before anything (such as trio's ``Cancelled``) is raised.

    ``fn`` must leave the connection idle (no open transaction) when it returns or
    raises: use ``with conn.transaction():``.  Called from a trio task; cancelling it
    cancels the query on the server (see the module docstring) and waits, bounded, for
    the thread to end.
    """
    state = _CallState()
    token = trio.lowlevel.current_trio_token()

    def in_thread() -> None:
        try:
            into.value = fn(conn.pg)
        except BaseException as exc:
            into.error = exc
        finally:
            with state.lock:
                state.running = False
                into.cancel_requested = state.cancel_requested
            token.run_sync_soon(state.finished.set)

    async def watch() -> None:
        try:
            await trio.sleep_forever()
        finally:
            with state.lock:
                ask = state.running
                state.cancel_requested = ask
            if ask:
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(_send_cancel, conn)
                    with trio.move_on_after(GRACE_AFTER_CANCEL):
                        await state.finished.wait()
                    if not state.finished.is_set():
                        _shut_down_socket(conn)

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            try:
                await trio.to_thread.run_sync(in_thread)
            finally:
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # Only trio's Cancelled can come out of here (fn's errors are in ``into``):
        # hand the caller the plain Cancelled it expects.
        cancelled, rest = group.split(trio.Cancelled)
        if rest is None and cancelled is not None:
            raise _first_leaf(cancelled) from None
        raise


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _send_cancel(conn: PooledConnection) -> None:
    try:
        conn.pg.cancel_safe(timeout=CANCEL_TIMEOUT)
    except Exception:
        pass  # the grace period and the socket shutdown bound the wait


def _shut_down_socket(conn: PooledConnection) -> None:
    """End a query the server would not cancel: the thread gets an error at once."""
    try:
        fd = os.dup(conn.pg.pgconn.socket)
    except Exception:
        return
    sock = socket.socket(fileno=fd)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


def absorb_late_cancel(conn: PooledConnection) -> bool:
    """After a cancel request, make sure it cannot hit the connection's next query.

    Runs in a worker thread.  True when the connection is idle and usable.
    """
    for _ in range(2):
        try:
            conn.pg.execute("SELECT 1")
            return True
        except psycopg.errors.QueryCanceled:
            continue
        except psycopg.Error:
            return False
    return False
