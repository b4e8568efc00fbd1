"""SqliteSessionService at size: 5,000 events in a session, 2,000 sessions to list.

No timings: the tests check that windows, batches and pages are correct, complete and
disjoint, and that SQLite answers them from an index (no table scan, no sort)."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from store_contract import APP, USER, event, fetch
from trio_adk.sessions import GetSessionConfig, SqliteSessionService

EVENTS = 5_000
SESSIONS = 2_000

pytestmark = pytest.mark.slow


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[SqliteSessionService]:
    service = SqliteSessionService(tmp_path / "big.db")
    try:
        yield service
    finally:
        await service.close()


def _plan(path: Path, sql: str, params: tuple[object, ...]) -> str:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return " | ".join(str(row[-1]) for row in rows)


async def test_five_thousand_events(service: SqliteSessionService, tmp_path: Path) -> None:
    """A 5,000-event session loads whole and in order; windows and batches are exact;
    the queries behind them read the events index in order."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="big")
    ids = []
    for i in range(EVENTS):
        # Timestamps repeat in pairs, so ties are broken by append order.
        appended = await service.append_event(
            session, event(text=str(i), timestamp=1_000.0 + i // 2,
                           delta={"n": i} if i % 100 == 0 else None))
        ids.append(appended.id)
    whole = await fetch(service, "big")
    assert ids == [e.id for e in whole.events]
    assert {"n": 4_900} == whole.state

    recent = await fetch(service, "big", config=GetSessionConfig(num_recent_events=101))
    assert ids[-101:] == [e.id for e in recent.events]
    after = await fetch(service, "big", config=GetSessionConfig(after_timestamp=3_400.0))
    assert ids[4_800:] == [e.id for e in after.events]
    both = await fetch(service, "big", config=GetSessionConfig(after_timestamp=3_400.0,
                                                                num_recent_events=7))
    assert ids[-7:] == [e.id for e in both.events]

    batches = [b async for b in service.iter_events(app_name=APP, user_id=USER,
                                                    session_id="big", batch_size=777)]
    assert [777] * 6 + [EVENTS - 6 * 777] == [len(b) for b in batches]
    assert ids == [e.id for b in batches for e in b]

    key = (APP, USER, "big")
    window = _plan(tmp_path / "big.db",
                   "SELECT event_data FROM events WHERE app_name = ? AND user_id = ? AND "
                   "session_id = ? AND timestamp >= ? ORDER BY timestamp DESC, rowid DESC "
                   "LIMIT ?", (*key, 0.0, 10))
    batch = _plan(tmp_path / "big.db",
                  "SELECT event_data FROM events WHERE app_name = ? AND user_id = ? AND "
                  "session_id = ? AND (timestamp, rowid) > (?, ?) ORDER BY timestamp, rowid "
                  "LIMIT ?", (*key, 0.0, 0, 10))
    for plan in (window, batch):
        assert "USING INDEX trio_adk_events_by_time" in plan
        assert "TEMP B-TREE" not in plan


async def test_two_thousand_sessions_page_completely(
    service: SqliteSessionService, tmp_path: Path,
) -> None:
    """2,000 sessions of 7 users, many with equal update times: pages (all users, one
    user) are complete, disjoint and in order; the page query reads an index in order."""
    expected = []
    for i in range(SESSIONS):
        user = f"user{i % 7}"
        sid = f"s{i:04}"
        session = await service.create_session(app_name=APP, user_id=user, session_id=sid,
                                               state={"user:seen": i})
        if i % 3:
            await service.append_event(session, event(text="x", timestamp=float(i % 50)))
        expected.append(sid)
    listed = (await service.list_sessions(app_name=APP)).sessions
    assert sorted(expected) == sorted(s.id for s in listed)
    for user_id, size in ((None, 150), ("user3", 37), (None, 1000)):
        pages = []
        token = None
        while True:
            page = await service.list_sessions(app_name=APP, user_id=user_id,
                                               page_size=size, page_token=token)
            pages.append(page.sessions)
            token = page.next_page_token
            if token is None:
                break
        flat = [s for page in pages for s in page]
        assert all(len(page) == size for page in pages[:-1])
        wanted = [s for s in listed if user_id in (None, s.user_id)]
        assert [s.id for s in wanted] == [s.id for s in flat]
        assert len({(s.user_id, s.id) for s in flat}) == len(flat)
        assert all(s.state["user:seen"] is not None for s in flat)
    plan = _plan(tmp_path / "big.db",
                 "SELECT id FROM sessions WHERE app_name = ? AND (update_time, user_id, id) "
                 "> (?, ?, ?) ORDER BY update_time, user_id, id LIMIT ?",
                 (APP, 0.0, "", "", 10))
    assert "INDEX trio_adk_sessions_by_app_time" in plan
    assert "TEMP B-TREE" not in plan
