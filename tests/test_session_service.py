"""Behaviour of InMemorySessionService (ADK session-service contract, late 1.x)."""

# The suite asserts `expected == actual`, which SIM300 calls a Yoda condition.

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from google.genai import types

from trio_adk.errors import AlreadyExistsError
from trio_adk.events import Event, EventActions
from trio_adk.sessions import (
    BaseSessionService,
    GetSessionConfig,
    InMemorySessionService,
    ListSessionsResponse,
    Session,
    State,
)

APP = "my_app"
USER = "user"


def _event(
    *,
    author: str = "agent",
    text: str | None = None,
    delta: dict[str, Any] | None = None,
    timestamp: float | None = None,
    partial: bool | None = None,
) -> Event:
    kwargs: dict[str, Any] = {}
    if timestamp is not None:
        kwargs["timestamp"] = timestamp
    content = (
        types.Content(role="model", parts=[types.Part(text=text)]) if text is not None else None
    )
    return Event(
        author=author,
        invocation_id="e-1",
        content=content,
        actions=EventActions(state_delta=dict(delta or {})),
        partial=partial,
        **kwargs,
    )


@pytest.fixture
def service() -> InMemorySessionService:
    return InMemorySessionService()


def test_public_exports() -> None:
    """The sessions package exports the service, base, model and state types."""
    assert issubclass(InMemorySessionService, BaseSessionService)
    assert State.APP_PREFIX == "app:"
    assert ListSessionsResponse().sessions == []


async def test_get_unknown_session_returns_none(service: InMemorySessionService) -> None:
    """Unknown app, user or session id gives None."""
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    assert await service.get_session(app_name="other", user_id=USER, session_id="s1") is None
    assert await service.get_session(app_name=APP, user_id="other", session_id="s1") is None
    assert await service.get_session(app_name=APP, user_id=USER, session_id="nope") is None


async def test_create_get_delete(service: InMemorySessionService) -> None:
    """create returns the fields and state; get equals it; delete makes get return None."""
    before = time.time()
    session = await service.create_session(app_name=APP, user_id=USER, state={"k": "v"})
    assert APP == session.app_name
    assert USER == session.user_id
    assert session.id
    assert {"k": "v"} == session.state
    assert [] == session.events
    assert before <= session.last_update_time <= time.time()

    fetched = await service.get_session(app_name=APP, user_id=USER, session_id=session.id)
    assert session == fetched

    await service.delete_session(app_name=APP, user_id=USER, session_id=session.id)
    assert await service.get_session(app_name=APP, user_id=USER, session_id=session.id) is None


async def test_session_id_is_kept_exactly_or_generated(service: InMemorySessionService) -> None:
    """A given id is used exactly as given; None becomes a fresh uuid; an id with
    surrounding whitespace, or an empty one, is rejected (ADK strips it, so a later
    get_session with the id as written found nothing)."""
    s = await service.create_session(app_name=APP, user_id=USER, session_id="a b")
    assert "a b" == s.id
    generated = {
        (await service.create_session(app_name=APP, user_id=USER, session_id=None)).id
        for _ in range(3)
    }
    assert 3 == len(generated)
    assert all(len(sid) == 36 for sid in generated)
    for sid in ("  abc \n", "", "   "):
        with pytest.raises(ValueError, match="session_id"):
            await service.create_session(app_name=APP, user_id=USER, session_id=sid)
    listed = (await service.list_sessions(app_name=APP, user_id=USER)).sessions
    assert 4 == len(listed)


async def test_create_with_existing_id_raises(service: InMemorySessionService) -> None:
    """Creating a session id the user already has raises AlreadyExistsError."""
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    with pytest.raises(AlreadyExistsError) as info:
        await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    assert "Session with id s1 already exists." == str(info.value)


async def test_same_id_for_another_user_is_a_different_session(
    service: InMemorySessionService,
) -> None:
    """Session ids are per user: another user may create the same id."""
    await service.create_session(app_name=APP, user_id="u1", session_id="s", state={"a": 1})
    other = await service.create_session(app_name=APP, user_id="u2", session_id="s")
    assert {} == other.state


async def test_delete_unknown_is_noop(service: InMemorySessionService) -> None:
    """Deleting an unknown app, user or session does nothing."""
    await service.delete_session(app_name="x", user_id="y", session_id="z")
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    await service.delete_session(app_name=APP, user_id=USER, session_id="s2")
    assert await service.get_session(app_name=APP, user_id=USER, session_id="s1") is not None


async def test_list_sessions_has_state_but_no_events(service: InMemorySessionService) -> None:
    """list_sessions returns the user's sessions with merged state and without events."""
    for i in range(5):
        s = await service.create_session(
            app_name=APP, user_id=USER, session_id=f"s{i}", state={"i": i, "user:u": "shared"}
        )
        await service.append_event(s, _event(text="hi"))
    await service.create_session(app_name=APP, user_id="other", session_id="x")

    response = await service.list_sessions(app_name=APP, user_id=USER)
    assert isinstance(response, ListSessionsResponse)
    by_id = {s.id: s for s in response.sessions}
    assert {f"s{i}" for i in range(5)} == set(by_id)
    for i in range(5):
        assert {"i": i, "user:u": "shared"} == by_id[f"s{i}"].state
        assert [] == by_id[f"s{i}"].events


async def test_list_sessions_all_users_and_unknown(service: InMemorySessionService) -> None:
    """user_id=None lists every user's sessions of the app; unknown app or user lists none."""
    await service.create_session(app_name=APP, user_id="u1", session_id="a")
    await service.create_session(app_name=APP, user_id="u2", session_id="b")
    await service.create_session(app_name="other", user_id="u1", session_id="c")

    everyone = await service.list_sessions(app_name=APP)
    assert [("u1", "a"), ("u2", "b")] == sorted((s.user_id, s.id) for s in everyone.sessions)
    only_u2 = await service.list_sessions(app_name=APP, user_id="u2")
    assert ["b"] == [s.id for s in only_u2.sessions]
    assert [] == (await service.list_sessions(app_name=APP, user_id="nobody")).sessions
    assert [] == (await service.list_sessions(app_name="nope")).sessions


async def test_app_state_is_shared_by_all_users(service: InMemorySessionService) -> None:
    """An app: key written by one user's session is seen by every session of the app."""
    s1 = await service.create_session(app_name=APP, user_id="u1", session_id="s1")
    s2 = await service.create_session(app_name=APP, user_id="u2", session_id="s2")
    await service.append_event(s1, _event(delta={"app:k": "v"}))

    for user, sid in (("u1", "s1"), ("u2", "s2")):
        fetched = await service.get_session(app_name=APP, user_id=user, session_id=sid)
        assert fetched is not None
        assert {"app:k": "v"} == fetched.state
    assert {"k": "v"} == service.app_state[APP]
    assert "app:k" not in service.sessions[APP]["u1"]["s1"].state
    other_app = await service.create_session(app_name="other", user_id="u1")
    assert {} == other_app.state
    assert {"app:k": "v"} == s1.state
    assert {} == s2.state  # stale copy


async def test_user_state_is_shared_only_by_that_users_sessions(
    service: InMemorySessionService,
) -> None:
    """A user: key is seen by all sessions of the same user and by no other user."""
    s1 = await service.create_session(app_name=APP, user_id="u1", session_id="s1")
    await service.create_session(app_name=APP, user_id="u1", session_id="s2")
    await service.create_session(app_name=APP, user_id="u2", session_id="s3")
    await service.append_event(s1, _event(delta={"user:k": "v"}))

    s2 = await service.get_session(app_name=APP, user_id="u1", session_id="s2")
    s3 = await service.get_session(app_name=APP, user_id="u2", session_id="s3")
    assert s2 is not None
    assert s3 is not None
    assert {"user:k": "v"} == s2.state
    assert {} == s3.state
    assert {"k": "v"} == service.user_state[APP]["u1"]


async def test_session_state_is_not_shared(service: InMemorySessionService) -> None:
    """A plain key stays in the session that wrote it."""
    s1 = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    await service.create_session(app_name=APP, user_id=USER, session_id="s2")
    await service.append_event(s1, _event(delta={"k": "v"}))

    f1 = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    f2 = await service.get_session(app_name=APP, user_id=USER, session_id="s2")
    assert f1 is not None
    assert f2 is not None
    assert {"k": "v"} == f1.state
    assert {} == f2.state


async def test_temp_state_is_not_persisted(service: InMemorySessionService) -> None:
    """temp: keys reach the caller's session object but neither stored state nor the
    stored event's delta."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    event = _event(delta={"temp:t": 1, "k": 2})
    returned = await service.append_event(session, event)

    assert {"temp:t": 1, "k": 2} == session.state
    assert {"k": 2} == returned.actions.state_delta
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    assert {"k": 2} == fetched.state
    assert {"k": 2} == fetched.events[0].actions.state_delta


async def test_get_session_respects_user_id(service: InMemorySessionService) -> None:
    """A session id is only visible to its own user; another user's same id is separate."""
    s = await service.create_session(app_name=APP, user_id="u1", session_id="s")
    await service.append_event(s, _event(text="hi", delta={"k": 1}))
    assert await service.get_session(app_name=APP, user_id="u2", session_id="s") is None
    other = await service.create_session(app_name=APP, user_id="u2", session_id="s")
    fetched = await service.get_session(app_name=APP, user_id="u2", session_id="s")
    assert other == fetched
    assert fetched is not None
    assert [] == fetched.events
    assert {} == fetched.state


async def test_create_splits_initial_state_and_merges(service: InMemorySessionService) -> None:
    """Initial app:/user: keys go to shared state, temp: keys are dropped, and a new
    session sees app/user state but not other sessions' keys."""
    first = await service.create_session(
        app_name=APP,
        user_id=USER,
        session_id="s1",
        state={"app:a": 1, "user:u": 2, "temp:t": 3, "plain": 4},
    )
    assert {"app:a": 1, "user:u": 2, "plain": 4} == first.state
    assert {"a": 1} == service.app_state[APP]
    assert {"u": 2} == service.user_state[APP][USER]
    assert {"plain": 4} == service.sessions[APP][USER]["s1"].state

    await service.append_event(first, _event(delta={"app:b": 5, "user:v": 6, "s": 7}))
    second = await service.create_session(app_name=APP, user_id=USER, session_id="s2")
    assert {"app:a": 1, "app:b": 5, "user:u": 2, "user:v": 6} == second.state
    stranger = await service.create_session(app_name=APP, user_id="other", session_id="s3")
    assert {"app:a": 1, "app:b": 5} == stranger.state


async def test_append_event_returns_and_stores_event(service: InMemorySessionService) -> None:
    """append_event returns the event, adds it to the caller's copy and to storage, and a
    refetched session equals the caller's copy."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    event = _event(text="hello", delta={"k": "v"})
    assert event is await service.append_event(session, event)
    assert [event] == session.events
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert session == fetched


async def test_append_event_round_trips_all_fields(service: InMemorySessionService) -> None:
    """Every event field survives append and get."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    event = Event(
        author="agent",
        invocation_id="e-x",
        branch="root.child",
        content=types.Content(role="model", parts=[types.Part(text="t")]),
        turn_complete=True,
        partial=False,
        error_code="E",
        error_message="bad",
        interrupted=True,
        long_running_tool_ids={"call-1"},
        custom_metadata={"m": [1, 2]},
        grounding_metadata=types.GroundingMetadata(web_search_queries=["q"]),
        actions=EventActions(
            artifact_delta={"f.txt": 0},
            transfer_to_agent="other",
            escalate=True,
            skip_summarization=True,
            state_delta={"k": 1},
        ),
    )
    await service.append_event(session, event)
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    assert [event] == fetched.events
    assert session == fetched


async def test_append_event_with_inline_bytes(service: InMemorySessionService) -> None:
    """Inline binary data round-trips through append and get."""
    data = b"\x00\x01binary\xff"
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    event = Event(
        author="user",
        content=types.Content(
            role="user",
            parts=[types.Part(inline_data=types.Blob(mime_type="image/png", data=data))],
        ),
    )
    await service.append_event(session, event)
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    content = fetched.events[0].content
    assert content is not None
    assert content.parts is not None
    blob = content.parts[0].inline_data
    assert blob is not None
    assert data == blob.data
    assert "image/png" == blob.mime_type


async def test_partial_events_are_not_persisted(service: InMemorySessionService) -> None:
    """A partial event is returned untouched and stored nowhere, state delta included."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    event = _event(text="chunk", delta={"k": 1, "temp:t": 2}, partial=True)
    assert event is await service.append_event(session, event)
    assert [] == session.events
    assert {} == session.state
    assert {"k": 1, "temp:t": 2} == event.actions.state_delta
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    assert [] == fetched.events
    assert {} == fetched.state


async def test_last_update_time_follows_events(service: InMemorySessionService) -> None:
    """Appending sets last_update_time to the event's timestamp, in the copy and storage."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    stamp = session.last_update_time + 10.0
    await service.append_event(session, _event(timestamp=stamp))
    assert stamp == session.last_update_time
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    assert stamp == fetched.last_update_time
    listed = await service.list_sessions(app_name=APP, user_id=USER)
    assert [stamp] == [s.last_update_time for s in listed.sessions]


async def test_get_session_with_config(service: InMemorySessionService) -> None:
    """num_recent_events keeps the last N (0 keeps none); after_timestamp keeps events at
    or after the bound; both apply N first, then the timestamp."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    events = [_event(text=str(i), timestamp=1000.0 + i) for i in range(5)]
    for e in events:
        await service.append_event(session, e)

    async def get(config: GetSessionConfig) -> list[Event]:
        fetched = await service.get_session(
            app_name=APP, user_id=USER, session_id="s1", config=config
        )
        assert fetched is not None
        return fetched.events

    assert events[-3:] == await get(GetSessionConfig(num_recent_events=3))
    assert events == await get(GetSessionConfig(num_recent_events=50))
    assert [] == await get(GetSessionConfig(num_recent_events=0))
    assert events[2:] == await get(GetSessionConfig(after_timestamp=1002.0))
    assert events == await get(GetSessionConfig(after_timestamp=0.0))
    assert [] == await get(GetSessionConfig(after_timestamp=time.time() + 10**6))
    assert events[3:] == await get(GetSessionConfig(num_recent_events=3, after_timestamp=1003.0))
    assert events == await get(GetSessionConfig())


async def test_caller_mutation_does_not_change_storage(service: InMemorySessionService) -> None:
    """Changing a fetched session's state (nested values too) or events list leaves
    storage alone."""
    nested: dict[str, Any] = {"items": [1, 2], "inner": {"x": 1}}
    session = await service.create_session(
        app_name=APP, user_id=USER, session_id="s1", state={"n": nested, "user:u": [1]}
    )
    nested["items"].append(3)  # the create argument is not kept by storage
    await service.append_event(session, _event(text="one"))

    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    fetched.state["n"]["items"].append(99)
    fetched.state["n"]["inner"]["x"] = 2
    fetched.state["user:u"].append(2)
    fetched.state["new"] = True
    fetched.events.clear()

    again = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert again is not None
    assert {"n": {"items": [1, 2], "inner": {"x": 1}}, "user:u": [1]} == again.state
    assert 1 == len(again.events)


async def test_delta_values_are_copied_into_storage(service: InMemorySessionService) -> None:
    """Mutating a value after appending it in a state delta does not change storage."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    value: dict[str, Any] = {"list": [1]}
    await service.append_event(session, _event(delta={"k": value, "app:a": value}))
    value["list"].append(2)
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    assert {"k": {"list": [1]}, "app:a": {"list": [1]}} == fetched.state


async def test_non_json_state_values_from_events_are_copied(
    service: InMemorySessionService,
) -> None:
    """State values other than dicts, lists and scalars that an agent writes (through an
    event's delta) are deep-copied by the in-memory store, tuples too."""

    class Box:
        def __init__(self) -> None:
            self.items: list[int] = []

    box = Box()
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    await service.append_event(session, _event(delta={"box": box, "t": (1, [2])}))
    box.items.append(1)
    session.state["t"][1].append(3)
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    assert [] == fetched.state["box"].items
    assert (1, [2]) == fetched.state["t"]


async def test_initial_state_must_hold_json_values(service: InMemorySessionService) -> None:
    """A caller's initial state is checked to be JSON (what every backend stores):
    anything else is a TypeError naming the key, and no session is created."""

    class Box:
        pass

    for state in ({"box": Box()}, {"t": (1, 2)}, {"n": {"deep": {1: "int key"}}}):
        with pytest.raises(TypeError, match=r"state\["):
            await service.create_session(app_name=APP, user_id=USER, session_id="s1",
                                         state=state)
    with pytest.raises(ValueError, match="finite"):
        await service.create_session(app_name=APP, user_id=USER, session_id="s1",
                                     state={"x": float("nan")})
    assert [] == (await service.list_sessions(app_name=APP, user_id=USER)).sessions


async def test_stale_copy_does_not_see_later_events(service: InMemorySessionService) -> None:
    """A session fetched earlier is a snapshot that misses events appended through
    another copy; fetching again shows them."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    stale = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert stale is not None
    await service.append_event(session, _event(text="new", delta={"k": 1}))
    assert [] == stale.events
    assert {} == stale.state
    fresh = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fresh is not None
    assert 1 == len(fresh.events)


async def test_appending_through_two_copies_keeps_both(service: InMemorySessionService) -> None:
    """Events appended through different copies of a session all reach storage in order."""
    a = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    b = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert b is not None
    e1, e2 = _event(text="a"), _event(text="b")
    await service.append_event(a, e1)
    await service.append_event(b, e2)
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    assert [e1, e2] == fetched.events


async def test_storage_object_itself_is_appended_once(service: InMemorySessionService) -> None:
    """Passing the stored session object appends the event once and keeps only
    session-scoped keys in stored state."""
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    stored = service.sessions[APP][USER]["s1"]
    event = _event(text="x", delta={"k": 1, "app:a": 2, "user:u": 3, "temp:t": 4})
    await service.append_event(stored, event)

    assert [event] == stored.events
    assert {"k": 1} == stored.state
    fetched = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert fetched is not None
    assert [event] == fetched.events
    assert {"k": 1, "app:a": 2, "user:u": 3} == fetched.state


async def test_append_to_missing_session_warns(
    service: InMemorySessionService, caplog: pytest.LogCaptureFixture
) -> None:
    """Appending to a session that is not stored logs a warning and stores nothing."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    await service.delete_session(app_name=APP, user_id=USER, session_id="s1")
    orphan = Session(id="ghost", app_name=APP, user_id=USER)
    event = _event(text="x", delta={"app:a": 1})
    with caplog.at_level(logging.WARNING, logger="trio_adk"):
        assert event is await service.append_event(session, event)
        await service.append_event(orphan, _event(text="y"))
    assert 2 == sum("not found" in r.getMessage() for r in caplog.records)
    assert {} == service.app_state.get(APP, {})
    assert await service.get_session(app_name=APP, user_id=USER, session_id="s1") is None


async def test_returned_sessions_share_event_records(service: InMemorySessionService) -> None:
    """Fetched sessions get new lists that hold the stored Event objects (shared,
    read-only records), not copies of them."""
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    event = _event(text="x")
    await service.append_event(session, event)
    f1 = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    f2 = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
    assert f1 is not None
    assert f2 is not None
    assert f1.events is not f2.events
    assert f1.state is not f2.state
    assert f1.events[0] is event
    assert f2.events[0] is event
