"""The two SQLite layouts google-adk 2.13 writes, and how to tell them (and v0) apart.

* **Sqlite-JSON** (ADK's ``SqliteSessionService``, the ``adk web`` default
  ``<agent>/.adk/session.db``): ``REAL`` epoch timestamps, ``event_data`` as compact
  JSON text, no metadata table.  New files are created in this layout.
* **SQLAlchemy v1** (ADK's ``DatabaseSessionService`` on ``sqlite+aiosqlite://``): an
  ``adk_internal_metadata`` table holding ``schema_version = '1'``, timestamps as
  naive-UTC ``DATETIME`` text (``YYYY-MM-DD HH:MM:SS.ffffff``, or whole seconds where
  SQLite's ``CURRENT_TIMESTAMP`` filled them), JSON written by ``json.dumps``.  App and
  user state rows must exist before ADK appends, so this layout always creates them.
* **v0** (ADK 1.19 to 1.21): one column per event field and pickled actions; refused.

A layout object turns Python values into column values and back; the service's SQL is
the same for both apart from the event order's tie-breaker (``rowid`` in Sqlite-JSON,
as ADK's SQLite service; ``id`` in v1, as its SQLAlchemy service).
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from typing import Any

import attrs

from trio_adk.errors import UnsupportedStorageFormatError

# Sqlite-JSON: the tables exactly as google-adk 2.13's SqliteSessionService creates them
# (column names, types, constraints and order), so either program can create the file.
JSON_TABLES = (
    """CREATE TABLE IF NOT EXISTS app_states (
    app_name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    update_time REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS user_states (
    app_name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    state TEXT NOT NULL,
    update_time REAL NOT NULL,
    PRIMARY KEY (app_name, user_id)
)""",
    """CREATE TABLE IF NOT EXISTS sessions (
    app_name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    id TEXT NOT NULL,
    state TEXT NOT NULL,
    create_time REAL NOT NULL,
    update_time REAL NOT NULL,
    PRIMARY KEY (app_name, user_id, id)
)""",
    """CREATE TABLE IF NOT EXISTS events (
    id TEXT NOT NULL,
    app_name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    invocation_id TEXT NOT NULL,
    timestamp REAL NOT NULL,
    event_data TEXT NOT NULL,
    PRIMARY KEY (app_name, user_id, session_id, id),
    FOREIGN KEY (app_name, user_id, session_id) REFERENCES sessions(app_name, user_id, id) \
ON DELETE CASCADE
)""",
)

# SQLAlchemy v1: the tables google-adk 2.13's DatabaseSessionService creates on SQLite
# (its models in sessions/schemas/v1.py, as SQLAlchemy renders them), for new files
# opened through a sqlite+aiosqlite:// URL.
V1_TABLES = (
    """CREATE TABLE adk_internal_metadata (
    "key" VARCHAR(128) NOT NULL,
    value VARCHAR(256) NOT NULL,
    PRIMARY KEY ("key")
)""",
    """CREATE TABLE sessions (
    app_name VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    id VARCHAR(128) NOT NULL,
    state TEXT NOT NULL,
    create_time DATETIME NOT NULL,
    update_time DATETIME NOT NULL,
    PRIMARY KEY (app_name, user_id, id)
)""",
    """CREATE TABLE app_states (
    app_name VARCHAR(128) NOT NULL,
    state TEXT NOT NULL,
    update_time DATETIME NOT NULL,
    PRIMARY KEY (app_name)
)""",
    """CREATE TABLE user_states (
    app_name VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    state TEXT NOT NULL,
    update_time DATETIME NOT NULL,
    PRIMARY KEY (app_name, user_id)
)""",
    """CREATE TABLE events (
    id VARCHAR(128) NOT NULL,
    app_name VARCHAR(128) NOT NULL,
    user_id VARCHAR(128) NOT NULL,
    session_id VARCHAR(128) NOT NULL,
    invocation_id VARCHAR(256) NOT NULL,
    timestamp DATETIME NOT NULL,
    event_data TEXT,
    PRIMARY KEY (id, app_name, user_id, session_id),
    FOREIGN KEY(app_name, user_id, session_id) REFERENCES sessions (app_name, user_id, id) \
ON DELETE CASCADE
)""",
    "INSERT INTO adk_internal_metadata (\"key\", value) VALUES ('schema_version', '1')",
)

# Our own indexes (google-adk ignores indexes it did not declare).  Events: a session's
# events in (timestamp, rowid) order straight from the index (every SQLite index ends
# with the rowid), for windows and batches.  Sessions: list order per app and per user.
JSON_INDEXES = (
    "CREATE INDEX IF NOT EXISTS trio_adk_events_by_time "
    "ON events (app_name, user_id, session_id, timestamp)",
)
SESSION_INDEXES = (
    "CREATE INDEX IF NOT EXISTS trio_adk_sessions_by_app_time "
    "ON sessions (app_name, update_time, user_id, id)",
    "CREATE INDEX IF NOT EXISTS trio_adk_sessions_by_user_time "
    "ON sessions (app_name, user_id, update_time, id)",
)
# v1: the events index google-adk's DatabaseSessionService declares itself (older v1
# files may lack it; ADK creates the same one when it next prepares its tables).
V1_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_events_app_user_session_ts_id "
    "ON events (app_name, user_id, session_id, timestamp DESC, id DESC)",
)

_V1_TEXT_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_MIGRATE_HINT = (
    "Convert it with google-adk's `adk migrate session --source_db_url "
    "sqlite:///{path} --dest_db_url sqlite:///{path}.v1` (then open the new file), or "
    "`python -m google.adk.sessions.migration.migrate_from_sqlalchemy_sqlite`."
)


@attrs.frozen
class Layout:
    """How one of ADK's layouts stores times and JSON; see the module docstring."""

    name: str
    # The column that breaks timestamp ties in event order ("rowid" or "id").
    tie: str
    # JSON text as google-adk writes it in this layout.
    compact_json: bool

    def time_to_db(self, timestamp: float) -> float | str:
        """A timestamp column value for ``timestamp`` (epoch seconds)."""
        if self is JSON:
            return timestamp
        moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
        return moment.replace(tzinfo=None).strftime(_V1_TEXT_FORMAT)

    def time_from_db(self, value: Any) -> float:
        """Epoch seconds from a timestamp column value (REAL, or v1's naive-UTC text in
        either the microsecond or the whole-second form)."""
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, bytes):
            value = value.decode()
        if not isinstance(value, str):
            raise ValueError(f"timestamp column holds {value!r}")
        moment = datetime.datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        return moment.timestamp()

    def marker_text(self, value: Any) -> str:
        """The exact text of an ``update_time`` column value, for equality markers."""
        if isinstance(value, float | int):
            return repr(float(value))
        return str(value)

    def dumps(self, value: Any) -> str:
        """JSON text as google-adk writes it in this layout."""
        if self.compact_json:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return json.dumps(value)


JSON = Layout(name="Sqlite-JSON", tie="rowid", compact_json=True)
V1 = Layout(name="SQLAlchemy v1", tie="id", compact_json=False)


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    return {str(row[1]): str(row[2]).upper() for row in rows}


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(row[0]) for row in rows}


def detect_layout(conn: sqlite3.Connection, path: str) -> Layout | None:
    """The layout of the file ``conn`` has open, or ``None`` when it has no ADK tables
    yet (a new file).

    Raises:
        UnsupportedStorageFormatError: ADK's legacy v0 pickle layout, a schema version
            newer than 1, or tables that match no layout.
    """
    tables = _tables(conn)
    if "adk_internal_metadata" in tables:
        row = conn.execute(
            "SELECT value FROM adk_internal_metadata WHERE key = 'schema_version'"
        ).fetchone()
        version = None if row is None else str(row[0])
        if version == "1":
            return V1
        if version == "0":
            raise _v0_error(path)
        raise UnsupportedStorageFormatError(
            f"Session database {path} has ADK schema version {version!r} in "
            "adk_internal_metadata; trio-adk reads and writes version '1' (google-adk "
            "2.13's SQLAlchemy layout) and google-adk's SqliteSessionService layout. Open "
            "it with the google-adk version that wrote it, or convert it to one of those."
        )
    if "events" not in tables:
        return None
    columns = _columns(conn, "events")
    if "event_data" in columns:
        if columns.get("timestamp") == "REAL":
            return JSON
        return V1  # ADK's v1 tables without their metadata row (DATETIME timestamps)
    if "actions" in columns:
        raise _v0_error(path)
    raise UnsupportedStorageFormatError(
        f"Session database {path} has an events table without an event_data column "
        f"(columns: {', '.join(sorted(columns))}); it is not a google-adk session "
        "database trio-adk can use. Point SqliteSessionService at another file."
    )


def _v0_error(path: str) -> UnsupportedStorageFormatError:
    return UnsupportedStorageFormatError(
        f"Session database {path} uses google-adk's legacy v0 layout (event actions "
        "stored as pickles), which trio-adk does not read. "
        + _MIGRATE_HINT.format(path=path)
    )


def create_tables(conn: sqlite3.Connection, layout: Layout) -> None:
    """Create ``layout``'s tables in a new file (inside the caller's write transaction)."""
    for statement in JSON_TABLES if layout is JSON else V1_TABLES:
        conn.execute(statement)


def create_indexes(conn: sqlite3.Connection, layout: Layout) -> None:
    """Create the indexes this service reads through (inside the caller's transaction)."""
    for statement in (*(JSON_INDEXES if layout is JSON else V1_INDEXES), *SESSION_INDEXES):
        conn.execute(statement)
