"""google-adk 2.13 (its own interpreter, a subprocess) and trio-adk on one SQLite file,
in both of ADK's layouts: Sqlite-JSON (ADK's SqliteSessionService, the ``adk web``
default) and SQLAlchemy v1 (ADK's DatabaseSessionService on ``sqlite+aiosqlite://``).

Set TRIO_ADK_GOOGLE_ADK_PYTHON to an interpreter with google-adk 2.13 (and, for the v1
layout, ``sqlalchemy[asyncio]``).
"""

# The suite asserts `expected == actual`.

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio
from google.genai import types

from trio_adk.errors import StaleSessionError
from trio_adk.events import Event, EventActions
from trio_adk.sessions import Session, SqliteSessionService

_ADK_ENV = "TRIO_ADK_GOOGLE_ADK_PYTHON"
_SCRIPT = Path(__file__).parent / "compat" / "adk_sqlite.py"
APP, USER = "compat", "user"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get(_ADK_ENV),
                       reason=f"{_ADK_ENV} is not set (an interpreter with google-adk 2.13 "
                              "and sqlalchemy[asyncio])"),
]


async def adk(layout: str, path: Path, command: str, *args: str) -> dict[str, Any]:
    """Run tests/compat/adk_sqlite.py under google-adk's interpreter; its JSON answer."""
    done = await trio.run_process(
        [os.environ[_ADK_ENV], str(_SCRIPT), layout, str(path), command, *args],
        capture_stdout=True, capture_stderr=True, check=False)
    assert 0 == done.returncode, done.stderr.decode()[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def comparable(adk_event: dict[str, Any]) -> dict[str, Any]:
    """ADK's dump without the defaults it adds for fields trio-adk's Event lacks."""
    event = dict(adk_event)
    if event.get("node_info") == {"path": ""}:
        del event["node_info"]
    actions = dict(event.get("actions", {}))
    event["actions"] = actions
    return event


def ours(session: Session) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json", exclude_none=True) for e in session.events]


def our_event(text: str) -> Event:
    return Event(
        author="trio", invocation_id="inv-trio",
        content=types.Content(role="model", parts=[
            types.Part(text=text),
            types.Part(inline_data=types.Blob(mime_type="image/png",
                                              data=bytes([0xFB, 0xEF, 0xFF, 0x00])))]),
        actions=EventActions(state_delta={"trio": {"n": [1, None]}, "user:seen": False,
                                          "app:flag": None, "temp:scratch": 1},
                             artifact_delta={"a.png": 0}),
        custom_metadata={"from": "trio"})


@pytest.mark.parametrize("layout", ["json", "v1"])
async def test_adk_and_trio_adk_share_a_file(layout: str, tmp_path: Path) -> None:
    """ADK writes a session that trio-adk reads exactly and extends; ADK reads back what
    trio-adk wrote (its own session too) and extends it; trio-adk then sees ADK's write,
    and a copy loaded before it is stale.  For the Sqlite-JSON layout trio-adk creates
    the file (with its own indexes) and ADK opens it as its own."""
    path = tmp_path / "session.db"
    service = SqliteSessionService(path)
    try:
        if layout == "json":
            created = await service.create_session(app_name=APP, user_id=USER,
                                                   session_id="trio-1",
                                                   state={"app:made_by": "trio"})
        else:
            await adk(layout, path, "write", "warm-up")  # ADK creates its v1 file
        written = await adk(layout, path, "write", "adk-1")

        mine = await service.get_session(app_name=APP, user_id=USER, session_id="adk-1")
        assert mine is not None
        assert written["state"].items() <= mine.state.items()
        assert [comparable(e) for e in written["events"]] == ours(mine)
        assert written["last_update_time"] == mine.last_update_time
        assert bytes([0xFB, 0xFF, 0xFE, 0x3E, 0x3F, 0x00]) == \
            mine.events[0].content.parts[1].inline_data.data  # type: ignore[union-attr]
        await service.append_event(mine, our_event("from trio"))

        read = await adk(layout, path, "read", "adk-1")
        assert ours(mine) == [comparable(e) for e in read["events"]]
        assert {"trio": {"n": [1, None]}, "user:seen": False, "app:flag": None}.items() \
            <= read["state"].items()
        assert "temp:scratch" not in read["state"]

        if layout == "json":
            await service.append_event(created, our_event("own session"))
            theirs = await adk(layout, path, "read", "trio-1")
            assert ours(created) == [comparable(e) for e in theirs["events"]]
            assert "trio" == theirs["state"]["app:made_by"]

        stale = await service.get_session(app_name=APP, user_id=USER, session_id="adk-1")
        assert stale is not None
        extended = await adk(layout, path, "extend", "adk-1")
        assert 4 == len(extended["events"])
        fresh = await service.get_session(app_name=APP, user_id=USER, session_id="adk-1")
        assert fresh is not None
        assert [comparable(e) for e in extended["events"]] == ours(fresh)
        assert {"adk_wrote": 1, "user:adk": [2]}.items() <= fresh.state.items()
        with pytest.raises(StaleSessionError):
            await service.append_event(stale, our_event("stale"))
        await service.append_event(fresh, our_event("after adk"))
        assert 5 == len((await adk(layout, path, "read", "adk-1"))["events"])
    finally:
        await service.close()

    schema = (await adk(layout, path, "schema"))["schema"]
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    expected = {"app_states", "user_states", "sessions", "events"}
    if layout == "v1":
        expected.add("adk_internal_metadata")
    assert expected == tables
    assert "trio_adk_sessions_by_app_time" in schema


async def test_database_session_service_creates_adks_database_layout(tmp_path: Path) -> None:
    """``DatabaseSessionService("sqlite+aiosqlite:///...")`` (ADK's usual SQLite URL) on
    a new file creates the SQLAlchemy v1 layout ADK's service creates, which google-adk's
    DatabaseSessionService then reads and extends."""
    pytest.importorskip("psycopg", reason="DatabaseSessionService needs the postgres extra")
    from trio_adk.sessions import DatabaseSessionService

    path = tmp_path / "db.sqlite"
    service = DatabaseSessionService(f"sqlite+aiosqlite:///{path}")
    assert isinstance(service, SqliteSessionService)
    try:
        session = await service.create_session(app_name=APP, user_id=USER, session_id="t1",
                                                state={"user:lang": "fr"})
        await service.append_event(session, our_event("first"))
    finally:
        await service.close()
    with sqlite3.connect(path) as conn:
        assert [("schema_version", "1")] == conn.execute(
            "SELECT key, value FROM adk_internal_metadata").fetchall()
    read = await adk("v1", path, "read", "t1")
    assert ours(session) == [comparable(e) for e in read["events"]]
    assert "fr" == read["state"]["user:lang"]
    extended = await adk("v1", path, "extend", "t1")
    assert 2 == len(extended["events"])
