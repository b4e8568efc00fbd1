"""DatabaseSessionService against a real PostgreSQL (a fresh database for this module)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from google.genai import types

from pg_fixtures import pg_database, pg_url, url_for  # noqa: F401
from trio_adk.errors import (
    AlreadyExistsError,
    SessionBusyError,
    SessionNotFoundError,
    StaleSessionError,
    StorageError,
    UnsupportedStorageFormatError,
)
from trio_adk.events import Event, EventActions
from trio_adk.sessions import GetSessionConfig

psycopg = pytest.importorskip("psycopg")

from trio_adk.sessions.database_session_service import DatabaseSessionService  # noqa: E402

APP = "app"


def _event(text: str = "hi", *, delta: dict[str, Any] | None = None,
           timestamp: float | None = None, author: str = "user") -> Event:
    kwargs: dict[str, Any] = {}
    if timestamp is not None:
        kwargs["timestamp"] = timestamp
    return Event(author=author, invocation_id="inv-1",
                 content=types.Content(role="user", parts=[types.Part(text=text)]),
                 actions=EventActions(state_delta=dict(delta or {})), **kwargs)


@pytest.fixture
async def service(pg_url: str) -> AsyncIterator[DatabaseSessionService]:  # noqa: F811
    svc = DatabaseSessionService(pg_url)
    try:
        yield svc
    finally:
        await svc.close()


async def test_create_get_list_delete_with_scoped_state(
        service: DatabaseSessionService) -> None:
    """State splits into app/user/session rows and merges back; temp: is never stored."""
    created = await service.create_session(
        app_name=APP, user_id="u1", session_id="s1",
        state={"app:theme": "dark", "user:name": "Ada", "count": 1, "temp:x": 9})
    assert {"app:theme": "dark", "user:name": "Ada", "count": 1} == created.state
    assert created._storage_update_marker is not None
    other = await service.create_session(app_name=APP, user_id="u2")
    assert {"app:theme": "dark"} == other.state
    with pytest.raises(AlreadyExistsError):
        await service.create_session(app_name=APP, user_id="u1", session_id="s1")

    got = await service.get_session(app_name=APP, user_id="u1", session_id="s1")
    assert got is not None
    assert created.state == got.state
    assert created._storage_update_marker == got._storage_update_marker
    assert await service.get_session(app_name=APP, user_id="u2", session_id="s1") is None
    assert {"name": "Ada"} == await service.get_user_state(app_name=APP, user_id="u1")

    listed = await service.list_sessions(app_name=APP, user_id="u1")
    assert ["s1"] == [s.id for s in listed.sessions]
    assert [] == listed.sessions[0].events
    assert 2 <= len((await service.list_sessions(app_name=APP)).sessions)

    await service.delete_session(app_name=APP, user_id="u1", session_id="s1")
    await service.delete_session(app_name=APP, user_id="u1", session_id="s1")
    assert await service.get_session(app_name=APP, user_id="u1", session_id="s1") is None
    assert {"name": "Ada"} == await service.get_user_state(app_name=APP, user_id="u1")


async def test_append_updates_storage_and_the_callers_copy(
        service: DatabaseSessionService) -> None:
    session = await service.create_session(app_name="app-append", user_id="u", state={"a": 1})
    event = _event(delta={"a": 2, "app:shared": [1], "user:pref": {"x": None},
                          "temp:scratch": "t"})
    returned = await service.append_event(session, event)
    assert event is returned
    assert "temp:scratch" not in event.actions.state_delta
    assert {"a": 2, "app:shared": [1], "user:pref": {"x": None},
            "temp:scratch": "t"} == session.state
    assert [event] == session.events
    loaded = await service.get_session(app_name="app-append", user_id="u", session_id=session.id)
    assert loaded is not None
    assert {"a": 2, "app:shared": [1], "user:pref": {"x": None}} == loaded.state
    assert [event.model_dump()] == [e.model_dump() for e in loaded.events]
    assert session._storage_update_marker == loaded._storage_update_marker
    assert session.last_update_time == loaded.last_update_time
    # The caller's copy stays current: it can append again.
    await service.append_event(session, _event("again"))


async def test_partial_events_are_not_stored(service: DatabaseSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id="u")
    partial = _event("par")
    partial.partial = True
    assert partial is await service.append_event(session, partial)
    loaded = await service.get_session(app_name=APP, user_id="u", session_id=session.id)
    assert loaded is not None and [] == loaded.events


async def test_get_session_windows_match_the_in_memory_rules(
        service: DatabaseSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id="u")
    base = 1_800_000_000.0
    events = [_event(str(i), timestamp=base + i) for i in range(10)]
    for event in events:
        await service.append_event(session, event)

    async def ids(config: GetSessionConfig) -> list[str]:
        got = await service.get_session(app_name=APP, user_id="u", session_id=session.id,
                                        config=config)
        assert got is not None
        return [e.id for e in got.events]

    all_ids = [e.id for e in events]
    assert all_ids[-3:] == await ids(GetSessionConfig(num_recent_events=3))
    assert [] == await ids(GetSessionConfig(num_recent_events=0))
    assert all_ids[4:] == await ids(GetSessionConfig(after_timestamp=base + 4))
    assert all_ids[7:] == await ids(GetSessionConfig(num_recent_events=3,
                                                     after_timestamp=base + 2))
    assert all_ids[8:] == await ids(GetSessionConfig(num_recent_events=5,
                                                     after_timestamp=base + 8))
    batches = [b async for b in service.iter_events(app_name=APP, user_id="u",
                                                    session_id=session.id, batch_size=4)]
    assert [4, 4, 2] == [len(b) for b in batches]
    assert all_ids == [e.id for b in batches for e in b]


async def test_stale_copy_is_rejected_and_left_unchanged(
        service: DatabaseSessionService) -> None:
    session = await service.create_session(app_name="app-stale", user_id="u")
    stale = await service.get_session(app_name="app-stale", user_id="u", session_id=session.id)
    assert stale is not None
    await service.append_event(session, _event("first"))
    before = (dict(stale.state), list(stale.events), stale._storage_update_marker)
    with pytest.raises(StaleSessionError):
        await service.append_event(stale, _event("second", delta={"k": 1, "temp:t": 1}))
    assert before == (dict(stale.state), list(stale.events), stale._storage_update_marker)
    loaded = await service.get_session(app_name="app-stale", user_id="u", session_id=session.id)
    assert loaded is not None and ["first"] == [e.content.parts[0].text
                                                for e in loaded.events]


async def test_marker_less_session_falls_back_to_the_last_event_id(
        service: DatabaseSessionService) -> None:
    from trio_adk.sessions import Session

    created = await service.create_session(app_name=APP, user_id="u")
    hand_made = Session(id=created.id, app_name=APP, user_id="u")
    await service.append_event(hand_made, _event("ok"))  # nothing stored yet: current
    behind = Session(id=created.id, app_name=APP, user_id="u")
    with pytest.raises(StaleSessionError):
        await service.append_event(behind, _event("late"))


async def test_append_to_a_missing_session_raises(service: DatabaseSessionService) -> None:
    from trio_adk.sessions import Session

    ghost = Session(id="nope", app_name=APP, user_id="u")
    with pytest.raises(SessionNotFoundError):
        await service.append_event(ghost, _event())


async def _write(svc: DatabaseSessionService, copy: Any, text: str,
                 outcomes: list[str]) -> None:
    try:
        await svc.append_event(copy, _event(text, delta={"w": text}))
        outcomes.append("stored")
    except StaleSessionError:
        outcomes.append("stale")


async def test_two_instances_two_stale_writers_exactly_one_wins_20_times(
        pg_url: str) -> None:  # noqa: F811
    """ADK's row-lock protocol: of two concurrent appends from the same snapshot, one is
    stored and the other raises StaleSessionError, every time."""
    first, second = DatabaseSessionService(pg_url), DatabaseSessionService(pg_url)
    try:
        for trial in range(20):
            created = await first.create_session(app_name=APP, user_id="race")
            copies = [await svc.get_session(app_name=APP, user_id="race",
                                            session_id=created.id)
                      for svc in (first, second)]
            outcomes: list[str] = []

            async with trio.open_nursery() as nursery:
                nursery.start_soon(_write, first, copies[0], f"{trial}-0", outcomes)
                nursery.start_soon(_write, second, copies[1], f"{trial}-1", outcomes)
            assert ["stale", "stored"] == sorted(outcomes), trial
            loaded = await first.get_session(app_name=APP, user_id="race",
                                             session_id=created.id)
            assert loaded is not None and 1 == len(loaded.events)
    finally:
        await first.close()
        await second.close()


async def test_claims_hold_across_service_instances(pg_url: str) -> None:  # noqa: F811
    """Another process's claim (here: another instance, its own connections) blocks;
    wait=False raises SessionBusyError; cancelling a waiter leaves nothing held."""
    mine, theirs = DatabaseSessionService(pg_url), DatabaseSessionService(pg_url)
    key = {"app_name": APP, "user_id": "claim", "session_id": "s"}
    try:
        async with theirs.claim_session(**key):
            with pytest.raises(SessionBusyError):
                async with mine.claim_session(**key, wait=False):
                    pass
            with trio.move_on_after(0.3) as scope:
                async with mine.claim_session(**key):
                    raise AssertionError("claimed a held session")
            assert scope.cancelled_caught
        async with mine.claim_session(**key, wait=False):
            with pytest.raises(SessionBusyError):
                async with theirs.claim_session(**key, wait=False):
                    pass
        async with theirs.claim_session(**key, wait=False):
            pass
    finally:
        await mine.close()
        await theirs.close()


async def test_a_waiting_claim_gets_the_session_when_released(
        pg_url: str) -> None:  # noqa: F811
    mine, theirs = DatabaseSessionService(pg_url), DatabaseSessionService(pg_url)
    key = {"app_name": APP, "user_id": "claim2", "session_id": "s"}
    order: list[str] = []
    try:
        async with trio.open_nursery() as nursery:
            held = trio.Event()

            async def holder() -> None:
                async with theirs.claim_session(**key):
                    held.set()
                    await trio.sleep(0.2)
                    order.append("theirs done")

            nursery.start_soon(holder)
            await held.wait()
            async with mine.claim_session(**key):
                order.append("mine")
        assert ["theirs done", "mine"] == order
    finally:
        await mine.close()
        await theirs.close()


async def test_cancelled_append_blocked_on_a_row_lock_leaves_the_connection_usable(
        pg_url: str, pg_database: str) -> None:  # noqa: F811
    """The query is cancelled on the server, nothing is stored, the caller's copy is
    unchanged, and the same single connection serves the next query."""
    svc = DatabaseSessionService(pg_url, pool_size=1)
    try:
        session = await svc.create_session(app_name="app-lock", user_id="lock")
        with psycopg.connect(url_for(pg_database)) as blocker:
            blocker.execute("SELECT 1 FROM sessions WHERE id = %s FOR UPDATE",
                            (session.id,))
            with trio.move_on_after(0.5) as scope:
                await svc.append_event(session, _event("blocked", delta={"k": 1}))
            assert scope.cancelled_caught
            blocker.rollback()
        assert [] == session.events and {} == session.state
        assert (1, 1) == svc._pool.statistics()  # still open, idle, reused below
        loaded = await svc.get_session(app_name="app-lock", user_id="lock", session_id=session.id)
        assert loaded is not None and [] == loaded.events
        await svc.append_event(session, _event("after"))
        assert (1, 1) == svc._pool.statistics()
    finally:
        await svc.close()


async def test_cancelled_pool_wait_gives_up_its_place(pg_url: str) -> None:  # noqa: F811
    svc = DatabaseSessionService(pg_url, pool_size=1)
    try:
        session = await svc.create_session(app_name=APP, user_id="pool")
        conn = await svc._pool.acquire()
        with trio.move_on_after(0.2) as scope:
            await svc.get_session(app_name=APP, user_id="pool", session_id=session.id)
        assert scope.cancelled_caught
        svc._pool.release(conn)
        assert await svc.get_session(app_name=APP, user_id="pool", session_id=session.id)
    finally:
        await svc.close()


async def test_connection_refused_is_a_storage_error_without_the_password() -> None:
    secret = "s3cr3t-pa55"
    svc = DatabaseSessionService(f"postgresql://postgres:{secret}@127.0.0.1:1/db")
    try:
        assert secret not in repr(svc)
        with pytest.raises(StorageError) as caught:
            await svc.get_session(app_name=APP, user_id="u", session_id="s")
        for text in (str(caught.value), repr(caught.value), str(caught.value.__cause__)):
            assert secret not in text
        assert "127.0.0.1" in str(caught.value)
    finally:
        await svc.close()


async def test_unstorable_values_are_refused_before_anything_is_stored(
        service: DatabaseSessionService) -> None:
    session = await service.create_session(app_name=APP, user_id="nul")
    with pytest.raises(ValueError, match="NUL"):
        await service.append_event(session, _event("a\x00b"))
    with pytest.raises(ValueError, match="JSONB"):
        await service.append_event(session, _event(delta={"f": float("nan")}))
    with pytest.raises(ValueError, match="NUL"):
        await service.create_session(app_name=APP, user_id="nul", state={"k": "\x00"})
    # A backslash followed by "u0000" is ordinary text.
    await service.append_event(session, _event("\\u0000 is fine"))
    loaded = await service.get_session(app_name=APP, user_id="nul", session_id=session.id)
    assert loaded is not None
    assert ["\\u0000 is fine"] == [e.content.parts[0].text for e in loaded.events]


async def test_legacy_v0_layout_is_refused(pg_database: str) -> None:  # noqa: F811
    from pg_fixtures import create_database, drop_database

    name = create_database()
    try:
        with psycopg.connect(url_for(name), autocommit=True) as conn:
            conn.execute("CREATE TABLE events (id VARCHAR(128), actions BYTEA)")
        svc = DatabaseSessionService(url_for(name))
        try:
            with pytest.raises(UnsupportedStorageFormatError, match="adk migrate session"):
                await svc.list_sessions(app_name=APP)
        finally:
            await svc.close()
    finally:
        drop_database(name)


async def test_sessions_are_usable_from_a_sync_run_in_another_thread(
        service: DatabaseSessionService) -> None:
    """The pool serves several trio runs at once (sync code gets its own run)."""
    session = await service.create_session(app_name=APP, user_id="sync")
    loaded = await trio.to_thread.run_sync(
        lambda: service.get_session_sync(app_name=APP, user_id="sync",
                                         session_id=session.id))
    assert loaded is not None and session.id == loaded.id


def test_urls_as_adk_users_write_them() -> None:
    from trio_adk.sessions._postgres._url import UnsupportedDatabaseURLError, parse_postgres_url

    for scheme in ("postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg",
                   "postgresql+psycopg2"):
        target = parse_postgres_url(f"{scheme}://me:p%40ss@db.example:6543/app?sslmode=require")
        assert {"host": "db.example", "port": "6543", "user": "me", "password": "p@ss",
                "dbname": "app", "sslmode": "require"}.items() <= target.params.items()
        assert "p@ss" not in repr(target) and "p%40ss" not in target.describe
    assert "require" == parse_postgres_url("postgresql+asyncpg://h/db?ssl=true").params[
        "sslmode"]
    assert not parse_postgres_url("postgresql://h/db?prepared_statement_cache_size=0").prepare
    with pytest.raises(UnsupportedDatabaseURLError, match="options="):
        parse_postgres_url("postgresql+asyncpg://h/db?server_settings=x")
    with pytest.raises(UnsupportedDatabaseURLError, match="invalid connection option"):
        parse_postgres_url("postgresql://h/db?nonsense=1")
    with pytest.raises(UnsupportedDatabaseURLError, match="PostgreSQL") as caught:
        DatabaseSessionService("mysql+aiomysql://root:hunter2@h/db")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(TypeError, match="no keyword arguments for SQLite URLs"):
        DatabaseSessionService("sqlite+aiosqlite:///x.db", pool_size=3)
    with pytest.raises(TypeError, match="pool_sizes"):
        DatabaseSessionService("postgresql://h/db", pool_sizes=3)


async def test_many_sessions_and_events_page_completely(
        service: DatabaseSessionService, pg_database: str) -> None:  # noqa: F811
    """2,000 sessions and a 5,000-event session: pages are complete and disjoint, every
    window and batch is what the rules say."""
    base = 1_800_000_000.0
    with psycopg.connect(url_for(pg_database), autocommit=True) as conn:
        await service.prepare_tables()
        with conn.cursor() as cur, cur.copy(
                "COPY sessions (app_name, user_id, id, state, create_time, update_time) "
                "FROM STDIN") as copy:
            for i in range(2000):
                # Many ties on update_time, so the tie-breaks are exercised.
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(base + i // 7))
                copy.write_row(("bulk", f"user{i % 13}", f"s{i:05d}", "{}", stamp, stamp))
    expected = sorted((i // 7, f"user{i % 13}", f"s{i:05d}") for i in range(2000))
    for user in (None, "user3"):
        want = [k[2] for k in expected if user is None or k[1] == user]
        got: list[str] = []
        token = None
        while True:
            page = await service.list_sessions(app_name="bulk", user_id=user,
                                               page_size=97, page_token=token)
            got += [s.id for s in page.sessions]
            token = page.next_page_token
            if token is None:
                break
        assert want == got
    everything = await service.list_sessions(app_name="bulk")
    assert [k[2] for k in expected] == [s.id for s in everything.sessions]

    session = await service.create_session(app_name="bulk", user_id="big")
    events = [_event(str(i), timestamp=base + i / 1000) for i in range(5000)]
    with psycopg.connect(url_for(pg_database), autocommit=True) as conn:
        from psycopg.types.json import Jsonb

        from trio_adk.sessions._postgres._service import _to_db_time
        from trio_adk.sessions._storage._documents import event_document

        with conn.cursor() as cur, cur.copy(
                "COPY events (id, app_name, user_id, session_id, invocation_id, "
                "\"timestamp\", event_data) FROM STDIN") as copy:
            for e in events:
                copy.write_row((e.id, "bulk", "big", session.id, e.invocation_id,
                                _to_db_time(e.timestamp), Jsonb(event_document(e))))
    loaded = await service.get_session(app_name="bulk", user_id="big", session_id=session.id)
    assert loaded is not None
    assert [e.id for e in events] == [e.id for e in loaded.events]
    window = await service.get_session(
        app_name="bulk", user_id="big", session_id=session.id,
        config=GetSessionConfig(num_recent_events=100, after_timestamp=base + 4.95))
    assert window is not None
    assert [e.id for e in events[4950:]] == [e.id for e in window.events]
    seen = [e.id async for batch in service.iter_events(
        app_name="bulk", user_id="big", session_id=session.id, batch_size=700)
        for e in batch]
    assert [e.id for e in events] == seen
