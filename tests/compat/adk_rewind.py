"""Run by google-adk 2.13's own interpreter (a subprocess of tests/test_rewind_compat.py).

Usage: python adk_rewind.py PATH COMMAND SESSION_ID [INVOCATION_ID]; prints one JSON
document.  PATH is a Sqlite-JSON file (ADK's SqliteSessionService).

* ``read``: the session's state and events (model_dump in JSON mode).
* ``rewind INVOCATION_ID``: ADK's own rewind of the session (the helper its
  ``Runner.rewind_async`` calls, without an artifact service), then ``read``.
"""

import asyncio
import json
import sys

from google.adk.sessions import _rewind_utils
from google.adk.sessions.sqlite_session_service import SqliteSessionService

APP, USER = "compat", "user"


def dump(session):
    return {
        "state": session.state,
        "events": [e.model_dump(mode="json", exclude_none=True) for e in session.events],
    }


async def main(path, command, sid, invocation_id=None):
    service = SqliteSessionService(path)
    try:
        session = await service.get_session(app_name=APP, user_id=USER, session_id=sid)
        if command == "rewind":
            await _rewind_utils.rewind_session(
                session_service=service, session=session,
                rewind_before_invocation_id=invocation_id, app_name=APP)
            session = await service.get_session(app_name=APP, user_id=USER,
                                                session_id=sid)
        elif command != "read":
            raise SystemExit(f"unknown command {command}")
        return dump(session)
    finally:
        await service.close()


print(json.dumps(asyncio.run(main(*sys.argv[1:]))))
