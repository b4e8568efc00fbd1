"""One SQLite file, reached from trio through stdlib ``sqlite3`` in worker threads.

* One writer connection per file and service: writes take a ``threading.Lock`` (waited
  for in the worker thread, so several trio runs and threads can share the service),
  then ``BEGIN IMMEDIATE``; the transaction commits or rolls back as a whole.
* Reader connections for reads (a small idle pool): WAL lets them read a consistent
  snapshot while the writer writes.  A ``:memory:`` database has only the writer.
* Threads and cancellation: every call runs in one of trio's cached worker threads
  (``trio.lowlevel.start_thread_soon``, under the run's default thread limiter, as
  ``trio.to_thread.run_sync`` does) and the caller always waits for it, never abandoning
  it.  The wait's abort hook is the watcher: when the trio side is cancelled it flags
  the call and calls the connection's ``interrupt()``; a progress handler stops
  statements that start after the flag was set (``interrupt()`` misses those).  (The
  hook replaces a watcher task in a nursery: same behaviour, half the overhead per
  call.)  SQLite's own busy wait cannot be interrupted, so the connections wait at most
  ``_BUSY_SLICE`` inside SQLite and the worker retries until the service's
  ``busy_timeout``, looking at the flag between tries.  A cancelled call
  rolls back and raises ``trio.Cancelled``; one that had already committed returns.
* Driver errors become ``StorageError`` naming the file and what went wrong.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import outcome
import trio

from trio_adk.errors import StorageError
from trio_adk.sessions._sqlite._layout import (
    JSON,
    Layout,
    create_indexes,
    create_tables,
    detect_layout,
)

logger = logging.getLogger("trio_adk")

T = TypeVar("T")

_BUSY_SLICE = 0.05  # seconds SQLite waits on a lock before the worker looks at the flag
_LOCK_POLL = 0.02  # seconds between looks at the flag while waiting for the write lock
_MAX_IDLE_READERS = 4
_PROGRESS_STEPS = 1000  # SQLite VM steps between looks at the cancellation flag

_BUSY = 5
_READONLY = 8
_INTERRUPT = 9
_CORRUPT = 11
_FULL = 13
_CANTOPEN = 14
_NOTADB = 26


class _Cancelled(Exception):
    """Raised in the worker thread when the trio side gave up on the call."""


class _Job:
    """One call's hold on a connection; :meth:`cancel` may come from the trio thread."""

    __slots__ = ("_conn", "_lock", "cancelled")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.cancelled = False

    def attach(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self.cancelled:
                raise _Cancelled
            self._conn = conn
        # interrupt() only stops a statement already running; this stops one that
        # starts after the cancellation (SQLite calls it every _PROGRESS_STEPS steps).
        conn.set_progress_handler(self._is_cancelled, _PROGRESS_STEPS)

    def detach(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.set_progress_handler(None, 0)

    def _is_cancelled(self) -> bool:
        return self.cancelled

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self._conn is not None:
                # Stops the running statement; a no-op when none is running (SQLite
                # documents that it does not touch statements started afterwards).
                self._conn.interrupt()


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


class Database:
    """The connections to one SQLite file; see the module docstring.

    Every method may be called from any trio run on any thread.
    """

    def __init__(
        self,
        *,
        path: str,
        target: str,
        uri: bool,
        memory: bool,
        synchronous: str,
        busy_timeout: float,
        new_layout: Layout = JSON,
    ) -> None:
        self.path = path
        self.new_layout = new_layout  # for a file without tables (set before first use)
        self._target = target
        self._uri = uri
        self.memory = memory
        self._synchronous = synchronous.upper()
        self._busy_timeout = busy_timeout
        self._state_lock = threading.Lock()  # guards the fields below
        self._write_lock = threading.Lock()  # held for the writer's whole transaction
        self._writer: sqlite3.Connection | None = None
        self._idle: list[sqlite3.Connection] = []
        self._layout: Layout | None = None
        self._read_only = False
        self._closed = False
        # Times a call found the file locked by another connection and waited (tests
        # use it to know a call is waiting; it only grows).
        self.busy_waits = 0

    # -- trio side ------------------------------------------------------------------------

    async def read(self, what: str, fn: Callable[[sqlite3.Connection, Layout], T]) -> T:
        """Run ``fn(conn, layout)`` in one read transaction (a consistent snapshot).

        Retried from the start while the file is busy, up to ``busy_timeout``.
        Cancellation interrupts it and raises ``trio.Cancelled``.
        """
        return await self._call(what, lambda job: self._read_in_thread(job, fn))

    async def write(self, what: str, fn: Callable[[sqlite3.Connection, Layout], T]) -> T:
        """Run ``fn(conn, layout)`` in one ``BEGIN IMMEDIATE`` transaction and commit.

        An exception from ``fn`` rolls everything back and propagates unchanged.
        Cancellation before the commit rolls back and raises ``trio.Cancelled``; after
        it, the call returns normally (the write happened).
        """
        return await self._call(what, lambda job: self._write_in_thread(job, fn))

    async def close(self) -> None:
        """Close every connection (idle ones now, busy ones when their call ends).

        Waits, shielded from cancellation, for a write in flight to finish (bounded by
        its ``busy_timeout``).  Idempotent.
        """
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(self._close_in_thread)

    async def _call(self, what: str, work: Callable[[_Job], T]) -> T:
        job = _Job()
        async with trio.to_thread.current_default_thread_limiter():
            task = trio.lowlevel.current_task()
            token = trio.lowlevel.current_trio_token()

            def deliver(done: outcome.Outcome[outcome.Outcome[T]]) -> None:
                token.run_sync_soon(trio.lowlevel.reschedule, task, done)

            def abort(_: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
                # The caller is cancelled: stop the worker, then keep waiting for it (a
                # thread is never abandoned).  Its result decides what the caller sees.
                job.cancel()
                return trio.lowlevel.Abort.FAILED

            trio.lowlevel.start_thread_soon(functools.partial(outcome.capture, work, job),
                                            deliver)
            result: outcome.Outcome[T] = await trio.lowlevel.wait_task_rescheduled(abort)
        if isinstance(result, outcome.Error):
            error = result.error
            if isinstance(error, _Cancelled) or (
                isinstance(error, sqlite3.Error) and job.cancelled
                and _code(error) == _INTERRUPT
            ):
                await trio.lowlevel.checkpoint()  # raises the caller's Cancelled
            if isinstance(error, sqlite3.Error):
                raise self._storage_error(what, error) from error
        return result.unwrap()

    def _storage_error(self, what: str, error: sqlite3.Error) -> StorageError:
        code = _code(error)
        where = f"SQLite session database {self.path}"
        if code in (_NOTADB, _CORRUPT):
            reason = ("is not a SQLite database, or it is damaged; restore it from a "
                      "backup or point the service at another file")
        elif code == _FULL:
            reason = ("is full (the disk, or the database's size limit): nothing was "
                      "stored; free some space and retry")
        elif code == _READONLY:
            reason = ("is read-only (the file, its directory or the URI's mode=ro): "
                      "nothing was stored; make it writable to store sessions")
        elif code == _CANTOPEN:
            reason = ("cannot be opened; check that its directory exists and is "
                      "writable")
        elif code == _BUSY:
            reason = (f"stayed locked by another connection for more than "
                      f"busy_timeout={self._busy_timeout}s: nothing was stored; retry, "
                      "or give the service a longer busy_timeout")
        else:
            reason = f"failed: {error}"
        return StorageError(f"{where} {reason} ({what}: {error}).")

    # -- worker threads -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise trio.ClosedResourceError(
                f"the SqliteSessionService for {self.path} is closed; create a new one "
                "to use the file again."
            )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._target, uri=self._uri, timeout=_BUSY_SLICE,
                               isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _acquire_write_lock(self, job: _Job) -> None:
        while not self._write_lock.acquire(timeout=_LOCK_POLL):
            if job.cancelled:
                raise _Cancelled

    def _retrying(self, job: _Job, attempt: Callable[[], T]) -> T:
        """``attempt()`` again while the file is busy, until ``busy_timeout``."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if _code(exc) != _BUSY or time.monotonic() >= deadline:
                    raise
            with self._state_lock:
                self.busy_waits += 1
            if job.cancelled:
                raise _Cancelled

    def _open_writer(self, job: _Job) -> tuple[sqlite3.Connection, Layout]:
        """The writer connection and the file's layout, opening and preparing the file
        on first use.  Called with the write lock held."""
        with self._state_lock:
            self._check_open()
            if self._writer is not None and self._layout is not None:
                return self._writer, self._layout
        conn = self._connect()
        try:
            job.attach(conn)
            try:
                # Refuse a layout we cannot use before changing anything in the file.
                self._retrying(job, lambda: detect_layout(conn, self.path))
                if not self.memory:
                    self._retrying(job, lambda: conn.execute("PRAGMA journal_mode = WAL"))
                conn.execute(f"PRAGMA synchronous = {self._synchronous}")
                layout = self._retrying(job, lambda: self._prepare(conn))
            finally:
                job.detach()
        except BaseException:
            conn.close()
            raise
        with self._state_lock:
            self._writer, self._layout = conn, layout
        return conn, layout

    def _prepare(self, conn: sqlite3.Connection) -> Layout:
        """Detect the layout; create the tables of a new file and our indexes."""
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _code(exc) != _READONLY:
                raise
            # Read-only file: reads work, writes will raise StorageError.
            layout = detect_layout(conn, self.path)
            if layout is None:
                raise
            self._read_only = True
            return layout
        try:
            layout = detect_layout(conn, self.path)
            if layout is None:
                layout = self.new_layout
                create_tables(conn, layout)
            create_indexes(conn, layout)
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        return layout

    def _write_in_thread(self, job: _Job, fn: Callable[[sqlite3.Connection, Layout], T]) -> T:
        self._acquire_write_lock(job)
        try:
            conn, layout = self._open_writer(job)
            job.attach(conn)
            try:
                return self._retrying(job, lambda: _transaction(conn, "BEGIN IMMEDIATE",
                                                                layout, fn))
            finally:
                job.detach()
        finally:
            self._write_lock.release()

    def _read_in_thread(self, job: _Job, fn: Callable[[sqlite3.Connection, Layout], T]) -> T:
        if self.memory:
            # One connection for everything: reads take the writer's turn.
            self._acquire_write_lock(job)
            try:
                conn, layout = self._open_writer(job)
                job.attach(conn)
                try:
                    return _transaction(conn, "BEGIN", layout, fn)
                finally:
                    job.detach()
            finally:
                self._write_lock.release()
        known = self._layout
        if known is None:  # first call on this file: open it (through the writer)
            self._acquire_write_lock(job)
            try:
                known = self._open_writer(job)[1]
            finally:
                self._write_lock.release()
        layout = known
        with self._state_lock:
            self._check_open()
            idle = self._idle.pop() if self._idle else None
        reader = idle if idle is not None else self._connect()
        keep = False
        try:
            job.attach(reader)
            try:
                result = self._retrying(job, lambda: _transaction(reader, "BEGIN", layout, fn))
            finally:
                job.detach()
            keep = True
            return result
        finally:
            with self._state_lock:
                keep = keep and not self._closed and len(self._idle) < _MAX_IDLE_READERS
                if keep:
                    self._idle.append(reader)
            if not keep:
                reader.close()

    def _close_in_thread(self) -> None:
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        with self._write_lock, self._state_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()


def _transaction(conn: sqlite3.Connection, begin: str, layout: Layout,
                 fn: Callable[[sqlite3.Connection, Layout], T]) -> T:
    conn.execute(begin)
    try:
        result = fn(conn, layout)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise
    return result


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            # SQLite rolled back already (disk full, I/O error, interrupt); nothing
            # of the transaction remains either way.
            logger.debug("ROLLBACK after a failed SQLite transaction failed", exc_info=True)
