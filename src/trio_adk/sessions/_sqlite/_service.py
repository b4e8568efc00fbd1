"""SqliteSessionService: sessions in one SQLite file, in google-adk's own layouts."""

from __future__ import annotations

import bisect
import contextlib
import functools
import json
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from trio_adk._utils._checks import check_count, check_id, check_seconds, check_state
from trio_adk.errors import (
    AlreadyExistsError,
    SessionNotFoundError,
    StaleSessionError,
    StorageError,
)
from trio_adk.events._event import Event
from trio_adk.events._rewinds import keys_removed_by_rewind
from trio_adk.sessions._base import BaseSessionService
from trio_adk.sessions._session import GetSessionConfig, ListSessionsResponse, Session
from trio_adk.sessions._sqlite._cache import EventCache
from trio_adk.sessions._sqlite._claims import file_claim, lock_dir_for
from trio_adk.sessions._sqlite._database import Database
from trio_adk.sessions._sqlite._layout import JSON, V1, Layout
from trio_adk.sessions._state import State
from trio_adk.sessions._storage._documents import (
    event_document,
    event_from_document,
    merge_state,
    parse_document,
    split_state,
)
from trio_adk.sessions._storage._pages import PageKey, decode_page_token, encode_page_token
from trio_adk.sessions._storage._snapshots import SessionSnapshots, Snapshot

_Key = tuple[str, str, str]
_SYNCHRONOUS = ("normal", "full")
_IN_CHUNK = 500  # user ids per IN (...) when merging user state into a listed page
_MAX_BATCH = 10_000
_CACHE_BYTES = 32 << 20  # stored event text whose decoded events are kept for reloads
_SCAN_BUDGET = 1000  # rows stored since a snapshot (any session) read to find its new ones


class SqliteSessionService(BaseSessionService):
    """Sessions, events and scoped state in one SQLite file that google-adk shares.

    ``db_path`` takes the forms google-adk's ``SqliteSessionService`` takes: a file path
    (``str`` or path-like), ``sqlite:///relative.db``, ``sqlite:////absolute.db``,
    ``sqlite+aiosqlite:///...`` (a query string, e.g. ``?mode=ro``, opens the file as a
    SQLite URI), and ``""``, ``":memory:"`` or ``sqlite://`` for a private in-memory
    database.  Relative paths are resolved when the service is built.

    Formats: a new file gets the layout of google-adk 2.13's ``SqliteSessionService``
    (what ``adk web`` keeps in ``<agent>/.adk/session.db``), so ``adk web`` and trio-adk
    can share its history; a new file named by a ``sqlite+aiosqlite://`` URL gets the
    layout ADK's ``DatabaseSessionService`` creates for that URL (SQLAlchemy v1).  A file
    in either layout is read and written in its own layout.
    ADK's legacy v0 pickle layout raises ``UnsupportedStorageFormatError`` naming
    ``adk migrate session``.  The layout is detected when the file is first used; the
    service adds indexes of its own (ADK ignores them).

    Options:
        synchronous: ``"normal"`` (default; WAL with ``synchronous=NORMAL``: a commit
            survives the application crashing) or ``"full"`` (a commit also survives
            power loss, at the cost of an fsync per write).
        busy_timeout: Seconds a call waits for the file while another process writes
            to it (default 5) before raising ``StorageError``.

    Beyond ADK's service: appends detect stale copies always (the session's revision is
    compared inside the write transaction, by equality, never by time order), so two
    writers holding the same old copy can never both append; ``claim_session`` holds a
    session against other processes too (an OS lock on a file in ``<db>.locks/``,
    released by the kernel if the process dies); ``list_sessions`` pages and
    ``get_session`` windows are served by indexes; a reload costs the events stored
    since this service last loaded or appended the session, not the whole history
    (it keeps recent sessions' events, at most 20,000, and reads no event row when the
    session's revision is unchanged, only the new rows when other writers appended).

    Threads and cancellation: every method may be called from any trio run on any
    thread (and from asyncio, through the runner's bridge).  The file is used from
    trio's worker threads; a cancelled call is interrupted and rolled back (an append
    either stored its event or stored nothing).  :meth:`close` closes the connections.

    Raises (from every method): ``StorageError`` when SQLite fails (the file is damaged,
    read-only, full, or stays locked beyond ``busy_timeout``); nothing half-written
    remains, since each write is one transaction.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        *,
        synchronous: Literal["normal", "full"] = "normal",
        busy_timeout: float = 5.0,
    ) -> None:
        path, target, uri, memory = _parse_db_path(db_path)
        if not isinstance(synchronous, str) or synchronous.lower() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be 'normal' (survives application "
                             f"crashes) or 'full' (survives power loss), got "
                             f"{synchronous!r}.")
        timeout = check_seconds(busy_timeout, "busy_timeout", zero=True, optional=False)
        assert timeout is not None
        self.db_path = path
        # ADK's DatabaseSessionService creates its SQLAlchemy v1 tables for these URLs.
        new_layout = V1 if isinstance(db_path, str) and db_path.startswith(
            "sqlite+aiosqlite:") else JSON
        self._db = Database(path=path, target=target, uri=uri, memory=memory,
                            synchronous=synchronous.lower(), busy_timeout=timeout,
                            new_layout=new_layout)
        self._lock_dir = None if memory else lock_dir_for(path)
        self._events = EventCache(_CACHE_BYTES)
        # The events of sessions loaded or appended lately, so a reload reads only the
        # rows stored since (see _storage._snapshots).
        self._snapshots = SessionSnapshots()

    @classmethod
    def _in_adk_database_layout(cls, db_url: str) -> SqliteSessionService:
        """What ``DatabaseSessionService(db_url)`` is for a SQLite URL: as
        ``SqliteSessionService(db_url)``, except that a new file gets the SQLAlchemy v1
        layout ADK's ``DatabaseSessionService`` creates (an existing file keeps its own)."""
        service = cls(db_url)
        service._db.new_layout = V1
        return service

    def __repr__(self) -> str:
        return f"<SqliteSessionService {self.db_path!r}>"

    # -- public API ---------------------------------------------------------------------

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Create a session; its initial ``state`` is split by scope (``app:`` and
        ``user:`` keys update the shared rows, ``temp:`` keys are dropped).

        Raises:
            AlreadyExistsError: this user already has a session with that id.

        One write transaction; cancelled, it created nothing.
        """
        sid = session_id if session_id is not None else str(uuid.uuid4())
        scoped = split_state(state)
        now = time.time()

        def create(conn: sqlite3.Connection, layout: Layout) -> Session:
            key = (app_name, user_id, sid)
            if conn.execute("SELECT 1 FROM sessions WHERE app_name = ? AND user_id = ? "
                            "AND id = ?", key).fetchone():
                raise AlreadyExistsError(f"Session with id {sid} already exists.")
            stamp = layout.time_to_db(now)
            app = _upsert_state(conn, layout, "app_states", (app_name,), scoped.app, stamp,
                                self.db_path)
            user = _upsert_state(conn, layout, "user_states", (app_name, user_id),
                                 scoped.user, stamp, self.db_path)
            conn.execute(
                "INSERT INTO sessions (app_name, user_id, id, state, create_time, "
                "update_time) VALUES (?, ?, ?, ?, ?, ?)",
                (*key, layout.dumps(scoped.session), stamp, stamp))
            session = Session(id=sid, app_name=app_name, user_id=user_id,
                              state=merge_state(scoped.session, app, user),
                              last_update_time=layout.time_from_db(stamp))
            session._storage_update_marker = _marker(layout, stamp, None)
            return session

        return await self._db.write("create_session", create)

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """The session with merged state and its events (oldest first), or ``None``.

        ``config`` windows are applied in SQL through the events index: the last
        ``num_recent_events`` events with ``timestamp >= after_timestamp``.  One read
        snapshot; cancellation interrupts it.
        """
        key = (app_name, user_id, session_id)
        limit = config.num_recent_events if config is not None else None
        after = config.after_timestamp if config is not None else None

        def load(conn: sqlite3.Connection, layout: Layout) -> Session | None:
            row = conn.execute("SELECT state, update_time, create_time FROM sessions "
                               "WHERE app_name = ? AND user_id = ? AND id = ?",
                               key).fetchone()
            if row is None:
                self._snapshots.discard(key)
                return None
            if config is None:
                events, last = self._all_events(conn, layout, key, row[1], row[2])
            else:
                events, last = self._window(conn, layout, key, limit, after)
            session = Session(
                id=session_id, app_name=app_name, user_id=user_id,
                state=merge_state(
                    _state(row[0], self.db_path),
                    _read_state(conn, "app_states", (app_name,), self.db_path),
                    _read_state(conn, "user_states", (app_name, user_id), self.db_path)),
                events=events,
                last_update_time=layout.time_from_db(row[1]),
            )
            session._storage_update_marker = _marker(layout, row[1], last)
            return session

        return await self._db.read("get_session", load)

    # -- loading events (worker threads, inside the caller's read transaction) ---------

    def _all_events(self, conn: sqlite3.Connection, layout: Layout, key: _Key,
                    update_time: Any, create_time: Any) -> tuple[list[Event], str | None]:
        """Every event of the session, oldest first, and the last one's id.

        Through the session's snapshot when this service holds one: unchanged, no event
        row is read; appended to by other writers, only the new rows are read (see
        ``_storage._snapshots``); anything else reads every row."""
        snapshot = self._snapshots.get(key)
        if snapshot is not None:
            last = _last_event_id(conn, layout, key)
            revision = _revision(layout, create_time, update_time, last)
            if snapshot.revision == revision and _same_ties(conn, key, snapshot,
                                                            update_time):
                return snapshot.event_list(), last
            grown = self._grown(conn, layout, key, snapshot, revision)
            if grown is not None:
                self._snapshots.put(key, grown)
                return grown.event_list(), last
        rows = conn.execute(
            f"SELECT id, invocation_id, timestamp, event_data, {layout.tie}, rowid "
            f"FROM events WHERE app_name = ? AND user_id = ? AND session_id = ? "
            f"ORDER BY timestamp, {layout.tie}", key).fetchall()
        events = self._decode(layout, rows)
        last = str(rows[-1][0]) if rows else None
        self._snapshots.put(key, Snapshot.of(
            _revision(layout, create_time, update_time, last), events,
            [(row[2], row[4]) for row in rows], _top(rows, None)))
        return events[:], last

    def _grown(self, conn: sqlite3.Connection, layout: Layout, key: _Key,
               snapshot: Snapshot, revision: tuple[str, str]) -> Snapshot | None:
        """``snapshot`` extended by the rows other writers appended after it, or
        ``None`` when the stored events are not its events plus new ones after them
        (another session of the same id, an event inserted earlier in the order)."""
        old = snapshot.revision
        if not snapshot.size or not isinstance(old, tuple) or old[0] != revision[0]:
            return None
        last_time, last_tie = snapshot.last_position()
        found = conn.execute(
            f"SELECT timestamp, {layout.tie} FROM events WHERE app_name = ? AND "
            f"user_id = ? AND session_id = ? AND id = ?",
            (*key, snapshot.events[snapshot.size - 1].id)).fetchone()
        if found is None or (found[0], found[1]) != (last_time, last_tie):
            return None
        rows = _inserted_since(conn, key, snapshot.mark, layout.tie)
        if rows is None:
            # Too many rows stored since (in any session) to look at them: the rows
            # after the snapshot's last one, and a count proving there are no others.
            rows = conn.execute(
                f"SELECT id, invocation_id, timestamp, event_data, {layout.tie}, rowid "
                f"FROM events WHERE app_name = ? AND user_id = ? AND session_id = ? AND "
                f"(timestamp, {layout.tie}) > (?, ?) ORDER BY timestamp, {layout.tie}",
                (*key, last_time, last_tie)).fetchall()
            count = conn.execute("SELECT count(*) FROM events WHERE app_name = ? AND "
                                 "user_id = ? AND session_id = ?", key).fetchone()[0]
            if count != snapshot.size + len(rows):
                return None
        if not rows or not _comes_after((rows[0][2], rows[0][4]), snapshot.last_position()):
            return None
        return snapshot.extended(revision, self._decode(layout, rows),
                                 [(row[2], row[4]) for row in rows],
                                 _top(rows, snapshot.mark))

    def _window(self, conn: sqlite3.Connection, layout: Layout, key: _Key,
                limit: int | None, after: float | None) -> tuple[list[Event], str | None]:
        """The events of a ``GetSessionConfig`` window, read in SQL through the index,
        and the session's last event id."""
        rows: list[Any] = []
        if limit != 0:
            sql = ("SELECT id, invocation_id, timestamp, event_data FROM events "
                   "WHERE app_name = ? AND user_id = ? AND session_id = ?")
            params: list[Any] = list(key)
            if after is not None:
                sql += " AND timestamp >= ?"
                params.append(layout.time_to_db(after))
            sql += f" ORDER BY timestamp DESC, {layout.tie} DESC"
            if limit is not None:
                sql += " LIMIT ?"
                params.append(limit)
            rows = conn.execute(sql, params).fetchall()
        rows.reverse()
        return self._decode(layout, rows), _last_event_id(conn, layout, key)

    def _decode(self, layout: Layout, rows: list[Any]) -> list[Event]:
        return self._events.decode_all(
            [(_cache_key(layout, row), index) for index, row in enumerate(rows)],
            lambda index: _event_from_row(layout, rows[index], self.db_path))

    async def list_sessions(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> ListSessionsResponse:
        """Sessions without events, oldest update first (ties by user id, then id).

        With ``page_size``, one page and a ``next_page_token`` when more follow (keyset
        pagination through an index: every page costs the same).  One read snapshot per
        call; cancellation interrupts it.
        """
        after = decode_page_token(page_token) if page_token is not None else None

        def page(conn: sqlite3.Connection, layout: Layout) -> ListSessionsResponse:
            sql = (f"SELECT s.user_id, s.id, s.state, s.update_time, "
                   f"(SELECT e.id FROM events e WHERE e.app_name = s.app_name AND "
                   f"e.user_id = s.user_id AND e.session_id = s.id "
                   f"ORDER BY e.timestamp DESC, e.{layout.tie} DESC LIMIT 1) "
                   f"FROM sessions s WHERE s.app_name = ?")
            params: list[Any] = [app_name]
            if user_id is not None:
                sql += " AND s.user_id = ?"
                params.append(user_id)
            if after is not None:
                sql += " AND (s.update_time, s.user_id, s.id) > (?, ?, ?)"
                params += [layout.time_to_db(after.update_time), after.user_id,
                           after.session_id]
            sql += " ORDER BY s.update_time, s.user_id, s.id"
            if page_size is not None:
                sql += " LIMIT ?"
                params.append(page_size + 1)
            rows = conn.execute(sql, params).fetchall()
            next_token = None
            if page_size is not None and len(rows) > page_size:
                rows = rows[:page_size]
                last = rows[-1]
                next_token = encode_page_token(
                    PageKey(layout.time_from_db(last[3]), last[0], last[1]))
            app_state = _read_state(conn, "app_states", (app_name,), self.db_path)
            user_states = _read_user_states(conn, app_name, {r[0] for r in rows},
                                            self.db_path)
            sessions = []
            for uid, sid, state_text, update_time, last_id in rows:
                session = Session(
                    id=sid, app_name=app_name, user_id=uid,
                    state=merge_state(_state(state_text, self.db_path), app_state,
                                      user_states.get(uid, {})),
                    last_update_time=layout.time_from_db(update_time))
                session._storage_update_marker = _marker(layout, update_time, last_id)
                sessions.append(session)
            return ListSessionsResponse(sessions=sessions, next_page_token=next_token)

        return await self._db.read("list_sessions", page)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session and its events (app and user state stay); an unknown
        session is ignored.  One write transaction; cancelled, it deleted nothing."""
        key = (app_name, user_id, session_id)

        def delete(conn: sqlite3.Connection, layout: Layout) -> None:
            conn.execute("DELETE FROM events WHERE app_name = ? AND user_id = ? AND "
                         "session_id = ?", key)
            conn.execute("DELETE FROM sessions WHERE app_name = ? AND user_id = ? AND "
                         "id = ?", key)

        await self._db.write("delete_session", delete)
        self._snapshots.discard(key)

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's ``user:`` state without the prefix (``{}`` when none)."""

        def read(conn: sqlite3.Connection, layout: Layout) -> dict[str, Any]:
            return _read_state(conn, "user_states", (app_name, user_id), self.db_path)

        return await self._db.read("get_user_state", read)

    async def append_event(self, session: Session, event: Event) -> Event:
        """Store ``event`` in ``session`` and return it; partial events are not stored.

        In one write transaction: the session's stored revision is compared with the
        copy's (``StaleSessionError`` when another writer appended since the copy was
        loaded; a hand-built copy is compared by its last event id), the state delta
        goes to the app, user and session rows (``temp:`` keys are never stored; a
        ``None`` value is stored as null, as ADK 2.13 does, except that a rewind event's
        ``None`` removes a session key), ``sessions.update_time``
        becomes the event's timestamp, and the event is inserted.  Only after the
        commit does the caller's copy change (state, events, revision).

        Raises:
            StaleSessionError: the copy is out of date; reload it and retry.
            SessionNotFoundError: the session is not stored (deleted, never created).
            AlreadyExistsError: an event with this id is already in the session.
            TypeError, ValueError: a state value is not JSON (named; nothing stored).

        Cancelled before the commit, nothing is stored and the copy is unchanged.
        """
        if event.partial:
            return event
        key = (session.app_name, session.user_id, session.id)
        delta = event.actions.state_delta if event.actions else None
        stored_delta = {k: v for k, v in (delta or {}).items()
                        if not k.startswith(State.TEMP_PREFIX)}
        check_state(stored_delta, "event.actions.state_delta")
        scoped = split_state(stored_delta)
        removed = keys_removed_by_rewind(event)
        if delta and len(stored_delta) != len(delta):
            # temp: values never reach storage (they need not even be JSON).
            document = event_document(event.model_copy(update={
                "actions": event.actions.model_copy(update={"state_delta": stored_delta})}))
        else:
            document = event_document(event)
        marker = session._storage_update_marker
        copy_last = session.events[-1].id if session.events else None

        def append(conn: sqlite3.Connection, layout: Layout) -> tuple[str, float, Any]:
            row = conn.execute("SELECT update_time, state, create_time FROM sessions "
                               "WHERE app_name = ? AND user_id = ? AND id = ?",
                               key).fetchone()
            if row is None:
                raise SessionNotFoundError(
                    f"Session not found: {session.id} (app {session.app_name!r}, user "
                    f"{session.user_id!r}) is not in {self.db_path}; it was deleted or "
                    "never created here. Create it first.")
            last = conn.execute(
                f"SELECT id, timestamp FROM events WHERE app_name = ? AND user_id = ? AND "
                f"session_id = ? ORDER BY timestamp DESC, {layout.tie} DESC LIMIT 1",
                key).fetchone()
            last_id = None if last is None else str(last[0])
            if (marker != _marker(layout, row[0], last_id) if marker is not None
                    else copy_last != last_id):
                raise StaleSessionError(
                    f"Session {session.id} changed in storage since this copy was loaded "
                    "(another writer appended to it); nothing was stored. Load it again "
                    "with get_session() and retry.")
            stamp = layout.time_to_db(event.timestamp)
            if scoped.app:
                _upsert_state(conn, layout, "app_states", key[:1], scoped.app, stamp,
                              self.db_path)
            if scoped.user:
                _upsert_state(conn, layout, "user_states", key[:2], scoped.user, stamp,
                              self.db_path)
            if scoped.session:
                current = _state(row[1], self.db_path)
                current.update(scoped.session)
                for name in removed:
                    current.pop(name, None)
                conn.execute("UPDATE sessions SET state = ?, update_time = ? WHERE "
                             "app_name = ? AND user_id = ? AND id = ?",
                             (layout.dumps(current), stamp, *key))
            else:
                conn.execute("UPDATE sessions SET update_time = ? WHERE app_name = ? AND "
                             "user_id = ? AND id = ?", (stamp, *key))
            text = layout.dumps(document)
            try:
                rowid = conn.execute(
                    "INSERT INTO events (id, app_name, user_id, session_id, invocation_id, "
                    "timestamp, event_data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (event.id, *key, event.invocation_id, stamp, text)).lastrowid
            except sqlite3.IntegrityError as exc:
                raise AlreadyExistsError(
                    f"Event {event.id} is already stored in session {session.id}; give "
                    "each event a new id (Event() makes one).") from exc
            previous: Any = None if last is None else last[1]
            stamp_value: Any = stamp
            if last is None:
                new_last: str | None = event.id
            elif type(previous) is not type(stamp):  # an odd row: ask SQLite
                new_last = _last_event_id(conn, layout, key)
            elif previous != stamp:
                new_last = last_id if previous > stamp_value else event.id
            else:
                # Equal times: Sqlite-JSON orders ties by rowid (the new row's is the
                # largest), v1 by id.
                new_last = last_id if layout is V1 and str(last[0]) > event.id else event.id
            # The service's snapshot of the session grows by this event when it held
            # the revision just checked and the event comes last in the stored order.
            snapshot = self._snapshots.get(key)
            grow: Any = snapshot
            if snapshot is not None and new_last == event.id and snapshot.revision == (
                    _revision(layout, row[2], row[0], last_id)):
                position = (stamp, rowid if layout is JSON else event.id)
                if _comes_after(position, snapshot.last_position()):
                    grow = (snapshot, _revision(layout, row[2], stamp, new_last), position,
                            (event.id, event.invocation_id, stamp, text, rowid), layout)
            return _marker(layout, stamp, new_last), layout.time_from_db(stamp), grow

        new_marker, stored_time, grow = await self._db.write("append_event", append)
        if isinstance(grow, Snapshot):  # not extendable: the next load reads anew
            self._snapshots.replace(key, grow, None)
        elif grow is not None:
            snapshot, revision, position, stored, layout = grow
            self._snapshots.replace(key, snapshot, snapshot.extended(
                revision, self._decode(layout, [stored]), [position],
                _top([(*stored, stored[4])], snapshot.mark)))
        await super().append_event(session, event)
        session._storage_update_marker = new_marker
        session.last_update_time = stored_time
        return event

    async def iter_events(
        self, *, app_name: str, user_id: str, session_id: str, batch_size: int = 500
    ) -> AsyncIterator[list[Event]]:
        """The session's events, oldest first, in lists of at most ``batch_size``.

        One indexed query per batch (keyset: each batch starts after the last one), so
        memory stays bounded; each batch is its own read snapshot, so events appended
        meanwhile may appear in a later batch.  An unknown session yields nothing.
        Cancellation between or during batches stops the iteration.
        """
        check_id(app_name, "app_name")
        check_id(user_id, "user_id")
        check_id(session_id, "session_id")
        check_count(batch_size, "batch_size", low=1, high=_MAX_BATCH)
        key = (app_name, user_id, session_id)
        position: tuple[Any, Any] | None = None
        while True:
            events, position = await self._db.read(
                "iter_events", functools.partial(_batch, key=key, after=position,
                                                 size=batch_size, path=self.db_path))
            if events:
                yield events
            if len(events) < batch_size:
                return

    async def close(self) -> None:
        """Close the database connections; the service is unusable afterwards (calls
        raise ``trio.ClosedResourceError``).  Waits for a write in flight, shielded from
        cancellation and bounded by ``busy_timeout``.  Idempotent."""
        await self._db.close()

    # -- one run per session across processes -------------------------------------------

    def _claim_elsewhere(
        self, key: tuple[str, str, str], *, wait: bool
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """An OS file lock on ``<db>.locks/<sha256 of key>``, so runs in other processes
        (and other services over the same file) take turns; the kernel releases it when
        the holder dies.  An in-memory database is private to this service: nothing to
        hold."""
        if self._lock_dir is None:
            return contextlib.nullcontext()
        return file_claim(self._lock_dir, key, wait=wait)


# -- path forms -----------------------------------------------------------------------------


def _parse_db_path(db_path: Any) -> tuple[str, str, bool, bool]:
    """(path for messages, connect target, target is a URI, in memory) for ``db_path``."""
    if isinstance(db_path, os.PathLike):
        db_path = os.fspath(db_path)
    if not isinstance(db_path, str):
        raise TypeError(f"db_path must be a file path (str or os.PathLike) or a "
                        f"sqlite:/// URL, got {type(db_path).__name__} {db_path!r}.")
    if "\x00" in db_path:
        raise ValueError(f"db_path {db_path!r} contains a NUL character.")
    if db_path in ("", ":memory:"):
        return ":memory:", ":memory:", False, True
    if not db_path.startswith(("sqlite:", "sqlite+aiosqlite:")):
        path = os.path.abspath(db_path)
        return path, path, False, False
    parts = urlsplit(db_path)
    raw = unquote(parts.path)
    if not raw:
        return ":memory:", ":memory:", False, True
    # SQLAlchemy's reading, as ADK's: sqlite:///rel.db is relative, sqlite:////abs.db
    # absolute (the first slash separates the empty host from the path).
    path = os.path.abspath(raw[1:] if raw.startswith("/") else raw)
    if parts.query:
        return path, f"file:{quote(path)}?{parts.query}", True, False
    return path, path, False, False


# -- SQL helpers (worker threads, inside the caller's transaction) -------------------------


def _marker(layout: Layout, update_time: Any, last_event_id: str | None) -> str:
    """A session's stored revision: its exact ``update_time`` and its last event.

    Compared for equality only.  The last event id makes two appends whose events share
    a timestamp still count as two revisions."""
    return json.dumps([layout.marker_text(update_time), last_event_id])


def _revision(layout: Layout, create_time: Any, update_time: Any,
              last_event_id: str | None) -> tuple[str, str]:
    """What a snapshot of the session's events is valid for: the session's creation
    (another session of the same id has another) and its revision marker."""
    return (layout.marker_text(create_time), _marker(layout, update_time, last_event_id))


def _same_ties(conn: sqlite3.Connection, key: _Key, snapshot: Snapshot,
               update_time: Any) -> bool:
    """Whether the events stored with the session's ``update_time`` as timestamp are
    as many as the snapshot holds.  An append makes ``update_time`` its event's
    timestamp, so this catches the one append an unchanged marker hides: an event of
    the same timestamp as the session's last update that did not become the last
    event (ties ordered by id, or the last event later than the update).  An indexed
    count of the ties only."""
    try:
        held = (bisect.bisect_right(snapshot.positions, update_time, 0, snapshot.size,
                                    key=_first)
                - bisect.bisect_left(snapshot.positions, update_time, 0, snapshot.size,
                                     key=_first))
    except TypeError:  # a column of odd types: do not guess
        return False
    stored = conn.execute("SELECT count(*) FROM events WHERE app_name = ? AND user_id = ? "
                          "AND session_id = ? AND timestamp = ?",
                          (*key, update_time)).fetchone()[0]
    return bool(held == stored)


def _first(position: tuple[Any, Any]) -> Any:
    return position[0]


def _inserted_since(conn: sqlite3.Connection, key: _Key, mark: Any, tie: str
                    ) -> list[Any] | None:
    """The session's rows stored after the snapshot whose newest row is ``mark`` (its
    rowid and event id), in the events' order; ``None`` when that cannot be told
    cheaply.

    SQLite gives a new row a rowid above the table's highest, so while the marked row
    is still there every row stored since has a higher rowid: a range of the table's
    own b-tree, from the rows stored since in any session (at most _SCAN_BUDGET of
    them, else ``None``), with no need to count the session's rows."""
    if mark is None:
        return None
    top, top_id = mark
    if conn.execute("SELECT 1 FROM events WHERE rowid = ? AND +id = ? AND +app_name = ? "
                    "AND +user_id = ? AND +session_id = ?", (top, top_id, *key)
                    ).fetchone() is None:
        return None
    since = conn.execute("SELECT count(*) FROM (SELECT 1 FROM events WHERE rowid > ? "
                         "LIMIT ?)", (top, _SCAN_BUDGET)).fetchone()[0]
    if since >= _SCAN_BUDGET:
        return None
    rows = conn.execute(
        f"SELECT id, invocation_id, timestamp, event_data, {tie}, rowid FROM events "
        f"WHERE rowid > ? AND +app_name = ? AND +user_id = ? AND +session_id = ?",
        (top, *key)).fetchall()
    try:
        rows.sort(key=lambda row: (row[2], row[4]))
    except TypeError:  # a column of odd types: do not guess
        return None
    return rows


def _top(rows: list[Any], mark: Any) -> Any:
    """The (rowid, event id) of the highest rowid among ``rows`` (rowid in column 5)
    and ``mark``."""
    best = mark
    for row in rows:
        if isinstance(row[5], int) and (best is None or row[5] > best[0]):
            best = (row[5], str(row[0]))
    return best


def _comes_after(position: tuple[Any, Any], last: tuple[Any, Any] | None) -> bool:
    """Whether ``position`` sorts after ``last`` (the last of a snapshot's positions;
    ``None``: it has none) as SQLite orders them; values of other types: not known,
    no."""
    if last is None:
        return True
    if type(last[0]) is not type(position[0]) or type(last[1]) is not type(position[1]):
        return False
    return bool(position > last)


def _last_event_id(conn: sqlite3.Connection, layout: Layout, key: _Key) -> str | None:
    row = conn.execute(
        "SELECT id FROM events WHERE app_name = ? AND user_id = ? AND session_id = ? "
        f"ORDER BY timestamp DESC, {layout.tie} DESC LIMIT 1", key).fetchone()
    return None if row is None else str(row[0])


def _state(text: Any, path: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text is not None else {}
    except (TypeError, ValueError) as exc:
        raise StorageError(f"SQLite session database {path} holds a state that is not "
                           f"JSON ({exc}); the file is damaged.") from exc
    if not isinstance(value, dict):
        raise StorageError(f"SQLite session database {path} holds a state that is not a "
                           f"JSON object ({type(value).__name__}); the file is damaged.")
    return value


def _read_state(conn: sqlite3.Connection, table: str, key: tuple[str, ...], path: str,
                key_columns: tuple[str, ...] = ("app_name", "user_id")) -> dict[str, Any]:
    where = " AND ".join(f"{column} = ?" for column in key_columns[:len(key)])
    row = conn.execute(f"SELECT state FROM {table} WHERE {where}", key).fetchone()
    return {} if row is None else _state(row[0], path)


def _read_user_states(conn: sqlite3.Connection, app_name: str, user_ids: Iterable[str],
                      path: str) -> dict[str, dict[str, Any]]:
    wanted = sorted(user_ids)
    states: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        for uid, text in conn.execute(
                f"SELECT user_id, state FROM user_states WHERE app_name = ? AND user_id IN "
                f"({marks})", (app_name, *chunk)):
            states[uid] = _state(text, path)
    return states


def _upsert_state(conn: sqlite3.Connection, layout: Layout, table: str, key: tuple[str, ...],
                  delta: dict[str, Any], stamp: Any, path: str) -> dict[str, Any]:
    """Apply ``delta`` (``dict.update``: a ``None`` is stored as null) to an app or user
    state row and return the row's state.  In the v1 layout the row is created even
    without a delta, as ADK's service expects it to exist before it appends."""
    columns = ("app_name", "user_id")[:len(key)]
    where = " AND ".join(f"{column} = ?" for column in columns)
    row = conn.execute(f"SELECT state FROM {table} WHERE {where}", key).fetchone()
    state = {} if row is None else _state(row[0], path)
    if row is not None and not delta:
        return state
    if row is None and not delta and layout is not V1:
        return state
    state.update(delta)
    text = layout.dumps(state)
    if row is None:
        names = ", ".join((*columns, "state", "update_time"))
        marks = ", ".join("?" * (len(columns) + 2))
        conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", (*key, text, stamp))
    else:
        conn.execute(f"UPDATE {table} SET state = ?, update_time = ? WHERE {where}",
                     (text, stamp, *key))
    return state


def _cache_key(layout: Layout, row: Any) -> Any:
    """What decoding ``row`` depends on: its text, and in v1 its key columns too."""
    return (row[3], row[0], row[1], row[2]) if layout is V1 else row[3]


def _event_from_row(layout: Layout, row: Any, path: str) -> Event:
    event_id, invocation_id, timestamp, data = row[0], row[1], row[2], row[3]
    try:
        document = parse_document(data) if data is not None else {}
        if not isinstance(document, dict):
            raise TypeError(f"event_data is a JSON {type(document).__name__}")
        if layout is V1:
            # ADK's v1 reader: the key columns win, the document's timestamp is kept.
            return event_from_document(document, event_id=str(event_id),
                                       invocation_id=str(invocation_id),
                                       timestamp=layout.time_from_db(timestamp))
        return event_from_document(document)
    except (TypeError, ValueError, KeyError) as exc:
        raise StorageError(f"SQLite session database {path}: event {event_id!r} cannot "
                           f"be read ({exc}); the row is damaged.") from exc


def _batch(conn: sqlite3.Connection, layout: Layout, *, key: _Key,
           after: tuple[Any, Any] | None, size: int, path: str
           ) -> tuple[list[Event], tuple[Any, Any] | None]:
    sql = (f"SELECT id, invocation_id, timestamp, event_data, {layout.tie} FROM events "
           "WHERE app_name = ? AND user_id = ? AND session_id = ?")
    params: list[Any] = list(key)
    if after is not None:
        sql += f" AND (timestamp, {layout.tie}) > (?, ?)"
        params += list(after)
    sql += f" ORDER BY timestamp, {layout.tie} LIMIT ?"
    params.append(size)
    rows = conn.execute(sql, params).fetchall()
    events = [_event_from_row(layout, row, path) for row in rows]
    return events, ((rows[-1][2], rows[-1][4]) if rows else after)
