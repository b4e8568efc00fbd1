"""ADK's v1 session schema on PostgreSQL, created exactly as google-adk 2.13 creates it.

The statements below give the same ``pg_dump --schema-only`` as a database prepared by
ADK's ``DatabaseSessionService`` (same tables, column order and types, NOT NULL,
constraint names, the cascading foreign key, the events index, and the
``adk_internal_metadata`` row ``schema_version = '1'``), so google-adk and trio-adk
nodes share one database.  Beyond ADK, two indexes on ``sessions`` serve
``list_sessions`` pages (ADK ignores indexes it does not declare, and still opens the
database: tested).
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from trio_adk.errors import UnsupportedStorageFormatError

SCHEMA_VERSION = "1"

# One key for "someone is preparing the schema", so two processes starting at once do
# not race their CREATE statements.
_DDL_LOCK_KEY = "trio_adk.sessions.schema"

TABLES = (
    """CREATE TABLE IF NOT EXISTS adk_internal_metadata (
        "key" VARCHAR(128) NOT NULL,
        value VARCHAR(256) NOT NULL,
        PRIMARY KEY ("key"))""",
    """CREATE TABLE IF NOT EXISTS app_states (
        app_name VARCHAR(128) NOT NULL,
        state JSONB NOT NULL,
        update_time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        PRIMARY KEY (app_name))""",
    """CREATE TABLE IF NOT EXISTS sessions (
        app_name VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        id VARCHAR(128) NOT NULL,
        state JSONB NOT NULL,
        create_time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        update_time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        PRIMARY KEY (app_name, user_id, id))""",
    """CREATE TABLE IF NOT EXISTS user_states (
        app_name VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        state JSONB NOT NULL,
        update_time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        PRIMARY KEY (app_name, user_id))""",
    """CREATE TABLE IF NOT EXISTS events (
        id VARCHAR(128) NOT NULL,
        app_name VARCHAR(128) NOT NULL,
        user_id VARCHAR(128) NOT NULL,
        session_id VARCHAR(128) NOT NULL,
        invocation_id VARCHAR(256) NOT NULL,
        "timestamp" TIMESTAMP WITHOUT TIME ZONE NOT NULL,
        event_data JSONB,
        PRIMARY KEY (id, app_name, user_id, session_id),
        FOREIGN KEY (app_name, user_id, session_id)
            REFERENCES sessions (app_name, user_id, id) ON DELETE CASCADE)""",
)

ADK_INDEXES = (
    """CREATE INDEX IF NOT EXISTS idx_events_app_user_session_ts_id
        ON events (app_name, user_id, session_id, "timestamp" DESC, id DESC)""",
)

# Ours: keyset pages of list_sessions, for one user and for every user of an app.
OWN_INDEXES = (
    """CREATE INDEX IF NOT EXISTS trio_adk_sessions_user_list_idx
        ON sessions (app_name, user_id, update_time, id)""",
    """CREATE INDEX IF NOT EXISTS trio_adk_sessions_app_list_idx
        ON sessions (app_name, update_time, user_id, id)""",
)
OWN_INDEX_PREFIX = "trio_adk_"

_MIGRATE = ("Convert it with google-adk's `adk migrate session --source_db_url ... "
            "--dest_db_url ...` (into a new database), then point trio-adk at the new one.")


def prepare(conn: psycopg.Connection[Any], describe: str, *, create_indexes: bool) -> None:
    """Check the layout and create what is missing, in one transaction under an
    advisory lock (idempotent; safe when several processes start at once).

    Runs in a worker thread.

    Raises:
        UnsupportedStorageFormatError: ADK's legacy v0 (pickle) layout, or a schema
            version this trio-adk does not know.
    """
    wanted = [*TABLES, *(OWN_INDEXES if create_indexes else ()), *ADK_INDEXES]
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                     (_DDL_LOCK_KEY,))
        _check_layout(conn, describe)
        # Only what is missing: CREATE INDEX locks its table in SHARE mode even when the
        # index exists, which would stall every writer of a live database whenever a
        # process starts, and deadlock with an append in flight (it locks sessions, then
        # events).  For the same reason indexes on sessions come before the one on events.
        for statement in wanted:
            if not _exists(conn, _created_name(statement)):
                conn.execute(statement)
        conn.execute(
            'INSERT INTO adk_internal_metadata ("key", value) VALUES (%s, %s) '
            'ON CONFLICT ("key") DO NOTHING', ("schema_version", SCHEMA_VERSION))


def _created_name(statement: str) -> str:
    match = re.search(r"IF NOT EXISTS\s+(\w+)", statement)
    assert match is not None, statement
    return match.group(1)


def _exists(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


def _check_layout(conn: psycopg.Connection[Any], describe: str) -> None:
    row = conn.execute("SELECT to_regclass('adk_internal_metadata') IS NOT NULL, "
                       "to_regclass('events') IS NOT NULL").fetchone()
    assert row is not None
    has_metadata, has_events = row
    if has_metadata:
        found = conn.execute(
            'SELECT value FROM adk_internal_metadata WHERE "key" = %s',
            ("schema_version",)).fetchone()
        if found is None:
            raise UnsupportedStorageFormatError(
                f"The database at {describe} has an adk_internal_metadata table without "
                "a schema_version row; it is damaged or not ADK's. Restore the row "
                "(schema_version = '1' for ADK's JSON layout) or use another database.")
        version = found[0]
        if version == "0":
            raise UnsupportedStorageFormatError(
                f"The database at {describe} uses ADK's legacy v0 session layout (events "
                f"pickled). trio-adk reads ADK's v1 (JSON) layout only. {_MIGRATE}")
        if version != SCHEMA_VERSION:
            raise UnsupportedStorageFormatError(
                f"The database at {describe} uses ADK session schema version {version!r};"
                f" this trio-adk reads version {SCHEMA_VERSION!r}. Upgrade trio-adk.")
        return
    if has_events:
        columns = {name for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'events' AND table_schema = current_schema()")}
        if "actions" in columns and "event_data" not in columns:
            raise UnsupportedStorageFormatError(
                f"The database at {describe} uses ADK's legacy v0 session layout (an "
                "events.actions column holding pickled actions, no event_data). "
                f"trio-adk reads ADK's v1 (JSON) layout only. {_MIGRATE}")
