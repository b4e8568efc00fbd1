"""SqliteSessionService: the store contract, ADK's file layouts, paths and options."""

# The suite asserts `expected == actual`.

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from store_contract import *  # noqa: F403  (the contract's tests run here)
from store_contract import Reopen
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
