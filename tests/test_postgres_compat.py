"""google-adk 2.13 (its own interpreter, a subprocess) and trio-adk on one PostgreSQL.

Set TRIO_ADK_GOOGLE_ADK_PYTHON to an interpreter with google-adk 2.13,
``sqlalchemy[asyncio]`` and ``asyncpg`` installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import trio
from google.genai import types

from pg_fixtures import create_database, drop_database, pg_database, pg_url, url_for  # noqa: F401
from trio_adk.errors import StaleSessionError
from trio_adk.events import Event, EventActions

psycopg = pytest.importorskip("psycopg")

from trio_adk.sessions.database_session_service import DatabaseSessionService  # noqa: E402

_ADK_ENV = "TRIO_ADK_GOOGLE_ADK_PYTHON"
_SCRIPT = Path(__file__).parent / "compat" / "adk_postgres.py"
APP, USER = "compat", "user"

pytestmark = pytest.mark.skipif(
    not os.environ.get(_ADK_ENV),
    reason=f"{_ADK_ENV} is not set (an interpreter with google-adk 2.13, sqlalchemy[asyncio] "
           "and asyncpg)")


async def adk(url: str, *args: str) -> dict[str, Any]:
    adk_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    done = await trio.run_process([os.environ[_ADK_ENV], str(_SCRIPT), adk_url, *args],
                                  capture_stdout=True, capture_stderr=True, check=False)
    assert 0 == done.returncode, done.stderr.decode()[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def _comparable(adk_event: dict[str, Any]) -> dict[str, Any]:
    """ADK 2.13's dump without the fields trio-adk's Event does not model (ADK fills
    them with a default: node_info)."""
    event = dict(adk_event)
    if event.get("node_info") == {"path": ""}:
        del event["node_info"]
    actions = dict(event.get("actions", {}))
    event["actions"] = actions
    return event


def _schema(name: str) -> str:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    text = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--schema-only", name],
        capture_output=True, text=True, check=True).stdout
    return "\n".join(line for line in text.splitlines()
                     if line.strip() and not line.startswith(("--", "\\restrict",
                                                               "\\unrestrict")))


async def test_our_tables_are_adks_tables_byte_for_byte() -> None:
    """pg_dump --schema-only of a database ADK prepared equals ours (our two list
    indexes aside, and ADK opens and writes a database that has them)."""
    theirs, ours = create_database(), create_database()
    try:
        await adk(url_for(theirs), "prepare")
        service = DatabaseSessionService(url_for(ours))
        try:
            await service.prepare_tables()
        finally:
            await service.close()
        own = re.compile(r"CREATE INDEX trio_adk_\w+ ON public\.sessions .*\n?")
        ours_dump = _schema(ours)
        assert 2 == len(own.findall(ours_dump))
        assert _schema(theirs) == own.sub("", ours_dump)
        written = await adk(url_for(ours), "write", "in-ours")
        assert 2 == len(written["events"])
    finally:
        drop_database(theirs)
        drop_database(ours)


async def test_adk_writes_we_read_and_extend_adk_reads_back(pg_url: str) -> None:  # noqa: F811
    written = await adk(pg_url, "write", "from-adk")
    service = DatabaseSessionService(pg_url)
    try:
        session = await service.get_session(app_name=APP, user_id=USER,
                                            session_id="from-adk")
        assert session is not None
        assert written["state"] == session.state
        assert written["marker"] == session._storage_update_marker
        assert [_comparable(e) for e in written["events"]] == [
            e.model_dump(mode="json", exclude_none=True) for e in session.events]
        blob = session.events[0].content.parts[1].inline_data
        assert bytes([0xfb, 0xff, 0xfe, 0x3e, 0x3f, 0x00]) == blob.data
        ours = Event(author="agent", invocation_id="inv-trio",
                     content=types.Content(role="model", parts=[
                         types.Part(text="from trio"),
                         types.Part(inline_data=types.Blob(data=b"\x80\x81",
                                                           mime_type="x/bin"))]),
                     actions=EventActions(state_delta={"user:name": "Ada", "app:n": 3,
                                                       "topic": None, "temp:t": 1}))
        await service.append_event(session, ours)
        back = await adk(pg_url, "read", "from-adk")
        assert {k: v for k, v in session.state.items() if not k.startswith("temp:")} == (
            back["state"])
        assert _comparable(back["events"][-1]) == ours.model_dump(mode="json",
                                                                  exclude_none=True)
        assert session._storage_update_marker == back["marker"]
        # ADK appends after us, on its fresh copy; we see it.
        await adk(pg_url, "extend", "from-adk")
        again = await service.get_session(app_name=APP, user_id=USER, session_id="from-adk")
        assert again is not None
        assert ["from adk"] == [p.text for p in again.events[-1].content.parts]
        assert 1 == again.state["adk_wrote"]
    finally:
        await service.close()


async def test_stale_writers_are_detected_across_frameworks(
        pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    service = DatabaseSessionService(pg_url)
    try:
        await service.create_session(app_name=APP, user_id=USER, session_id="mixed")
        # ADK loads, we write, ADK's append is stale.
        loaded, go = tmp_path / "loaded", tmp_path / "go"
        async with trio.open_nursery() as nursery:
            result: dict[str, Any] = {}

            async def adk_side() -> None:
                result.update(await adk(pg_url, "stale-after", "mixed", str(loaded),
                                        str(go)))

            nursery.start_soon(adk_side)
            while not loaded.exists():
                await trio.sleep(0.02)
            ours = await service.get_session(app_name=APP, user_id=USER, session_id="mixed")
            assert ours is not None
            await service.append_event(ours, Event(author="agent", invocation_id="t"))
            go.write_text("go")
        assert {"stale": True} == result
        # We load, ADK writes, our append is stale.
        mine = await service.get_session(app_name=APP, user_id=USER, session_id="mixed")
        assert mine is not None
        await adk(pg_url, "extend", "mixed")
        with pytest.raises(StaleSessionError):
            await service.append_event(mine, Event(author="agent", invocation_id="late"))
    finally:
        await service.close()
