"""A fresh PostgreSQL database per test module (skipped with a reason when unreachable)."""

from __future__ import annotations

import contextlib
import pathlib
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

PG_HOST = "127.0.0.1"
PG_PORT = 5432
ADMIN_URL = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test"


def _admin_connect():  # type: ignore[no-untyped-def]
    psycopg = pytest.importorskip("psycopg", reason="psycopg (the 'postgres' extra) is "
                                  "not installed")
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}: "
                    f"{str(exc).strip()}")


def create_database() -> str:
    """A new empty database; its name."""
    name = f"trio_adk_test_{secrets.token_hex(6)}"
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    with _admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def url_for(name: str, *, scheme: str = "postgresql", password: str | None = None) -> str:
    user = "postgres" if password is None else f"postgres:{password}"
    return f"{scheme}://{user}@{PG_HOST}:{PG_PORT}/{name}"


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """The name of a database of this test module's own, dropped afterwards."""
    name = create_database()
    try:
        yield name
    finally:
        drop_database(name)


@pytest.fixture(scope="module")
def pg_url(pg_database: str) -> str:
    return url_for(pg_database)


STORE_KINDS = ["memory", "sqlite", "postgres"]


@contextlib.asynccontextmanager
async def open_store(kind: str, request: pytest.FixtureRequest,
                     tmp_path: pathlib.Path) -> AsyncIterator[Any]:
    """A session store of ``kind`` on fresh storage, closed afterwards: in memory, a
    SQLite file under ``tmp_path``, or PostgreSQL in the module's database (the
    ``pg_url`` fixture; skipped without a server)."""
    from trio_adk.sessions import InMemorySessionService, SqliteSessionService

    service: Any
    if kind == "memory":
        service = InMemorySessionService()
    elif kind == "sqlite":
        service = SqliteSessionService(tmp_path / "sessions.db")
    else:
        from trio_adk.sessions.database_session_service import DatabaseSessionService

        service = DatabaseSessionService(request.getfixturevalue("pg_url"))
    try:
        yield service
    finally:
        await service.close()
