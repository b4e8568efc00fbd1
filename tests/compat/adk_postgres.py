"""Run by google-adk 2.13's own interpreter (a subprocess of tests/test_postgres_compat.py).

Usage: python adk_postgres.py URL COMMAND [ARGS...]; prints one JSON document.

* ``prepare``: let ADK's DatabaseSessionService create its tables.
* ``write SESSION_ID``: create a session with state in every scope and two events (text,
  non-UTF-8 bytes, a function call, nested deltas).
* ``read SESSION_ID``: the session's state and events (model_dump in JSON mode).
* ``extend SESSION_ID``: load the session, append one event.
* ``stale-after SESSION_ID SIGNAL_FILE GO_FILE``: load the session, write SIGNAL_FILE,
  wait for GO_FILE, then append; report whether ADK raised StaleSessionError.
"""

import asyncio
import json
import pathlib
import sys
import time

from google.adk.errors import StaleSessionError
from google.adk.events import Event, EventActions
from google.adk.sessions import DatabaseSessionService
from google.genai import types

APP, USER = "compat", "user"


def dump(session):
    return {
        "state": session.state,
        "events": [e.model_dump(mode="json", exclude_none=True) for e in session.events],
        "marker": session._storage_update_marker,
    }


async def main(url, command, *args):
    service = DatabaseSessionService(url)
    try:
        if command == "prepare":
            await service.prepare_tables()
            return {}
        sid = args[0]
        if command == "write":
            session = await service.create_session(
                app_name=APP, user_id=USER, session_id=sid,
                state={"app:version": 2, "user:name": "Zoë", "topic": {"a": [1, 2.5]}})
            await service.append_event(session, Event(
                author="user", invocation_id="inv-adk",
                content=types.Content(role="user", parts=[
                    types.Part(text="héllo \U0001f600"),
                    types.Part(inline_data=types.Blob(
                        data=bytes([0xfb, 0xff, 0xfe, 0x3e, 0x3f, 0x00]),
                        mime_type="application/octet-stream"))]),
                actions=EventActions(state_delta={"user:seen": True,
                                                  "nested": {"x": {"y": None}},
                                                  "app:flag": "on"})))
            await service.append_event(session, Event(
                author="agent", invocation_id="inv-adk", branch="root.sub",
                custom_metadata={"k": [1, {"z": "w"}]},
                content=types.Content(role="model", parts=[types.Part(
                    function_call=types.FunctionCall(name="lookup", args={"q": "x"},
                                                     id="call-1"))]),
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
                actions=EventActions(state_delta={"adk_wrote": 1})))
            return dump(session)
        if command == "stale-after":
            session = await service.get_session(app_name=APP, user_id=USER, session_id=sid)
            pathlib.Path(args[1]).write_text("loaded")
            while not pathlib.Path(args[2]).exists():
                time.sleep(0.02)
            try:
                await service.append_event(session, Event(author="agent",
                                                          invocation_id="late"))
            except StaleSessionError:
                return {"stale": True}
            return {"stale": False}
        raise SystemExit(f"unknown command {command}")
    finally:
        await service.close()


print(json.dumps(asyncio.run(main(*sys.argv[1:]))))
