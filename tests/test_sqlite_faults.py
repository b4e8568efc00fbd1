"""SqliteSessionService under real faults: read-only files, a full database, damaged
files, a writer held up by another connection and cancelled, runaway reads cancelled."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from store_contract import APP, USER, event, fetch
from trio_adk.errors import StorageError
from trio_adk.sessions import SqliteSessionService


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Path]:
    """A file holding session 's' with one event, written and closed."""
    path = tmp_path / "sessions.db"
    service = SqliteSessionService(path)
    try:
        session = await service.create_session(app_name=APP, user_id=USER, session_id="s",
                                               state={"k": 1})
        await service.append_event(session, event(text="first"))
    finally:
        await service.close()
    return path


def _rows(path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(path) as conn:
        return [(table, conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("sessions", "events", "app_states", "user_states")]


async def test_read_only_uri_reads_and_refuses_writes(db: Path) -> None:
    """Opened read-only (?mode=ro, as ADK's URL form allows), the file is readable and
    every write raises StorageError saying it is read-only; nothing changes."""
    before = _rows(db)
    service = SqliteSessionService(f"sqlite:///{db}?mode=ro")
    try:
        session = await fetch(service, "s")
        assert 1 == len(session.events)
        with pytest.raises(StorageError, match="read-only") as caught:
            await service.append_event(session, event(text="x", delta={"app:a": 1}))
        assert str(db) in str(caught.value)
        with pytest.raises(StorageError, match="read-only"):
            await service.create_session(app_name=APP, user_id=USER, state={"user:u": 1})
        assert session.events == (await fetch(service, "s")).events
    finally:
        await service.close()
    assert before == _rows(db)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files anyway")
async def test_read_only_file_and_directory(db: Path) -> None:
    """A file and directory without write permission: writes raise StorageError and
    nothing is half-written."""
    before = _rows(db)
    os.chmod(db, 0o444)
    os.chmod(db.parent, 0o555)
    try:
        service = SqliteSessionService(db)
        try:
            with pytest.raises(StorageError):
                await service.create_session(app_name=APP, user_id=USER)
        finally:
            await service.close()
    finally:
        os.chmod(db.parent, 0o755)
        os.chmod(db, 0o644)
    assert before == _rows(db)


async def test_full_database_stores_nothing_and_recovers(db: Path) -> None:
    """SQLITE_FULL for real (max_page_count at the file's size): the append raises
    StorageError saying so, stores nothing, leaves the copy and the file intact, and
    the same service appends again once there is room."""
    service = SqliteSessionService(db)
    try:
        session = await fetch(service, "s")
        writer = service._db._writer
        assert writer is not None
        pages = writer.execute("PRAGMA page_count").fetchone()[0]
        writer.execute(f"PRAGMA max_page_count = {pages}")
        before = (list(session.events), dict(session.state))
        with pytest.raises(StorageError, match="full"):
            await service.append_event(session, event(text="x" * 200_000,
                                                      delta={"k": 2, "app:a": 1}))
        assert before == (session.events, session.state)
        with sqlite3.connect(db) as conn:
            assert [("ok",)] == conn.execute("PRAGMA integrity_check").fetchall()
        stored = await fetch(service, "s")
        assert (before[0], {"k": 1}) == (stored.events, stored.state)
        writer.execute("PRAGMA max_page_count = 1073741823")
        await service.append_event(session, event(text="x" * 200_000))
        assert 2 == len((await fetch(service, "s")).events)
    finally:
        await service.close()


async def test_garbage_file_names_the_file(tmp_path: Path) -> None:
    """A file that is not a SQLite database: every call raises StorageError naming it;
    the file is left as it was."""
    path = tmp_path / "notes.db"
    junk = os.urandom(4096)
    path.write_bytes(junk)
    service = SqliteSessionService(path)
    try:
        with pytest.raises(StorageError, match="not a SQLite database") as caught:
            await service.create_session(app_name=APP, user_id=USER)
        assert str(path) in str(caught.value)
        with pytest.raises(StorageError, match="not a SQLite database"):
            await service.get_session(app_name=APP, user_id=USER, session_id="s")
    finally:
        await service.close()
    assert junk == path.read_bytes()


async def test_cancelled_append_waiting_for_another_writer(db: Path) -> None:
    """An append waiting for the file (another connection holds the write lock) is
    cancelled: it stores nothing, the caller's copy is unchanged, and the service
    (and that copy) append normally once the other writer is gone."""
    service = SqliteSessionService(db, busy_timeout=600)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        session = await fetch(service, "s")
        other.execute("BEGIN IMMEDIATE")
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                async def append() -> None:
                    await service.append_event(session, event(text="blocked",
                                                              delta={"k": 2}))

                nursery.start_soon(append)
                while service._db.busy_waits == 0:  # the append is waiting on the lock
                    await trio.sleep(0.01)
                scope.cancel()
        assert scope.cancelled_caught
        other.execute("ROLLBACK")
        assert 1 == len(session.events)
        assert {"k": 1} == session.state
        await service.append_event(session, event(text="after", delta={"k": 3}))
        stored = await fetch(service, "s")
        assert ["first", "after"] == [e.content.parts[0].text for e in stored.events
                                      if e.content and e.content.parts]
        assert {"k": 3} == stored.state
    finally:
        other.close()
        await service.close()


async def test_busy_timeout_raises_storage_error(db: Path) -> None:
    """A writer that holds the file longer than busy_timeout: StorageError saying so."""
    service = SqliteSessionService(db, busy_timeout=0)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        session = await fetch(service, "s")
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError, match="busy_timeout"):
            await service.append_event(session, event(text="x"))
        other.execute("ROLLBACK")
        await service.append_event(session, event(text="y"))
    finally:
        other.close()
        await service.close()


async def test_cancelled_runaway_read_is_interrupted(db: Path) -> None:
    """A read that would run for a very long time is stopped by interrupt() when its
    caller is cancelled, and the connection serves the next read."""
    service = SqliteSessionService(db)
    runaway = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
               "SELECT count(*) FROM n")
    started = trio.Event()
    token = trio.lowlevel.current_trio_token()

    def run(conn: sqlite3.Connection, layout: object) -> object:
        trio.from_thread.run_sync(started.set, trio_token=token)
        return conn.execute(runaway).fetchone()

    try:
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(service._db.read, "runaway", run)
                await started.wait()
                scope.cancel()
        assert scope.cancelled_caught
        assert 1 == len((await fetch(service, "s")).events)
    finally:
        await service.close()


async def test_closed_service_refuses_calls(db: Path) -> None:
    """After close() every call raises trio.ClosedResourceError; close() twice is fine."""
    service = SqliteSessionService(db)
    await fetch(service, "s")
    await service.close()
    await service.close()
    with pytest.raises(trio.ClosedResourceError, match="closed"):
        await service.get_session(app_name=APP, user_id=USER, session_id="s")
    with pytest.raises(trio.ClosedResourceError):
        await service.create_session(app_name=APP, user_id=USER)
