"""SqliteSessionService: the store contract, ADK's file layouts, paths and options."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from store_contract import *  # noqa: F403  (the contract's tests run here)
from store_contract import APP, USER, Reopen, event, fetch
from trio_adk.errors import UnsupportedStorageFormatError
from trio_adk.sessions import BaseSessionService, SqliteSessionService


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[list[SqliteSessionService]]:
    services: list[SqliteSessionService] = []
    try:
        yield services
    finally:
        for service in services:
            await service.close()


@pytest.fixture
async def service(tmp_path: Path, opened: list[SqliteSessionService]) -> BaseSessionService:
    opened.append(SqliteSessionService(tmp_path / "sessions.db"))
    return opened[-1]


@pytest.fixture
def reopen(tmp_path: Path, opened: list[SqliteSessionService]) -> Reopen:
    async def again() -> BaseSessionService:
        opened.append(SqliteSessionService(str(tmp_path / "sessions.db")))
        return opened[-1]

    return again


# -- paths and options -----------------------------------------------------------------


async def test_path_forms_as_adk_takes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A path, a PathLike, sqlite:///relative, sqlite:////absolute and
    sqlite+aiosqlite:/// all name the same file (relative paths resolved when built)."""
    monkeypatch.chdir(tmp_path)
    forms = ["s.db", tmp_path / "s.db", "sqlite:///s.db", f"sqlite:///{tmp_path}/s.db",
             f"sqlite+aiosqlite:///{tmp_path}/s.db"]
    services = [SqliteSessionService(form) for form in forms]
    monkeypatch.chdir("/")
    first = services.pop(0)
    try:
        await first.create_session(app_name=APP, user_id=USER, session_id="s")
    finally:
        await first.close()
    for service in services:
        try:
            assert str(tmp_path / "s.db") == service.db_path
            assert await service.get_session(app_name=APP, user_id=USER,
                                             session_id="s") is not None
        finally:
            await service.close()


@pytest.mark.parametrize("form", ["", ":memory:", "sqlite://"])
async def test_memory_forms(form: str) -> None:
    """'', ':memory:' and 'sqlite://' give a private in-memory database."""
    service = SqliteSessionService(form)
    try:
        session = await service.create_session(app_name=APP, user_id=USER)
        await service.append_event(session, event(text="x", delta={"app:a": 1}))
        got = await fetch(service, session.id)
        assert (1, {"app:a": 1}) == (len(got.events), got.state)
    finally:
        await service.close()


def test_bad_arguments_are_named() -> None:
    """A wrong db_path type, synchronous value or busy_timeout raises at construction."""
    with pytest.raises(TypeError, match="db_path"):
        SqliteSessionService(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="synchronous"):
        SqliteSessionService(":memory:", synchronous="off")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="busy_timeout"):
        SqliteSessionService(":memory:", busy_timeout=-1)
    with pytest.raises(TypeError, match="busy_timeout"):
        SqliteSessionService(":memory:", busy_timeout="5")  # type: ignore[arg-type]


async def test_synchronous_full_and_wal(tmp_path: Path) -> None:
    """synchronous='full' works; files are in WAL mode; the ADK import path and the
    package export are the same class."""
    from trio_adk.sessions import sqlite_session_service

    assert sqlite_session_service.SqliteSessionService is SqliteSessionService
    service = SqliteSessionService(tmp_path / "s.db", synchronous="full")
    try:
        session = await service.create_session(app_name=APP, user_id=USER)
        await service.append_event(session, event(text="x"))
    finally:
        await service.close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert "wal" == conn.execute("PRAGMA journal_mode").fetchone()[0]


# -- ADK's layouts -----------------------------------------------------------------------

# google-adk 2.13's DatabaseSessionService tables on SQLite (as its SQLAlchemy models
# create them), for files written without google-adk installed.
V1_DDL = """
CREATE TABLE adk_internal_metadata ("key" VARCHAR(128) NOT NULL, value VARCHAR(256)
    NOT NULL, PRIMARY KEY ("key"));
CREATE TABLE sessions (app_name VARCHAR(128) NOT NULL, user_id VARCHAR(128) NOT NULL,
    id VARCHAR(128) NOT NULL, state TEXT NOT NULL, create_time DATETIME NOT NULL,
    update_time DATETIME NOT NULL, PRIMARY KEY (app_name, user_id, id));
CREATE TABLE app_states (app_name VARCHAR(128) NOT NULL, state TEXT NOT NULL,
    update_time DATETIME NOT NULL, PRIMARY KEY (app_name));
CREATE TABLE user_states (app_name VARCHAR(128) NOT NULL, user_id VARCHAR(128) NOT NULL,
    state TEXT NOT NULL, update_time DATETIME NOT NULL, PRIMARY KEY (app_name, user_id));
CREATE TABLE events (id VARCHAR(128) NOT NULL, app_name VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL, session_id VARCHAR(128) NOT NULL,
    invocation_id VARCHAR(256) NOT NULL, timestamp DATETIME NOT NULL, event_data TEXT,
    PRIMARY KEY (id, app_name, user_id, session_id),
    FOREIGN KEY(app_name, user_id, session_id) REFERENCES sessions (app_name, user_id, id)
    ON DELETE CASCADE);
INSERT INTO adk_internal_metadata VALUES ('schema_version', '1');
INSERT INTO sessions VALUES ('contract_app', 'contract_user', 'old', '{"k": 1}',
    '2026-12-05 07:51:55', '2026-12-05 07:51:56.250000');
INSERT INTO app_states VALUES ('contract_app', '{"a": 2.0}', '2026-12-05 07:51:55');
INSERT INTO user_states VALUES ('contract_app', 'contract_user', '{"u": null}',
    '2026-12-05 07:51:55');
INSERT INTO events VALUES ('e1', 'contract_app', 'contract_user', 'old', 'inv',
    '2026-12-05 07:51:56.250000', '{"author": "model", "content": {"role": "model",
    "parts": [{"text": "from adk"}]}, "actions": {"state_delta": {}}, "id": "e1",
    "invocation_id": "inv", "timestamp": 1796457116.25}');
INSERT INTO events VALUES ('e0', 'contract_app', 'contract_user', 'old', 'inv',
    '2026-12-05 07:51:55', '{"author": "user"}');
"""


async def test_v1_layout_is_read_and_kept(tmp_path: Path) -> None:
    """A file in ADK's SQLAlchemy v1 layout is read (whole-second and microsecond
    DATETIME text; key columns win over the document) and written in that layout: DATETIME text with
    microseconds, JSON as json.dumps writes it, app and user rows for every session."""
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_DDL)
    service = SqliteSessionService(path)
    try:
        old = await fetch(service, "old")
        assert {"k": 1, "app:a": 2.0, "user:u": None} == old.state
        assert ["e0", "e1"] == [e.id for e in old.events]
        assert 1796457115.0 == old.events[0].timestamp
        assert 1796457116.25 == old.last_update_time
        await service.append_event(old, event(text="ours", timestamp=1796457200.5,
                                              delta={"k": 2, "app:b": [1]}))
        await service.create_session(app_name=APP, user_id="new_user", session_id="new")
        assert ["e0", "e1", old.events[-1].id] == [e.id for e in
                                                 (await fetch(service, "old")).events]
    finally:
        await service.close()
    with sqlite3.connect(path) as conn:
        assert [("2026-12-05 07:53:20.500000",)] == conn.execute(
            "SELECT update_time FROM sessions WHERE id = 'old'").fetchall()
        assert [('{"k": 2}',)] == conn.execute(
            "SELECT state FROM sessions WHERE id = 'old'").fetchall()
        assert [('{"a": 2.0, "b": [1]}',)] == conn.execute(
            "SELECT state FROM app_states").fetchall()
        assert [("{}",)] == conn.execute(
            "SELECT state FROM user_states WHERE user_id = 'new_user'").fetchall()
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "idx_events_app_user_session_ts_id" in names
        assert "trio_adk_events_by_time" not in names


def test_v1_page_token_times_round_trip() -> None:
    """v1 timestamps survive text -> epoch float -> text, to the microsecond (page
    tokens carry the float)."""
    from trio_adk.sessions._sqlite._layout import V1

    for text in ("2026-12-05 07:51:56.250000", "2026-12-05 07:51:56.999999",
                 "2038-01-19 03:14:08.000001", "1999-12-31 23:59:59.123457"):
        assert text == V1.time_to_db(V1.time_from_db(text))


async def test_v0_layout_is_refused_with_the_migration_command(tmp_path: Path) -> None:
    """ADK's legacy v0 layout (events.actions pickles, no event_data) raises
    UnsupportedStorageFormatError naming `adk migrate session`, and is left untouched."""
    path = tmp_path / "v0.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("""
            CREATE TABLE sessions (app_name VARCHAR(128), user_id VARCHAR(128),
                id VARCHAR(128), state TEXT, create_time DATETIME, update_time DATETIME);
            CREATE TABLE events (id VARCHAR(128), app_name VARCHAR(128),
                user_id VARCHAR(128), session_id VARCHAR(128), invocation_id VARCHAR(256),
                author VARCHAR(256), actions BLOB, timestamp DATETIME);
        """)
    before = path.read_bytes()
    for service in (SqliteSessionService(path), SqliteSessionService(f"sqlite:///{path}")):
        try:
            with pytest.raises(UnsupportedStorageFormatError,
                               match="adk migrate session") as caught:
                await service.list_sessions(app_name=APP)
            assert str(path) in str(caught.value)
        finally:
            await service.close()
    assert before == path.read_bytes()


async def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    """A schema version other than 1 in adk_internal_metadata is refused, named."""
    path = tmp_path / "v9.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_DDL.replace("'schema_version', '1'", "'schema_version', '9'"))
    service = SqliteSessionService(path)
    try:
        with pytest.raises(UnsupportedStorageFormatError, match="'9'"):
            await service.get_user_state(app_name=APP, user_id=USER)
    finally:
        await service.close()


async def test_reloads_reuse_decoded_events_but_never_stale_ones(tmp_path: Path) -> None:
    """A reload gives the same (read-only, shared) Event objects for unchanged rows, and
    a row written again with other content (same event id) is decoded anew."""
    service = SqliteSessionService(tmp_path / "s.db")
    try:
        session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
        first = event(text="one")
        await service.append_event(session, first)
        loaded = await fetch(service, "s")
        assert loaded.events[0] is (await fetch(service, "s")).events[0]
        await service.delete_session(app_name=APP, user_id=USER, session_id="s")
        session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
        again = event(text="two")
        again.id = first.id
        await service.append_event(session, again)
        assert [again] == (await fetch(service, "s")).events
    finally:
        await service.close()
