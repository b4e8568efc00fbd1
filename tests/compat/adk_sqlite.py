"""Run by google-adk 2.13's own interpreter (a subprocess of tests/test_sqlite_compat.py).

Usage: python adk_sqlite.py LAYOUT PATH COMMAND [SESSION_ID]; prints one JSON document.
LAYOUT is ``json`` (ADK's SqliteSessionService, the ``adk web`` default) or ``v1`` (its
DatabaseSessionService on ``sqlite+aiosqlite://``, which needs ``sqlalchemy[asyncio]``).

* ``write SESSION_ID``: create a session with state in every scope, then two events
  (text, non-UTF-8 bytes, a function call and its response, nested and null deltas).
* ``read SESSION_ID``: the session's state and events (model_dump in JSON mode).
* ``extend SESSION_ID``: load the session and append one event with a state delta.
* ``schema``: the file's tables and indexes (sqlite_master), after ADK opened it.
"""

import asyncio
import json
import sqlite3
import sys

from google.adk.events import Event, EventActions
from google.adk.sessions import DatabaseSessionService
from google.adk.sessions.sqlite_session_service import SqliteSessionService
from google.genai import types

APP, USER = "compat", "user"


def dump(session):
    return {
        "state": session.state,
        "events": [e.model_dump(mode="json", exclude_none=True) for e in session.events],
        "last_update_time": session.last_update_time,
    }


def service_for(layout, path):
    if layout == "json":
        return SqliteSessionService(path)
    return DatabaseSessionService(f"sqlite+aiosqlite:///{path}")


async def main(layout, path, command, sid=None):
    service = service_for(layout, path)
    try:
        if command == "schema":
            await service.list_sessions(app_name=APP)
            with sqlite3.connect(path) as conn:
                return {"schema": sorted(r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))}
        if command == "write":
            session = await service.create_session(
                app_name=APP, user_id=USER, session_id=sid,
                state={"app:version": 2, "user:name": "Zoë", "topic": {"a": [1, 2.5]},
                       "float": 2.0})
            await service.append_event(session, Event(
                author="user", invocation_id="inv-adk",
                content=types.Content(role="user", parts=[
                    types.Part(text="héllo \U0001f600"),
                    types.Part(inline_data=types.Blob(
                        data=bytes([0xFB, 0xFF, 0xFE, 0x3E, 0x3F, 0x00]),
                        mime_type="application/octet-stream"))]),
                actions=EventActions(state_delta={"user:seen": True,
                                                  "nested": {"x": {"y": None}},
                                                  "gone": None, "app:flag": "on"})))
            await service.append_event(session, Event(
                author="agent", invocation_id="inv-adk", branch="root.sub",
                custom_metadata={"k": [1, {"z": "w"}]},
                content=types.Content(role="model", parts=[
                    types.Part(function_call=types.FunctionCall(
                        name="lookup", args={"q": "x"}, id="call-1")),
                    types.Part(function_response=types.FunctionResponse(
                        name="lookup", response={"result": [1, None]}, id="call-1"))]),
                long_running_tool_ids={"call-1"}))
            return dump(session)
        if command == "read":
            session = await service.get_session(app_name=APP, user_id=USER, session_id=sid)
            return dump(session)
        if command == "extend":
            session = await service.get_session(app_name=APP, user_id=USER, session_id=sid)
            await service.append_event(session, Event(
                author="agent", invocation_id="inv-adk-2",
                content=types.Content(role="model", parts=[types.Part(text="from adk")]),
                actions=EventActions(state_delta={"adk_wrote": 1, "user:adk": [2]})))
            return dump(session)
        raise SystemExit(f"unknown command {command}")
    finally:
        await service.close()


print(json.dumps(asyncio.run(main(*sys.argv[1:]))))
