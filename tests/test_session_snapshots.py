"""Durable stores reload a session through their snapshot of it (issue 18): whatever
other service instances (as other processes would) did to the stored session, a load
returns exactly what a fresh service's full load returns.

Every test runs on a real SQLite file in both of google-adk's layouts, and on
PostgreSQL when it is reachable (``pg_fixtures``; skipped with the reason otherwise).
"""

# The suite asserts `expected == actual`.

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import trio
from hypothesis import HealthCheck, given, settings

from pg_fixtures import pg_database, pg_url  # noqa: F401
from store_contract import APP, USER, event
from trio_adk.errors import StaleSessionError
from trio_adk.sessions import BaseSessionService, GetSessionConfig, Session, SqliteSessionService
from trio_adk.sessions._storage._snapshots import SessionSnapshots

Opener = Callable[[], BaseSessionService]


@pytest.fixture(params=["sqlite-json", "sqlite-v1", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens another service on the same storage each time it is called."""
    if request.param == "postgres":
        from trio_adk.sessions import DatabaseSessionService

        url = request.getfixturevalue("pg_url")
        return lambda: DatabaseSessionService(url)
    if request.param == "sqlite-v1":
        url = f"sqlite+aiosqlite:///{tmp_path / 'v1.db'}"
        return lambda: SqliteSessionService._in_adk_database_layout(url)
    path = tmp_path / "sessions.db"
    return lambda: SqliteSessionService(path)


@contextlib.asynccontextmanager
async def services(opener: Opener, count: int) -> AsyncIterator[list[BaseSessionService]]:
    opened = [opener() for _ in range(count)]
    try:
        yield opened
    finally:
        for service in opened:
            await service.close()


async def load(service: BaseSessionService, sid: str,
               config: GetSessionConfig | None = None) -> Session:
    session = await service.get_session(app_name=APP, user_id=USER, session_id=sid,
                                        config=config)
    assert session is not None
    return session


async def append(service: BaseSessionService, sid: str, item: Any) -> None:
    """Append ``item`` through ``service`` on a copy it loads first."""
    await service.append_event(await load(service, sid), item)


async def full_load(opener: Opener, sid: str,
                    config: GetSessionConfig | None = None) -> Session:
    """What a service that never saw the session loads."""
    async with services(opener, 1) as (fresh,):
        return await load(fresh, sid, config)


def assert_same(expected: Session, actual: Session) -> None:
    assert [e.id for e in expected.events] == [e.id for e in actual.events]
    assert expected.events == actual.events
    assert expected.state == actual.state
    assert expected.last_update_time == actual.last_update_time
    assert expected._storage_update_marker == actual._storage_update_marker


async def test_appends_by_another_instance_are_seen_and_only_they_are_read(
        opener: Opener) -> None:
    async with services(opener, 2) as (mine, other):
        created = await mine.create_session(app_name=APP, user_id=USER)
        for i in range(5):
            await append(mine, created.id, event(text=f"mine {i}", delta={"n": i}))
        first = await load(mine, created.id)
        again = await load(mine, created.id)
        # A fresh list each time, the same (read-only) events.
        assert first.events is not again.events
        assert all(a is b for a, b in zip(first.events, again.events, strict=True))
        for i in range(3):
            await append(other, created.id, event(text=f"other {i}", delta={"o": i}))
        grown = await load(mine, created.id)
        assert 8 == len(grown.events)
        # The five it held are reused, not read again.
        assert all(a is b for a, b in zip(first.events, grown.events[:5], strict=False))
        assert_same(await full_load(opener, created.id), grown)
        # The copy appends (its marker is current).
        await mine.append_event(grown, event(text="after"))
        assert_same(await full_load(opener, created.id), await load(mine, created.id))


async def test_a_session_deleted_and_recreated_with_the_same_id_is_loaded_afresh(
        opener: Opener) -> None:
    async with services(opener, 2) as (mine, other):
        sid = f"s-{uuid.uuid4().hex}"
        await mine.create_session(app_name=APP, user_id=USER, session_id=sid,
                                  state={"k": "old"})
        for i in range(4):
            await append(mine, sid, event(text=f"old {i}"))
        old = await load(mine, sid)
        await other.delete_session(app_name=APP, user_id=USER, session_id=sid)
        await other.create_session(app_name=APP, user_id=USER, session_id=sid,
                                   state={"k": "new"})
        for i in range(6):
            await append(other, sid, event(text=f"new {i}"))
        new = await load(mine, sid)
        assert 6 == len(new.events) and "new" == new.state["k"]
        assert not {e.id for e in old.events} & {e.id for e in new.events}
        assert_same(await full_load(opener, sid), new)
        # Deleted by another instance: gone for this one too.
        await other.delete_session(app_name=APP, user_id=USER, session_id=sid)
        assert None is await mine.get_session(app_name=APP, user_id=USER, session_id=sid)


async def test_an_event_appended_elsewhere_earlier_in_the_order_is_in_its_place(
        opener: Opener) -> None:
    """Another writer's event whose timestamp sorts before the last one loaded (clocks
    of two processes, or an event built before it was appended)."""
    async with services(opener, 2) as (mine, other):
        created = await mine.create_session(app_name=APP, user_id=USER)
        base = time.time()
        for i in range(3):
            await append(mine, created.id, event(text=f"{i}", timestamp=base + 10 * i))
        await load(mine, created.id)
        await append(other, created.id, event(text="early", timestamp=base + 5))
        await append(other, created.id, event(text="late", timestamp=base + 100))
        loaded = await load(mine, created.id)
        texts = [e.content.parts[0].text for e in loaded.events if e.content and e.content.parts]
        assert ["0", "early", "1", "2", "late"] == texts
        assert_same(await full_load(opener, created.id), loaded)
        # Its own out-of-order append too.
        await append(mine, created.id, event(text="earlier", timestamp=base + 1))
        assert_same(await full_load(opener, created.id), await load(mine, created.id))


async def test_windows_still_apply(opener: Opener) -> None:
    async with services(opener, 2) as (mine, other):
        created = await mine.create_session(app_name=APP, user_id=USER)
        base = time.time()
        for i in range(6):
            await append(mine, created.id, event(text=f"{i}", timestamp=base + i))
        await load(mine, created.id)  # a snapshot is held
        await append(other, created.id, event(text="6", timestamp=base + 6))
        for config in (GetSessionConfig(num_recent_events=3),
                       GetSessionConfig(num_recent_events=0),
                       GetSessionConfig(after_timestamp=base + 4),
                       GetSessionConfig(num_recent_events=2, after_timestamp=base + 1)):
            windowed = await load(mine, created.id, config)
            assert_same(await full_load(opener, created.id, config), windowed)
        assert_same(await full_load(opener, created.id), await load(mine, created.id))


async def test_a_stale_copy_is_still_rejected_after_reloads(opener: Opener) -> None:
    async with services(opener, 2) as (mine, other):
        created = await mine.create_session(app_name=APP, user_id=USER)
        await append(mine, created.id, event(text="one"))
        copy = await load(mine, created.id)
        await append(other, created.id, event(text="two"))
        with pytest.raises(StaleSessionError):
            await mine.append_event(copy, event(text="stale"))
        fresh = await load(mine, created.id)
        await mine.append_event(fresh, event(text="three"))
        assert 3 == len((await load(mine, created.id)).events)


async def test_snapshots_are_bounded_by_events_held(opener: Opener) -> None:
    async with services(opener, 1) as (mine,):
        bounded = SessionSnapshots(max_events=5)
        mine._snapshots = bounded  # type: ignore[attr-defined]
        ids = []
        for n in (3, 2, 4):
            created = await mine.create_session(app_name=APP, user_id=USER)
            for i in range(n):
                await append(mine, created.id, event(text=f"{i}"))
            ids.append(created.id)
            await load(mine, created.id)
            assert bounded.held <= 5
        for sid in ids:
            assert_same(await full_load(opener, sid), await load(mine, sid))


# -- random interleavings --------------------------------------------------------------

# An operation: ("append", writer 0 or 1, timestamp skew), ("load", window or None),
# ("recreate",).  Writer 0 is the service whose loads are checked.
_op = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 1), st.integers(-3, 0)),
    st.tuples(st.just("load"), st.sampled_from([None, 0, 1, 3])),
    st.tuples(st.just("recreate")),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_op, min_size=1, max_size=14))
def test_random_interleavings_load_what_a_fresh_service_loads(
        opener: Opener, ops: list[tuple[Any, ...]]) -> None:
    async def main() -> None:
        sid = f"p-{uuid.uuid4().hex}"
        base = time.time()
        clock = 0
        async with services(opener, 2) as writers:
            await writers[0].create_session(app_name=APP, user_id=USER, session_id=sid)
            for op in ops:
                if op[0] == "append":
                    clock += 1
                    await append(writers[op[1]], sid, event(
                        text=f"{clock}", delta={"last": clock},
                        timestamp=base + clock + op[2]))
                elif op[0] == "recreate":
                    await writers[1].delete_session(app_name=APP, user_id=USER,
                                                    session_id=sid)
                    await writers[1].create_session(app_name=APP, user_id=USER,
                                                    session_id=sid)
                else:
                    config = None if op[1] is None else GetSessionConfig(
                        num_recent_events=op[1])
                    assert_same(await full_load(opener, sid, config),
                                await load(writers[0], sid, config))
            assert_same(await full_load(opener, sid), await load(writers[0], sid))

    trio.run(main)


@pytest.mark.parametrize("opener", ["sqlite-json", "sqlite-v1"], indirect=True)
async def test_sqlite_without_the_rowid_range_counts_instead(
        opener: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    """When more rows were stored since (in any session) than SQLite's service reads to
    find the new ones, it reads the rows after the snapshot and counts the session's
    rows: same results."""
    from trio_adk.sessions._sqlite import _service

    monkeypatch.setattr(_service, "_SCAN_BUDGET", 1)
    await test_appends_by_another_instance_are_seen_and_only_they_are_read(opener)
    await test_an_event_appended_elsewhere_earlier_in_the_order_is_in_its_place(opener)
    await test_a_session_deleted_and_recreated_with_the_same_id_is_loaded_afresh(opener)


def test_snapshots_grown_twice_from_one_keep_their_own_events() -> None:
    """Growing appends to the shared lists only at their end; a second growth of the
    same snapshot copies, so no snapshot ever sees another's events."""
    from trio_adk.sessions._storage._snapshots import Snapshot

    items = [event(text=str(i)) for i in range(5)]
    base = Snapshot.of("r0", items[:2], [0, 1])
    first = base.extended("r1", items[2:4], [2, 3])
    second = base.extended("r2", items[4:], [4])
    assert items[:2] == base.event_list()
    assert items[:4] == first.event_list()
    assert [*items[:2], items[4]] == second.event_list()
    assert (1, 3, 4) == (base.last_position(), first.last_position(),
                         second.last_position())
    copy = first.event_list()
    copy.append(items[0])
    assert items[:4] == first.event_list()
