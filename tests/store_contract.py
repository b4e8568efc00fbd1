"""The contract every durable session store keeps, as tests a store's module imports.

A test module that imports these (``from store_contract import *``) provides two
fixtures: ``service`` (an open store on fresh storage) and ``reopen`` (a callable that
opens another service on the same storage; the module closes what it opens).  The
tests state behaviour ADK's stores have, and what trio-adk's durable stores add:
stale copies rejected by equality of revisions, pages that are complete and disjoint,
events that round-trip exactly.
"""

# The suite asserts `expected == actual`.

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
from google.genai import types

from trio_adk.errors import AlreadyExistsError, SessionNotFoundError, StaleSessionError
from trio_adk.events import Event, EventActions
from trio_adk.sessions import BaseSessionService, GetSessionConfig, Session

APP = "contract_app"
USER = "contract_user"

Reopen = Callable[[], Awaitable[BaseSessionService]]

__all__ = [
    "test_contract_append_to_deleted_session_raises",
    "test_contract_caller_copy_unchanged_when_append_fails",
    "test_contract_create_get_delete",
    "test_contract_duplicate_event_id_is_refused",
    "test_contract_equal_timestamps_are_not_stale",
    "test_contract_events_round_trip_exactly",
    "test_contract_get_session_windows",
    "test_contract_handmade_copy_is_checked_by_last_event",
    "test_contract_history_survives_reopen",
    "test_contract_iter_events_batches",
    "test_contract_list_pages_are_complete_and_disjoint",
    "test_contract_non_json_state_is_refused_before_storing",
    "test_contract_stale_after_equal_timestamp_append",
    "test_contract_stale_copy_is_rejected",
    "test_contract_state_scopes_and_nulls",
    "test_contract_temp_state_reaches_copy_not_storage",
]


def event(*, text: str | None = None, delta: dict[str, Any] | None = None,
          timestamp: float | None = None, author: str = "agent") -> Event:
    """An event with optional text and state delta."""
    kwargs: dict[str, Any] = {}
    if timestamp is not None:
        kwargs["timestamp"] = timestamp
    content = (types.Content(role="model", parts=[types.Part(text=text)])
               if text is not None else None)
    return Event(author=author, invocation_id="inv-1", content=content,
                 actions=EventActions(state_delta=dict(delta or {})), **kwargs)


async def fetch(service: BaseSessionService, session_id: str, *, user_id: str = USER,
                config: GetSessionConfig | None = None) -> Session:
    session = await service.get_session(app_name=APP, user_id=user_id,
                                        session_id=session_id, config=config)
    assert session is not None
    return session


async def test_contract_create_get_delete(service: BaseSessionService) -> None:
    """A created session is read back with its id exactly as given; a taken id raises
    AlreadyExistsError; delete removes it (twice is fine)."""
    created = await service.create_session(app_name=APP, user_id=USER, session_id="s 1",
                                           state={"k": "v"})
    assert "s 1" == created.id
    got = await fetch(service, "s 1")
    assert {"k": "v"} == got.state
    assert [] == got.events
    assert await service.get_session(app_name=APP, user_id="other", session_id="s 1") is None
    with pytest.raises(AlreadyExistsError):
        await service.create_session(app_name=APP, user_id=USER, session_id="s 1")
    generated = await service.create_session(app_name=APP, user_id=USER)
    assert generated.id
    await service.delete_session(app_name=APP, user_id=USER, session_id="s 1")
    await service.delete_session(app_name=APP, user_id=USER, session_id="s 1")
    assert await service.get_session(app_name=APP, user_id=USER, session_id="s 1") is None


async def test_contract_state_scopes_and_nulls(service: BaseSessionService) -> None:
    """app: state is shared by the app, user: state by the user's sessions, the rest
    by one session; a None in a delta is stored as null (ADK 2.13); 2.0 stays a float."""
    a = await service.create_session(app_name=APP, user_id=USER, session_id="a",
                                     state={"app:shared": 1, "user:mine": "x", "own": 2.0})
    b = await service.create_session(app_name=APP, user_id="other", session_id="b")
    assert {"app:shared": 1} == b.state
    await service.append_event(a, event(delta={"app:shared": None, "user:mine": [1, {"n": 2}],
                                               "own": None, "big": 2**70}))
    got = await fetch(service, "a")
    assert {"app:shared": None, "user:mine": [1, {"n": 2}], "own": None,
            "big": 2**70} == got.state
    assert {"mine": [1, {"n": 2}]} == await service.get_user_state(app_name=APP,
                                                                   user_id=USER)
    other = await fetch(service, "b", user_id="other")
    assert {"app:shared": None} == other.state
    c = await service.create_session(app_name=APP, user_id=USER, session_id="c",
                                     state={"f": 2.0})
    assert isinstance((await fetch(service, "c")).state["f"], float)
    assert {"f": 2.0, "app:shared": None, "user:mine": [1, {"n": 2}]} == c.state


async def test_contract_temp_state_reaches_copy_not_storage(
    service: BaseSessionService,
) -> None:
    """temp: keys are applied to the caller's copy but never stored, in the state or in
    the stored event's delta (and need not even be JSON)."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s",
                                           state={"temp:init": 1})
    stored = await service.append_event(session, event(delta={"temp:t": {1, 2}, "k": 1}))
    assert {1, 2} == session.state["temp:t"]
    assert {"k": 1} == stored.actions.state_delta
    got = await fetch(service, "s")
    assert {"k": 1} == got.state
    assert {"k": 1} == got.events[0].actions.state_delta


async def test_contract_events_round_trip_exactly(service: BaseSessionService) -> None:
    """Text, bytes (any value), function calls and responses, state and artifact deltas,
    custom metadata, transfers and flags come back equal to what was appended."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    parts = [
        types.Part(text="héllo \u2603"),
        types.Part(inline_data=types.Blob(mime_type="application/octet-stream",
                                          data=bytes([0xFB, 0xFF, 0xFE, 0x3E, 0x3F, 0]))),
        types.Part(function_call=types.FunctionCall(id="c1", name="tool",
                                                    args={"a": [1, 2.5, None]})),
        types.Part(function_response=types.FunctionResponse(id="c1", name="tool",
                                                            response={"ok": True})),
    ]
    appended = [
        Event(author="model", invocation_id="i1", branch="root.child",
              content=types.Content(role="model", parts=parts),
              actions=EventActions(state_delta={"k": {"nested": [1]}, "user:u": "v"},
                                   artifact_delta={"f.txt": 2}, transfer_to_agent="other",
                                   escalate=True, skip_summarization=True),
              custom_metadata={"trace": {"id": 7}}, turn_complete=True,
              long_running_tool_ids={"c1"}),
        Event(author="user", invocation_id="i2",
              content=types.Content(role="user", parts=[types.Part(text="")]),
              error_code="E", error_message="boom", interrupted=True),
    ]
    for item in appended:
        await service.append_event(session, item)
    got = await fetch(service, "s")
    assert appended == got.events


async def test_contract_stale_copy_is_rejected(service: BaseSessionService) -> None:
    """Two copies loaded at the same revision: the first append wins, the second raises
    StaleSessionError and stores nothing; a fresh copy appends again."""
    await service.create_session(app_name=APP, user_id=USER, session_id="s")
    first, second = await fetch(service, "s"), await fetch(service, "s")
    await service.append_event(first, event(text="one"))
    with pytest.raises(StaleSessionError):
        await service.append_event(second, event(text="two", delta={"app:x": 1}))
    await service.append_event(first, event(text="three"))
    got = await fetch(service, "s")
    assert ["one", "three"] == [e.content.parts[0].text for e in got.events if e.content]
    assert "app:x" not in got.state
    await service.append_event(got, event(text="four"))


async def test_contract_stale_after_equal_timestamp_append(
    service: BaseSessionService,
) -> None:
    """A copy is stale after another append even when that event carries the very
    timestamp the copy's revision has (revisions are compared by equality of the
    whole revision, not by time)."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    await service.append_event(session, event(text="a", timestamp=1000.0))
    one, two = await fetch(service, "s"), await fetch(service, "s")
    await service.append_event(one, event(text="b", timestamp=1000.0))
    with pytest.raises(StaleSessionError):
        await service.append_event(two, event(text="c", timestamp=1000.0))


async def test_contract_equal_timestamps_are_not_stale(service: BaseSessionService) -> None:
    """Appending through one copy many events with one timestamp (and older ones) never
    raises (no false positives, unlike adk-python #3717)."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    for stamp in (5.0, 5.0, 5.0, 4.0, 5.0):
        await service.append_event(session, event(text=str(stamp), timestamp=stamp))
    again = await fetch(service, "s")
    await service.append_event(again, event(text="later", timestamp=5.0))
    assert 6 == len((await fetch(service, "s")).events)


async def test_contract_handmade_copy_is_checked_by_last_event(
    service: BaseSessionService,
) -> None:
    """A Session built by hand (no stored revision) may append when its last event is
    the stored last event, and is stale otherwise."""
    await service.create_session(app_name=APP, user_id=USER, session_id="s")
    blank = Session(id="s", app_name=APP, user_id=USER)
    await service.append_event(blank, event(text="a"))  # blank.events now [a]
    other = Session(id="s", app_name=APP, user_id=USER)
    with pytest.raises(StaleSessionError):
        await service.append_event(other, event(text="b"))
    handmade = Session(id="s", app_name=APP, user_id=USER, events=list(blank.events))
    await service.append_event(handmade, event(text="c"))
    assert 2 == len((await fetch(service, "s")).events)


async def test_contract_caller_copy_unchanged_when_append_fails(
    service: BaseSessionService,
) -> None:
    """A stale append leaves the caller's copy as it was (state, events, time)."""
    await service.create_session(app_name=APP, user_id=USER, session_id="s")
    winner, loser = await fetch(service, "s"), await fetch(service, "s")
    await service.append_event(winner, event(text="w"))
    before = (dict(loser.state), list(loser.events), loser.last_update_time)
    with pytest.raises(StaleSessionError):
        await service.append_event(loser, event(text="l", delta={"k": 1, "temp:t": 1}))
    assert before == (loser.state, loser.events, loser.last_update_time)


async def test_contract_duplicate_event_id_is_refused(service: BaseSessionService) -> None:
    """An event id already in the session raises AlreadyExistsError; nothing is stored."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    first = event(text="a")
    await service.append_event(session, first)
    again = event(text="b", delta={"k": 1})
    again.id = first.id
    with pytest.raises(AlreadyExistsError):
        await service.append_event(session, again)
    got = await fetch(service, "s")
    assert ([first], {}) == (got.events, got.state)


async def test_contract_append_to_deleted_session_raises(service: BaseSessionService) -> None:
    """Appending to a session that is no longer stored raises SessionNotFoundError and
    stores no state."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    await service.delete_session(app_name=APP, user_id=USER, session_id="s")
    with pytest.raises(SessionNotFoundError):
        await service.append_event(session, event(delta={"app:a": 1}))
    fresh = await service.create_session(app_name=APP, user_id=USER, session_id="t")
    assert {} == fresh.state


async def test_contract_non_json_state_is_refused_before_storing(
    service: BaseSessionService,
) -> None:
    """A state value a durable store cannot keep (not JSON) is a TypeError naming the
    key; nothing is stored and the caller's copy is unchanged."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    with pytest.raises(TypeError, match="box"):
        await service.append_event(session, event(delta={"box": object(), "k": 1}))
    with pytest.raises(TypeError, match="state"):
        await service.create_session(app_name=APP, user_id=USER, state={"t": (1, 2)})
    assert ([], {}) == (session.events, session.state)
    got = await fetch(service, "s")
    assert ([], {}) == (got.events, got.state)
    await service.append_event(got, event(text="still usable"))


async def test_contract_get_session_windows(service: BaseSessionService) -> None:
    """num_recent_events keeps the last N (0 none); after_timestamp keeps events at or
    after it; together, both; the returned copy can still append."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    for i in range(10):
        await service.append_event(session, event(text=str(i), timestamp=100.0 + i))

    async def window(**kwargs: Any) -> list[str]:
        got = await fetch(service, "s", config=GetSessionConfig(**kwargs))
        return [e.content.parts[0].text or "" for e in got.events if e.content]

    assert ["7", "8", "9"] == await window(num_recent_events=3)
    assert [] == await window(num_recent_events=0)
    assert ["5", "6", "7", "8", "9"] == await window(after_timestamp=105.0)
    assert ["8", "9"] == await window(after_timestamp=105.0, num_recent_events=2)
    assert [str(i) for i in range(10)] == await window(num_recent_events=50)
    windowed = await fetch(service, "s", config=GetSessionConfig(num_recent_events=1))
    await service.append_event(windowed, event(text="10", timestamp=110.0))


async def test_contract_iter_events_batches(service: BaseSessionService) -> None:
    """iter_events yields every event once, oldest first, in batches of at most the
    size (ties in timestamp included); an unknown session yields nothing."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s")
    appended = []
    for i in range(23):
        item = event(text=str(i), timestamp=float(i // 4))
        appended.append(await service.append_event(session, item))
    batches = [b async for b in service.iter_events(app_name=APP, user_id=USER,
                                                    session_id="s", batch_size=5)]
    assert [5, 5, 5, 5, 3] == [len(b) for b in batches]
    assert [e.id for e in appended] == [e.id for b in batches for e in b]
    assert [] == [b async for b in service.iter_events(app_name=APP, user_id=USER,
                                                       session_id="nope")]


async def test_contract_list_pages_are_complete_and_disjoint(
    service: BaseSessionService,
) -> None:
    """Paging through list_sessions (all users or one) lists every session exactly once,
    in (update time, user, id) order, with state merged and no events."""
    for i in range(25):
        user = f"u{i % 3}"
        session = await service.create_session(app_name=APP, user_id=user,
                                               session_id=f"s{i:02}", state={"n": i})
        if i % 4 == 0:
            await service.append_event(session, event(text="x", timestamp=50.0))
    everything = (await service.list_sessions(app_name=APP)).sessions
    assert 25 == len(everything)
    order = [(s.last_update_time, s.user_id, s.id) for s in everything]
    assert sorted(order) == order
    for user_id in (None, "u1"):
        seen: list[str] = []
        token = None
        while True:
            page = await service.list_sessions(app_name=APP, user_id=user_id,
                                               page_size=4, page_token=token)
            assert len(page.sessions) <= 4
            assert all(s.events == [] for s in page.sessions)
            seen += [s.id for s in page.sessions]
            token = page.next_page_token
            if token is None:
                break
        expected = [s.id for s in everything if user_id in (None, s.user_id)]
        assert expected == seen
    listed = {s.id: s for s in everything}
    assert 4 == listed["s04"].state["n"]
    # A listed copy carries its revision: it can append until someone else does.
    await service.append_event(listed["s05"], event(text="y"))
    await service.append_event(listed["s08"], event(text="y"))
    await service.append_event(await fetch(service, "s09", user_id="u0"), event(text="y"))
    with pytest.raises(StaleSessionError):
        await service.append_event(listed["s09"], event(text="z"))


async def test_contract_history_survives_reopen(
    service: BaseSessionService, reopen: Reopen,
) -> None:
    """What one service stored, another service over the same storage reads and
    extends (the first one's copy is then stale)."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s",
                                           state={"app:a": 1})
    await service.append_event(session, event(text="first", delta={"user:u": 2}))
    other = await reopen()
    got = await fetch(other, "s")
    assert {"app:a": 1, "user:u": 2} == got.state
    assert session.events == got.events
    await other.append_event(got, event(text="second"))
    with pytest.raises(StaleSessionError):
        await service.append_event(session, event(text="stale"))
    await trio.lowlevel.checkpoint()
    assert 2 == len((await fetch(service, "s")).events)
