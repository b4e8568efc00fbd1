"""google-adk 2.13 (its own interpreter, a subprocess) and trio-adk rewinding one
session history stored in ADK's Sqlite-JSON file.

Set TRIO_ADK_GOOGLE_ADK_PYTHON to an interpreter with google-adk 2.13.
"""

# The suite asserts `expected == actual`.

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_adk._rewind import rewind_session
from trio_adk.events import Event, EventActions
from trio_adk.events._rewinds import without_rewound
from trio_adk.sessions import SqliteSessionService

_ADK_ENV = "TRIO_ADK_GOOGLE_ADK_PYTHON"
_SCRIPT = Path(__file__).parent / "compat" / "adk_rewind.py"
APP, USER, SID = "compat", "user", "s1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get(_ADK_ENV),
                       reason=f"{_ADK_ENV} is not set (an interpreter with google-adk 2.13)"),
]


async def adk(path: Path, command: str, *args: str) -> dict[str, Any]:
    """Run tests/compat/adk_rewind.py under google-adk's interpreter; its JSON answer."""
    done = await trio.run_process(
        [os.environ[_ADK_ENV], str(_SCRIPT), str(path), command, SID, *args],
        capture_stdout=True, capture_stderr=True, check=False)
    assert 0 == done.returncode, done.stderr.decode()[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def ev(invocation: str, delta: dict[str, Any]) -> Event:
    return Event(author="agent", invocation_id=invocation,
                 actions=EventActions(state_delta=delta))


async def test_adk_reads_and_agrees_with_our_rewind(tmp_path: Path) -> None:
    """trio-adk rewinds a history; google-adk reads the same state and the rewind event
    (its field included) from the file, and ADK's own rewind of a copy of the history
    computes the same state delta and the same state, up to the keys it keeps as null
    where trio-adk removes them."""
    ours_path, theirs_path = tmp_path / "ours.db", tmp_path / "theirs.db"
    service = SqliteSessionService(ours_path)
    try:
        session = await service.create_session(app_name=APP, user_id=USER, session_id=SID,
                                               state={"user:u": 0})
        for event in (ev("inv1", {"a": 1, "b": [1, {"c": None}], "gone": 0}),
                      ev("inv1", {"gone": None}),
                      ev("inv2", {"a": 2, "b": None, "new": "x", "user:u": 1}),
                      ev("inv3", {"later": True})):
            await service.append_event(session, event)
        await service.close()
        shutil.copyfile(ours_path, theirs_path)
        service = SqliteSessionService(ours_path)
        rewind = await rewind_session(
            session_service=service, artifact_service=None, app_name=APP, user_id=USER,
            session_id=SID, rewind_before_invocation_id="inv2")
        ours = await service.get_session(app_name=APP, user_id=USER, session_id=SID)
        assert ours is not None
    finally:
        await service.close()

    expected_state = {"a": 1, "b": [1, {"c": None}], "gone": None, "user:u": 1}
    assert expected_state == ours.state
    read = await adk(ours_path, "read")
    assert expected_state == read["state"]
    read_actions = read["events"][-1]["actions"]
    assert "inv2" == read_actions["rewind_before_invocation_id"]
    assert rewind.actions.state_delta == read_actions["state_delta"]
    assert rewind.id == read["events"][-1]["id"]

    theirs = await adk(theirs_path, "rewind", "inv2")
    their_event = theirs["events"][-1]
    assert "user" == their_event["author"]
    # ADK's replay reads inv1's null for "gone" as a removal, so its rewind "removes"
    # it (stores null); otherwise the deltas agree.  ADK keeps its rewind's nulls.
    assert {**rewind.actions.state_delta, "gone": None} == their_event["actions"][
        "state_delta"]
    assert {**expected_state, "new": None, "later": None} == theirs["state"]

    # trio-adk reads ADK's rewind: same live history, ADK's nulls as stored.
    reread = SqliteSessionService(theirs_path)
    try:
        copy = await reread.get_session(app_name=APP, user_id=USER, session_id=SID)
    finally:
        await reread.close()
    assert copy is not None
    assert theirs["state"] == copy.state
    assert (["inv1", "inv1"] == [e.invocation_id for e in without_rewound(copy.events)]
            == [e.invocation_id for e in without_rewound(ours.events)])
