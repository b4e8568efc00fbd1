"""Run a blocking psycopg function on a pooled connection from trio, with errors typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import trio

from trio_adk.errors import StorageError
from trio_adk.sessions._postgres._pool import (
    ConnectionPool,
    Outcome,
    PooledConnection,
    absorb_late_cancel,
    call,
)
from trio_adk.sessions._postgres._url import PostgresTarget

T = TypeVar("T")

_Fn = Callable[[psycopg.Connection[Any]], T]


async def run_on(conn: PooledConnection, target: PostgresTarget, fn: _Fn[T],
                 what: str, *, on_done: Callable[[T], None] | None = None) -> T:
    """Run ``fn`` on ``conn`` (see :func:`_pool.call`) and return its result; a
    connection left in an unknown state is marked ``broken`` (give it back anyway).

    ``on_done`` is called with the result as soon as the thread returned, even when
    the caller was cancelled meanwhile (the work is done: the caller's view is updated
    before ``Cancelled`` propagates).  Errors of ``fn`` that are not psycopg's (our
    own ``StaleSessionError`` and the like) propagate unchanged; psycopg's become
    ``StorageError`` naming ``what`` and the server, the driver error chained.
    """
    outcome: Outcome[T] = Outcome()
    cancelled: BaseException | None = None
    try:
        await call(conn, fn, outcome)
    except trio.Cancelled as exc:  # raised after the thread ended; re-raised below
        cancelled = exc
    reusable = not conn.broken
    if outcome.cancel_requested and reusable:
        with trio.CancelScope(shield=True):
            reusable = await trio.to_thread.run_sync(absorb_late_cancel, conn)
        conn.poisoned = not reusable
    if outcome.error is None:
        value: T = outcome.value  # type: ignore[assignment]
        if on_done is not None:
            on_done(value)
        if cancelled is not None:
            raise cancelled
        return value
    error = outcome.error
    if cancelled is not None:
        raise cancelled
    if outcome.cancel_requested and isinstance(error, psycopg.errors.QueryCanceled):
        # We asked for this cancel because the trio side was cancelled.
        await trio.lowlevel.checkpoint()
    if isinstance(error, psycopg.Error):
        raise _storage_error(error, target, what, reusable) from error
    raise error


async def run(pool: ConnectionPool, target: PostgresTarget, fn: _Fn[T], what: str, *,
              on_done: Callable[[T], None] | None = None, retry_broken: bool = False) -> T:
    """Run ``fn`` on a connection from ``pool`` and give the connection back.

    ``retry_broken``: for reads, one more try on a fresh connection when a pooled one
    turns out to be dead (a server restart since its last use).
    """
    while True:
        conn = await pool.acquire()
        try:
            return await run_on(conn, target, fn, what, on_done=on_done)
        except StorageError as exc:
            if retry_broken and conn.broken and _connection_lost(exc):
                retry_broken = False
                continue
            raise
        finally:
            pool.release(conn)


def _connection_lost(exc: StorageError) -> bool:
    return isinstance(exc.__cause__, psycopg.OperationalError)


def _storage_error(error: psycopg.Error, target: PostgresTarget, what: str,
                   reusable: bool) -> StorageError:
    detail = target.scrub(str(error)).strip() or type(error).__name__
    if not reusable:
        detail += " (connection lost; the next call opens a fresh one)"
    return StorageError(f"PostgreSQL at {target.describe} failed to {what}: {detail}")
