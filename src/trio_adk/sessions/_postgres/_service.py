"""DatabaseSessionService on PostgreSQL: ADK's v1 schema, psycopg 3 (sync) in threads."""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar, cast

import psycopg
import trio
from psycopg.types.json import Jsonb

from trio_adk._utils._copy import copy_value
from trio_adk.errors import AlreadyExistsError, SessionNotFoundError, StaleSessionError
from trio_adk.events._event import Event
from trio_adk.events._rewinds import keys_removed_by_rewind
from trio_adk.sessions._base import BaseSessionService
from trio_adk.sessions._gates import busy_error
from trio_adk.sessions._postgres import _schema
from trio_adk.sessions._postgres._pool import ConnectionPool
from trio_adk.sessions._postgres._runner import run, run_on
from trio_adk.sessions._postgres._url import (
    PostgresTarget,
    is_sqlite_url,
    parse_postgres_url,
)
from trio_adk.sessions._session import GetSessionConfig, ListSessionsResponse, Session
from trio_adk.sessions._state import State
from trio_adk.sessions._storage._documents import (
    event_document,
    event_from_document,
    merge_state,
    split_state,
)
from trio_adk.sessions._storage._pages import PageKey, decode_page_token, encode_page_token
from trio_adk.sessions._storage._snapshots import SessionSnapshots, Snapshot

T = TypeVar("T")
_Conn = psycopg.Connection[Any]

_EPOCH = datetime.datetime(1970, 1, 1)
_UTC = datetime.UTC
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_STALE = ("The session changed in storage since this copy was loaded (another writer "
          "appended first). Load it again with get_session() and retry on the fresh copy.")
_CLAIM_PREFIX = "trio_adk.session:"

# ADK's create_async_engine keyword arguments that mean something here, and ours.
_ACCEPTED_KWARGS = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle",
                    "pool_pre_ping", "connect_args", "echo", "max_connections",
                    "create_list_indexes")


class DatabaseSessionService(BaseSessionService):
    """Sessions in PostgreSQL, in google-adk's own tables (its v1 schema).

    ``DatabaseSessionService("postgresql://user:password@host:5432/dbname")``; URLs are
    written as for ADK (``postgres://``, ``postgresql+asyncpg://``,
    ``postgresql+psycopg://`` name the same server; query parameters are libpq's, such
    as ``sslmode``).  Needs the ``postgres`` extra (``pip install 'trio-adk[postgres]'``).
    google-adk and trio-adk processes can share one database: the tables, the stored
    JSON events and the stale-writer protocol are ADK's.

    Tables are created on first use if absent (ADK's exact DDL, under an advisory
    lock), plus two indexes of ours that make ``list_sessions`` pages cheap
    (``create_list_indexes=False`` leaves them out).  A database in ADK's legacy v0
    (pickle) layout raises ``UnsupportedStorageFormatError`` naming
    ``adk migrate session``.

    Keyword arguments (ADK passes them to SQLAlchemy's engine; those that mean
    something here are honoured): ``pool_size`` (default 10) plus ``max_overflow``
    bound the open connections; ``pool_timeout`` (seconds, default: wait as long as it
    takes, trio cancel scopes bound it) limits the wait for a free one;
    ``pool_recycle`` closes connections older than that many seconds;
    ``connect_args`` adds libpq parameters; ``pool_pre_ping`` and ``echo`` are accepted
    and ignored (a connection found dead is replaced on its own).

    Writes follow ADK's protocol: the session row (and the app/user state rows an
    event changes) is locked ``FOR UPDATE``, the caller's ``_storage_update_marker`` is
    compared with the stored ``update_time``, a mismatch raises
    ``StaleSessionError``, then state is merged (JSONB ``||``; a rewind event's ``None``
    removes a session key instead), ``update_time`` becomes
    the event's timestamp and the event row is inserted, in one transaction.

    Threads and runs: every method may be called from any trio run on any thread (sync
    ``runner.run()`` uses its own run); the connection pool is guarded by threading
    locks.  Each query runs in a worker thread; cancelling the caller cancels the
    query on the server and rolls its transaction back (an append cancelled before its
    commit stores nothing and leaves the caller's copy unchanged; one whose commit
    already happened updates the copy, then the cancellation propagates).

    Reloads: the service keeps the events of sessions it loaded or appended lately (at
    most 20,000 events); a reload whose session row is unchanged (same ``xmin``,
    creation and update time) reads no event row, one appended to by other writers
    reads only the rows after those it holds (checked against the session's row
    count), anything else reads everything.

    ``claim_session`` holds a PostgreSQL advisory lock (on a connection of its own) for
    the run, so runs on one session take turns across processes and hosts; the server
    releases it when the holder's connection dies.

    Values: state and events are stored as JSONB.  Strings holding the NUL character
    (``\\x00``), NaN and infinite floats cannot be stored: ``ValueError`` before
    anything is written.  Whole-number floats of magnitude 1e16 or more come back as
    (equal) ints: PostgreSQL keeps JSON numbers as ``numeric``.
    """

    def __new__(cls, db_url: str, **kwargs: Any) -> DatabaseSessionService:
        if isinstance(db_url, str) and is_sqlite_url(db_url):
            # ADK's DatabaseSessionService opens SQLite files in its SQLAlchemy v1
            # layout; SqliteSessionService reads and writes that layout, and creates it
            # for a new file here.  (Not an instance of this class: isinstance checks
            # against BaseSessionService hold.)
            from trio_adk.sessions._sqlite._service import SqliteSessionService

            if kwargs:
                raise TypeError(
                    f"DatabaseSessionService takes no keyword arguments for SQLite URLs "
                    f"(got {sorted(kwargs)}); SqliteSessionService(db_path, "
                    "synchronous=..., busy_timeout=...) has SQLite's options.")
            return cast("DatabaseSessionService",
                        SqliteSessionService._in_adk_database_layout(db_url))
        return super().__new__(cls)

    def __init__(self, db_url: str, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(_ACCEPTED_KWARGS))
        if unknown:
            raise TypeError(
                f"DatabaseSessionService got unexpected keyword arguments {unknown}; "
                f"on PostgreSQL it takes {', '.join(_ACCEPTED_KWARGS)}.")
        connect_args = kwargs.get("connect_args")
        if connect_args is not None and not isinstance(connect_args, Mapping):
            raise TypeError("connect_args must be a dict of libpq connection parameters, "
                            f"got {type(connect_args).__name__}.")
        self._target: PostgresTarget = parse_postgres_url(db_url, connect_args)
        pool_size = _count(kwargs.get("pool_size", kwargs.get("max_connections", 10)),
                           "pool_size", low=1)
        overflow = _count(kwargs.get("max_overflow", 0), "max_overflow", low=0)
        wait = _seconds(kwargs.get("pool_timeout"), "pool_timeout")
        recycle = _seconds(kwargs.get("pool_recycle"), "pool_recycle")
        if recycle is not None and recycle < 0:
            recycle = None  # SQLAlchemy's -1: never
        self._create_indexes = bool(kwargs.get("create_list_indexes", True))
        self._pool = ConnectionPool(self._target, max_size=pool_size + overflow,
                                    wait_timeout=wait, recycle=recycle)
        # Advisory-lock connections: one per held claim, outside the query pool so
        # that runs holding claims never starve each other's queries.
        self._claims = ConnectionPool(self._target, max_size=None, recycle=recycle,
                                      keep_idle=4)
        self._prepared = False
        self._prepare_lock = threading.Lock()
        # The events of sessions loaded or appended lately, so a reload reads only the
        # rows stored since (see _storage._snapshots).
        self._snapshots = SessionSnapshots()

    def __repr__(self) -> str:
        open_, idle = self._pool.statistics()
        return (f"<DatabaseSessionService {self._target.describe} "
                f"[connections: {open_} open, {idle} idle]>")

    # -- lifecycle ----------------------------------------------------------------------

    async def prepare_tables(self) -> None:
        """Check the database's layout and create ADK's tables if absent (done once,
        lazily, by every method; call it at startup to pay the cost early).

        Raises:
            UnsupportedStorageFormatError: ADK's legacy v0 layout or an unknown version.
            StorageError: the server failed or is unreachable.
        """
        if self._prepared:
            return
        describe = self._target.describe
        indexes = self._create_indexes
        await self._run(lambda c: _schema.prepare(c, describe, create_indexes=indexes),
                        "prepare the session tables", prepared=False)
        with self._prepare_lock:
            self._prepared = True

    async def close(self) -> None:
        """Close the pooled connections (those lent out close when they come back).
        The service is unusable afterwards.  Shielded; bounded by the OS's socket close."""
        await self._pool.close()
        await self._claims.close()

    async def __aenter__(self) -> DatabaseSessionService:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- sessions -----------------------------------------------------------------------

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Create a session (its app and user state rows too, as ADK does).

        Raises:
            AlreadyExistsError: this user already has a session with that id.
            ValueError: a state value cannot be stored as JSONB.
        """
        sid = session_id if session_id is not None else str(uuid.uuid4())
        scoped = split_state(state)
        app_delta = _jsonb(scoped.app, "state")
        user_delta = _jsonb(scoped.user, "state")
        session_state = _jsonb(scoped.session, "state")
        now = _utcnow()

        def work(conn: _Conn) -> tuple[dict[str, Any], dict[str, Any], datetime.datetime]:
            with conn.transaction():
                _upsert_state(conn, "app_states", (app_name,), app_delta, now)
                _upsert_state(conn, "user_states", (app_name, user_id), user_delta, now)
                inserted = conn.execute(
                    "INSERT INTO sessions (app_name, user_id, id, state, create_time, "
                    "update_time) VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING RETURNING update_time",
                    (app_name, user_id, sid, session_state, now, now)).fetchone()
                if inserted is None:
                    raise AlreadyExistsError(f"Session with id {sid} already exists.")
                app, user = _scoped_states(conn, app_name, user_id)
                return app, user, inserted[0]

        app, user, update_time = await self._run(work, "create a session")
        return _session(app_name, user_id, sid, merge_state(scoped.session, app, user),
                        [], update_time)

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """The session with merged state, or ``None``.  ``config`` windows are applied
        in SQL on ADK's events index (the last ``num_recent_events``, then those with
        ``timestamp >= after_timestamp``).  One snapshot (repeatable read), so the
        events and the update marker agree."""
        recent = config.num_recent_events if config else None
        after = config.after_timestamp if config else None
        key = (app_name, user_id, session_id)

        def work(conn: _Conn) -> tuple[Any, ...] | None:
            with conn.transaction(), _snapshot(conn):
                row = conn.execute(
                    "SELECT state, update_time, create_time, xmin::text FROM sessions "
                    "WHERE app_name = %s AND user_id = %s AND id = %s", key).fetchone()
                if row is None:
                    return None
                revision = (_marker(row[2]), row[3], _marker(row[1]))
                if config is None:
                    found = _all_rows(conn, key, self._snapshots.get(key), revision)
                else:
                    found = (None, _window_rows(conn, key, recent, after))
                app, user = _scoped_states(conn, app_name, user_id)
                return row[0], row[1], revision, found, app, user

        loaded = await self._run(work, "load a session", retry_broken=True)
        if loaded is None:
            self._snapshots.discard(key)
            return None
        state, update_time, revision, (snapshot, rows), app, user = loaded
        if config is not None:
            events = [_event(r) for r in rows]
        elif snapshot is not None and not rows:
            events = snapshot.event_list()  # unchanged since this service last saw it
        else:
            new = [_event(r) for r in rows]
            grown = (snapshot.extended(revision, new, [(r[2], r[0]) for r in rows])
                     if snapshot is not None else
                     Snapshot.of(revision, new, [(r[2], r[0]) for r in rows]))
            self._snapshots.put(key, grown)
            events = grown.event_list()
        return _session(app_name, user_id, session_id, merge_state(state, app, user),
                        events, update_time)

    async def list_sessions(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> ListSessionsResponse:
        """Sessions without events, oldest update first (ties: user id, then id).
        With ``page_size``, keyset pages served by an index (constant cost per page)."""
        after = decode_page_token(page_token) if page_token is not None else None

        def work(conn: _Conn) -> tuple[list[tuple[Any, ...]], dict[str, Any],
                                       dict[str, dict[str, Any]]]:
            sql = ("SELECT user_id, id, state, update_time FROM sessions "
                   "WHERE app_name = %s")
            args: list[Any] = [app_name]
            if user_id is not None:
                sql += " AND user_id = %s"
                args.append(user_id)
            if after is not None:
                bound = _to_db_time(after.update_time)
                if user_id is None:
                    sql += " AND (update_time, user_id, id) > (%s, %s, %s)"
                    args += [bound, after.user_id, after.session_id]
                elif user_id == after.user_id:
                    sql += " AND (update_time, id) > (%s, %s)"
                    args += [bound, after.session_id]
                else:
                    sql += " AND update_time >= %s" if user_id > after.user_id else (
                        " AND update_time > %s")
                    args.append(bound)
            sql += " ORDER BY update_time, user_id, id"
            if page_size is not None:
                sql += " LIMIT %s"
                args.append(page_size + 1)
            with conn.transaction(), _snapshot(conn):
                rows = conn.execute(sql, args).fetchall()
                app_row = conn.execute("SELECT state FROM app_states WHERE app_name = %s",
                                       (app_name,)).fetchone()
                users = sorted({r[0] for r in rows})
                user_rows = conn.execute(
                    "SELECT user_id, state FROM user_states "
                    "WHERE app_name = %s AND user_id = ANY(%s)",
                    (app_name, users)).fetchall() if users else []
            return rows, (app_row[0] if app_row else {}), dict(user_rows)

        rows, app, users = await self._run(work, "list sessions", retry_broken=True)
        next_token = None
        if page_size is not None and len(rows) > page_size:
            rows = rows[:page_size]
            last = rows[-1]
            next_token = encode_page_token(PageKey(_from_db_time(last[3]), last[0], last[1]))
        sessions = [_session(app_name, uid, sid, merge_state(state, app, users.get(uid, {})),
                             [], update_time)
                    for uid, sid, state, update_time in rows]
        return ListSessionsResponse(sessions=sessions, next_page_token=next_token)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session and its events (app and user state stay); unknown: no-op."""
        key = (app_name, user_id, session_id)

        def work(conn: _Conn) -> None:
            with conn.transaction():
                conn.execute("DELETE FROM events WHERE app_name = %s AND user_id = %s "
                             "AND session_id = %s", key)
                conn.execute("DELETE FROM sessions WHERE app_name = %s AND user_id = %s "
                             "AND id = %s", key)

        await self._run(work, "delete a session")
        self._snapshots.discard(key)

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's ``user:`` state without the prefix (``{}`` when there is none)."""

        def work(conn: _Conn) -> dict[str, Any]:
            row = conn.execute("SELECT state FROM user_states "
                               "WHERE app_name = %s AND user_id = %s",
                               (app_name, user_id)).fetchone()
            return dict(row[0]) if row else {}

        return await self._run(work, "read user state", retry_broken=True)

    async def iter_events(
        self, *, app_name: str, user_id: str, session_id: str, batch_size: int = 500
    ) -> AsyncIterator[list[Event]]:
        """The session's events, oldest first, one query per batch (keyset on the events
        index), so memory stays bounded.  Nothing is held open between batches."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        last: tuple[datetime.datetime, str] | None = None
        while True:
            bound = last

            def work(conn: _Conn, bound: tuple[datetime.datetime, str] | None = bound
                     ) -> list[tuple[Any, ...]]:
                sql = ("SELECT id, invocation_id, \"timestamp\", event_data FROM events "
                       "WHERE app_name = %s AND user_id = %s AND session_id = %s")
                args: list[Any] = [app_name, user_id, session_id]
                if bound is not None:
                    sql += ' AND ("timestamp", id) > (%s, %s)'
                    args += list(bound)
                sql += ' ORDER BY "timestamp", id LIMIT %s'
                args.append(batch_size)
                return conn.execute(sql, args).fetchall()

            rows = await self._run(work, "read events", retry_broken=True)
            if not rows:
                return
            last = (rows[-1][2], rows[-1][0])
            yield [_event(r) for r in rows]
            if len(rows) < batch_size:
                return

    async def append_event(self, session: Session, event: Event) -> Event:
        """Store ``event`` (ADK's protocol, see the class docstring), then update the
        caller's ``session``; return the event.

        Partial events are returned untouched.  ``temp:`` keys reach the caller's copy
        only and are removed from the stored delta.  The caller's copy changes only
        once the transaction committed: a stale, failed or cancelled append leaves it
        as it was.

        Raises:
            StaleSessionError: the session changed in storage since ``session`` was
                loaded.
            SessionNotFoundError: the session is not in storage (as in ADK).
            ValueError: the event cannot be stored as JSONB (NUL in a string, NaN).
            StorageError: the server failed; nothing was stored.
        """
        if event.partial:
            return event
        delta = event.actions.state_delta if event.actions else None
        temp = {k: v for k, v in (delta or {}).items() if k.startswith(State.TEMP_PREFIX)}
        self._trim_temp_delta(event)
        scoped = split_state(delta)
        removed = sorted(keys_removed_by_rewind(event))
        app_delta = _jsonb(scoped.app, "state_delta") if scoped.app else None
        user_delta = _jsonb(scoped.user, "state_delta") if scoped.user else None
        session_delta = _jsonb(scoped.session, "state_delta") if scoped.session else None
        document = _jsonb(_document(event), "event")
        when = _to_db_time(event.timestamp)
        key = (session.app_name, session.user_id, session.id)
        marker = session._storage_update_marker
        last_time = session.last_update_time
        last_id = session.events[-1].id if session.events else None

        def work(conn: _Conn) -> tuple[datetime.datetime, Any]:
            with conn.transaction():
                row = conn.execute(
                    "SELECT update_time, create_time, xmin::text FROM sessions "
                    "WHERE app_name = %s AND user_id = %s AND id = %s FOR UPDATE",
                    key).fetchone()
                if row is None:
                    raise SessionNotFoundError(f"Session {key[2]} not found.")
                if app_delta is not None:
                    conn.execute("SELECT 1 FROM app_states WHERE app_name = %s FOR UPDATE",
                                 key[:1])
                if user_delta is not None:
                    conn.execute("SELECT 1 FROM user_states WHERE app_name = %s AND "
                                 "user_id = %s FOR UPDATE", key[:2])
                stored: datetime.datetime = row[0]
                if marker is not None:
                    if marker != _marker(stored):
                        raise StaleSessionError(_STALE)
                elif _from_db_time(stored) > last_time and not _same_last_event(
                        conn, key, last_id):
                    raise StaleSessionError(_STALE)
                now = _utcnow()
                if app_delta is not None:
                    _upsert_state(conn, "app_states", key[:1], app_delta, now)
                if user_delta is not None:
                    _upsert_state(conn, "user_states", key[:2], user_delta, now)
                if session_delta is not None:
                    # A rewind's None removes the key (jsonb minus text[]).
                    updated = conn.execute(
                        "UPDATE sessions SET state = (state || %s) - %s::text[], "
                        "update_time = %s WHERE app_name = %s AND user_id = %s AND id = %s "
                        "RETURNING xmin::text", (session_delta, removed, when, *key))
                else:
                    updated = conn.execute(
                        "UPDATE sessions SET update_time = %s "
                        "WHERE app_name = %s AND user_id = %s AND id = %s "
                        "RETURNING xmin::text", (when, *key))
                version = updated.fetchone()
                try:
                    inserted = conn.execute(
                        "INSERT INTO events (id, app_name, user_id, session_id, "
                        "invocation_id, \"timestamp\", event_data) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING event_data",
                        (event.id, *key, event.invocation_id, when, document)).fetchone()
                except psycopg.errors.UniqueViolation:
                    raise AlreadyExistsError(
                        f"Event {event.id!r} is already stored in session {key[2]!r}; "
                        "every event needs a new id.") from None
            # The service's snapshot grows by this event when it held the revision just
            # locked and the event comes last in the stored order (equal timestamps
            # are ordered by the server's collation: not guessed here, reloaded).
            snapshot = self._snapshots.get(key)
            if (snapshot is None or version is None or inserted is None
                    or snapshot.revision != (_marker(row[1]), row[2], _marker(row[0]))
                    or (snapshot.size and not when > snapshot.last_position()[0])):
                return when, None
            return when, (snapshot, (_marker(row[1]), version[0], _marker(when)),
                          (event.id, event.invocation_id, when, inserted[0]))

        def committed(done: tuple[datetime.datetime, Any]) -> None:
            update_time, grow = done
            if grow is not None:
                snapshot, revision, stored = grow
                self._snapshots.replace(key, snapshot, snapshot.extended(
                    revision, [_event(stored)], [(stored[2], stored[0])]))
            for name, value in temp.items():
                session.state[name] = copy_value(value)
            self._update_session_state(session, event)
            session.events.append(event)
            session.last_update_time = _from_db_time(update_time)
            session._storage_update_marker = _marker(update_time)

        await self._run(work, "append an event", on_done=committed)
        return event

    # -- one run per session across processes -------------------------------------------

    @contextlib.asynccontextmanager
    async def _claim_elsewhere(self, key: tuple[str, str, str], *, wait: bool
                               ) -> AsyncIterator[None]:
        """Hold a session-level advisory lock on ``key`` for the run.

        The lock lives on a connection of its own, kept for the run and given back
        unlocked; if the holder dies, its connection closes and the server releases
        the lock.  Waiting blocks in ``pg_advisory_lock`` in a worker thread;
        cancelling cancels it on the server (nothing is held afterwards).
        ``wait=False``: ``SessionBusyError`` when another process holds it.
        """
        await self.prepare_tables()
        name = _CLAIM_PREFIX + json.dumps(list(key))
        conn = await self._claims.acquire()
        held = False

        def mark(got: bool) -> None:
            nonlocal held
            held = got

        try:
            if wait:
                sql = "SELECT pg_advisory_lock(hashtextextended(%s, 0)) IS NULL"
                await run_on(conn, self._target, lambda c: _one(c, sql, (name,)),
                             "wait for a session claim", on_done=lambda _: mark(True))
            else:
                sql = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"
                await run_on(conn, self._target, lambda c: bool(_one(c, sql, (name,))),
                             "claim a session", on_done=mark)
                if not held:
                    raise busy_error(key)
            yield
        finally:
            unlocked = not held
            if held:
                with trio.CancelScope(shield=True), trio.move_on_after(10):
                    sql = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"
                    with contextlib.suppress(Exception):
                        unlocked = bool(await run_on(
                            conn, self._target, lambda c: _one(c, sql, (name,)),
                            "release a session claim"))
            # Not unlocked for sure: closing the connection releases the lock.
            self._claims.release(conn, broken=not unlocked)

    # -- plumbing -----------------------------------------------------------------------

    async def _run(self, fn: Callable[[_Conn], T], what: str, *,
                   on_done: Callable[[T], None] | None = None, retry_broken: bool = False,
                   prepared: bool = True) -> T:
        if prepared and not self._prepared:
            await self.prepare_tables()
        return await run(self._pool, self._target, fn, what, on_done=on_done,
                         retry_broken=retry_broken)


# -- helpers (pure, or run in worker threads) -------------------------------------------


def _count(value: Any, name: str, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return value


def _seconds(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds or None, got {value!r}.")
    return float(value)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(_UTC).replace(tzinfo=None)


def _to_db_time(timestamp: float) -> datetime.datetime:
    """Seconds since the epoch as ADK stores them: naive UTC, rounded to microseconds."""
    return datetime.datetime.fromtimestamp(timestamp, tz=_UTC).replace(tzinfo=None)


def _from_db_time(value: datetime.datetime) -> float:
    return value.replace(tzinfo=_UTC).timestamp()


def _marker(value: datetime.datetime) -> str:
    """ADK's revision marker: the stored ``update_time`` in ISO form, microseconds."""
    return value.isoformat(timespec="microseconds")


def _session(app_name: str, user_id: str, session_id: str, state: dict[str, Any],
             events: list[Event], update_time: datetime.datetime) -> Session:
    session = Session(id=session_id, app_name=app_name, user_id=user_id, state=state,
                      events=events, last_update_time=_from_db_time(update_time))
    session._storage_update_marker = _marker(update_time)
    return session


def _event(row: tuple[Any, ...]) -> Event:
    event_id, invocation_id, timestamp, data = row
    data = data or {}
    return event_from_document(
        data, event_id=event_id, invocation_id=invocation_id,
        timestamp=None if "timestamp" in data else _from_db_time(timestamp))


def _document(event: Event) -> dict[str, Any]:
    try:
        return event_document(event)
    except Exception as exc:
        raise ValueError(f"Event {event.id!r} cannot be stored as JSON: {exc}. State "
                         "deltas and custom_metadata must hold JSON values.") from exc


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _jsonb(value: Any, what: str) -> Jsonb:
    """``value`` ready for a JSONB column, checked before anything is stored."""
    try:
        text = _dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The {what} cannot be stored in PostgreSQL's JSONB: {exc}. Use JSON values "
            "(str, int, finite float, bool, None, lists and dicts of them).") from None
    if "\\u0000" in text and _NUL.search(text):
        raise ValueError(
            f"The {what} holds a string with the NUL character (\\x00), which "
            "PostgreSQL's JSONB cannot store. Remove it, or encode binary data as "
            "bytes (stored as base64) before it reaches the session.")
    return Jsonb(value, dumps=lambda _: text)


def _snapshot(conn: _Conn) -> contextlib.AbstractContextManager[None]:
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    return contextlib.nullcontext()


def _one(conn: _Conn, sql: str, args: tuple[Any, ...]) -> Any:
    row = conn.execute(sql, args).fetchone()
    return row[0] if row else None


def _upsert_state(conn: _Conn, table: str, key: tuple[str, ...], delta: Jsonb,
                  now: datetime.datetime) -> None:
    if table == "app_states":
        conn.execute(
            "INSERT INTO app_states (app_name, state, update_time) VALUES (%s, %s, %s) "
            "ON CONFLICT (app_name) DO UPDATE SET state = app_states.state || "
            "EXCLUDED.state, update_time = EXCLUDED.update_time "
            "WHERE EXCLUDED.state <> '{}'::jsonb", (*key, delta, now))
    else:
        conn.execute(
            "INSERT INTO user_states (app_name, user_id, state, update_time) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (app_name, user_id) DO UPDATE SET "
            "state = user_states.state || EXCLUDED.state, update_time = "
            "EXCLUDED.update_time WHERE EXCLUDED.state <> '{}'::jsonb",
            (*key, delta, now))


def _scoped_states(conn: _Conn, app_name: str, user_id: str
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    row = conn.execute(
        "SELECT (SELECT state FROM app_states WHERE app_name = %s), "
        "(SELECT state FROM user_states WHERE app_name = %s AND user_id = %s)",
        (app_name, app_name, user_id)).fetchone()
    assert row is not None
    return row[0] or {}, row[1] or {}


def _same_last_event(conn: _Conn, key: tuple[str, str, str], last_id: str | None) -> bool:
    """ADK's rule for a session built by hand (no marker): it is current when its last
    event is storage's last event (or both have none)."""
    row = conn.execute(
        "SELECT id FROM events WHERE app_name = %s AND user_id = %s AND session_id = %s "
        "ORDER BY \"timestamp\" DESC, id DESC LIMIT 1", key).fetchone()
    stored = row[0] if row else None
    return stored == last_id


def _all_rows(conn: _Conn, key: tuple[str, str, str], snapshot: Snapshot | None,
              revision: tuple[str, str, str]) -> tuple[Snapshot | None, list[Any]]:
    """The event rows a load must read: ``(snapshot, [])`` when ``snapshot`` is still
    the stored session (its row's version, creation and update time unchanged: no
    event row read), ``(snapshot, new rows)`` when other writers only appended after
    it, else ``(None, every row)``; rows oldest first."""
    if snapshot is not None:
        if snapshot.revision == revision:
            return snapshot, []
        grown = _new_rows(conn, key, snapshot, revision)
        if grown:
            return snapshot, grown
    rows = conn.execute(
        "SELECT id, invocation_id, \"timestamp\", event_data FROM events "
        "WHERE app_name = %s AND user_id = %s AND session_id = %s "
        "ORDER BY \"timestamp\", id", key).fetchall()
    return None, rows


def _new_rows(conn: _Conn, key: tuple[str, str, str], snapshot: Snapshot,
              revision: tuple[str, str, str]) -> list[Any]:
    """The rows stored after ``snapshot``'s last event, or ``[]`` when the stored
    events are not the snapshot's plus new ones after them (another session of the
    same id, an event stored earlier in the order, none added)."""
    old = snapshot.revision
    if not snapshot.size or not isinstance(old, tuple) or old[0] != revision[0]:
        return []
    last_time, last_id = snapshot.last_position()
    found = conn.execute(
        "SELECT \"timestamp\" FROM events WHERE id = %s AND app_name = %s AND "
        "user_id = %s AND session_id = %s", (last_id, *key)).fetchone()
    if found is None or found[0] != last_time:
        return []
    rows = conn.execute(
        "SELECT id, invocation_id, \"timestamp\", event_data FROM events "
        "WHERE app_name = %s AND user_id = %s AND session_id = %s AND "
        "(\"timestamp\", id) > (%s, %s) ORDER BY \"timestamp\", id",
        (*key, last_time, last_id)).fetchall()
    if not rows:
        return []
    count = conn.execute("SELECT count(*) FROM events WHERE app_name = %s AND "
                         "user_id = %s AND session_id = %s", key).fetchone()
    if count is None or count[0] != snapshot.size + len(rows):
        return []
    return rows


def _window_rows(conn: _Conn, key: tuple[str, str, str], recent: int | None,
                 after: float | None) -> list[Any]:
    """A ``GetSessionConfig`` window's rows, oldest first, through ADK's index."""
    if recent == 0:
        return []
    sql = ("SELECT id, invocation_id, \"timestamp\", event_data FROM events "
           "WHERE app_name = %s AND user_id = %s AND session_id = %s")
    args: list[Any] = list(key)
    if after:
        sql += ' AND "timestamp" >= %s'
        args.append(_to_db_time(after))
    sql += ' ORDER BY "timestamp" DESC, id DESC'
    if recent is not None:
        sql += " LIMIT %s"
        args.append(recent)
    rows = conn.execute(sql, args).fetchall()
    rows.reverse()
    return rows
