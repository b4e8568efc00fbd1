"""Rewinding a session (trio_adk._rewind.rewind_session, behind Runner.rewind_async) on
every session store, and without_rewound, the filter every reader of history uses."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from pg_fixtures import STORE_KINDS, open_store, pg_database, pg_url  # noqa: F401
from trio_adk._rewind import rewind_session
from trio_adk.artifacts import BaseArtifactService, InMemoryArtifactService
from trio_adk.artifacts.file_artifact_service import FileArtifactService
from trio_adk.errors import InvocationNotFoundError, SessionNotFoundError
from trio_adk.events import Event, EventActions
from trio_adk.events._rewinds import keys_removed_by_rewind, without_rewound
from trio_adk.sessions import BaseSessionService, InMemorySessionService

APP, USER = "rewind_app", "rewind_user"


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest,
                tmp_path: Path) -> AsyncIterator[BaseSessionService]:
    """Each session store on fresh storage (PostgreSQL skips without a server; its
    database is the module's, so each test gets an app name of its own)."""
    global APP
    APP = f"rewind_{uuid.uuid4().hex[:8]}"
    async with open_store(request.param, request, tmp_path) as service:
        yield service


@pytest.fixture(params=["memory", "file"])
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> BaseArtifactService:
    if request.param == "memory":
        return InMemoryArtifactService()
    return FileArtifactService(tmp_path / "artifacts")


def ev(invocation: str, *, delta: dict[str, Any] | None = None,
       files: dict[str, int] | None = None, text: str | None = None,
       author: str = "agent") -> Event:
    content = (types.Content(role="model", parts=[types.Part(text=text)])
               if text is not None else None)
    return Event(author=author, invocation_id=invocation, content=content,
                 actions=EventActions(state_delta=dict(delta or {}),
                                      artifact_delta=dict(files or {})))


async def history(service: BaseSessionService, session_id: str, *events: Event,
                  state: dict[str, Any] | None = None) -> None:
    session = await service.create_session(app_name=APP, user_id=USER,
                                           session_id=session_id, state=state)
    for event in events:
        await service.append_event(session, event)


async def rewind(service: BaseSessionService, session_id: str, invocation: str,
                 artifact_service: BaseArtifactService | None = None) -> Event:
    return await rewind_session(
        session_service=service, artifact_service=artifact_service, app_name=APP,
        user_id=USER, session_id=session_id, rewind_before_invocation_id=invocation)


async def state_of(service: BaseSessionService, session_id: str) -> dict[str, Any]:
    session = await service.get_session(app_name=APP, user_id=USER, session_id=session_id)
    assert session is not None
    return dict(session.state)


THREE_INVOCATIONS = (
    ev("inv1", delta={"a": 1, "b": "x", "gone": 0}),
    ev("inv1", delta={"gone": None, "nested": {"k": [1, None]}, "null": None}),
    ev("inv2", delta={"a": 2, "b": None, "c": "new", "app:shared": 2, "user:mine": 2,
                      "temp:t": 1, "gone": "back"}),
    ev("inv2", delta={"nested": {"k": []}}),
    ev("inv3", delta={"d": 4}),
)


async def test_state_is_restored_exactly(store: BaseSessionService) -> None:
    """Rewinding before inv2 brings back changed and removed keys and removes keys
    added since (no null left behind), in every store; app:/user: state, keys never
    changed by an event and a stored null untouched since stay.  ("gone" held null
    before inv2 and inv2 changed it: a rewind cannot store a null, so it is removed.)"""
    await history(store, "s", *THREE_INVOCATIONS,
                  state={"initial": True, "app:shared": 1, "user:mine": 1})
    before_inv2 = {"initial": True, "a": 1, "b": "x", "nested": {"k": [1, None]},
                   "null": None, "app:shared": 1, "user:mine": 1}
    event = await rewind(store, "s", "inv2")
    assert "inv2" == event.actions.rewind_before_invocation_id
    assert "user" == event.author
    assert event.invocation_id.startswith("e-")
    assert {"a": 1, "b": "x", "nested": {"k": [1, None]}, "c": None, "gone": None,
            "d": None} == event.actions.state_delta
    assert {} == event.actions.artifact_delta
    assert {**before_inv2, "app:shared": 2, "user:mine": 2} == await state_of(store, "s")
    stored = (await store.get_session(app_name=APP, user_id=USER, session_id="s"))
    assert stored is not None
    assert event.id == stored.events[-1].id
    assert "inv2" == stored.events[-1].actions.rewind_before_invocation_id


async def test_rewind_before_the_first_invocation_empties_state(
        store: BaseSessionService) -> None:
    await history(store, "s", *THREE_INVOCATIONS, state={"initial": 0})
    await rewind(store, "s", "inv1")
    assert {"initial": 0, "app:shared": 2, "user:mine": 2} == await state_of(store, "s")
    # Forward again, to before inv2: "null" held null then, but a rewind cannot store
    # a null (its None removes), so it stays absent.
    await rewind(store, "s", "inv2")
    assert {"initial": 0, "a": 1, "b": "x", "nested": {"k": [1, None]},
            "app:shared": 2, "user:mine": 2} == await state_of(store, "s")


async def test_unknown_invocation_and_missing_session(store: BaseSessionService) -> None:
    """Errors name what was wrong; nothing is appended."""
    await history(store, "s", ev("inv1", delta={"a": 1}))
    with pytest.raises(InvocationNotFoundError, match=r"^Invocation ID not found: nope \("):
        await rewind(store, "s", "nope")
    with pytest.raises(ValueError, match="Invocation ID not found"):
        await rewind(store, "s", "")
    with pytest.raises(SessionNotFoundError, match=r"^Session not found: missing \("):
        await rewind(store, "missing", "inv1")
    session = await store.get_session(app_name=APP, user_id=USER, session_id="s")
    assert session is not None
    assert 1 == len(session.events)


async def test_rewinding_twice_and_undoing_a_rewind(store: BaseSessionService) -> None:
    """The same rewind twice changes nothing more; rewinding before a rewound
    invocation, or before the rewind event's own invocation, undoes the earlier rewind
    (state and live history both come from the stored history before that point)."""
    await history(store, "s", *THREE_INVOCATIONS)
    first = await rewind(store, "s", "inv3")
    after_first = await state_of(store, "s")
    assert "d" not in after_first
    again = await rewind(store, "s", "inv3")
    assert {} == again.actions.state_delta
    assert after_first == await state_of(store, "s")
    # Undo both rewinds: back to the state just before the first one.
    await rewind(store, "s", first.invocation_id)
    assert {**after_first, "d": 4} == await state_of(store, "s")
    session = await store.get_session(app_name=APP, user_id=USER, session_id="s")
    assert session is not None
    live = without_rewound(session.events)
    assert ["inv1", "inv1", "inv2", "inv2", "inv3"] == [e.invocation_id for e in live]
    # Rewinding before inv2 although inv3 was rewound (and un-rewound): raw history.
    await rewind(store, "s", "inv2")
    assert {"a": 1, "b": "x", "nested": {"k": [1, None]}, "null": None,
            "app:shared": 2, "user:mine": 2} == await state_of(store, "s")


async def test_null_outside_a_rewind_is_still_stored(store: BaseSessionService) -> None:
    """Only a rewind event's None removes a key; any other event's None is stored as
    null (ADK 2.13), and so is a rewind's None under app:/user: keys."""
    await history(store, "s", ev("inv1", delta={"a": None}),
                  Event(author="user", invocation_id="r", actions=EventActions(
                      state_delta={"user:u": None, "b": None, "c": 1},
                      rewind_before_invocation_id="inv1")))
    assert {"a": None, "user:u": None, "c": 1} == await state_of(store, "s")


async def test_rewind_event_round_trips(store: BaseSessionService) -> None:
    """The stored rewind event reads back equal to the one appended."""
    await history(store, "s", *THREE_INVOCATIONS)
    event = await rewind(store, "s", "inv2")
    session = await store.get_session(app_name=APP, user_id=USER, session_id="s")
    assert session is not None
    assert event.model_dump(mode="json") == session.events[-1].model_dump(mode="json")


async def test_artifacts_restored_as_new_versions(artifacts: BaseArtifactService) -> None:
    """Files changed since the rewind point get their old content back as a new version;
    files created since load as absent; user: files and untouched files stay."""
    store = InMemorySessionService()
    session = await store.create_session(app_name=APP, user_id=USER, session_id="s")

    async def save(name: str, text: str) -> int:
        return await artifacts.save_artifact(app_name=APP, user_id=USER, session_id="s",
                                             filename=name, artifact=types.Part(text=text))

    async def load(name: str, version: int | None = None) -> str | None:
        part = await artifacts.load_artifact(app_name=APP, user_id=USER, session_id="s",
                                             filename=name, version=version)
        return None if part is None else part.text

    files1 = {"a.txt": await save("a.txt", "a0"), "same.txt": await save("same.txt", "s"),
              "user:u.txt": await save("user:u.txt", "u0")}
    await store.append_event(session, ev("inv1", files=files1))
    files2 = {"a.txt": await save("a.txt", "a1"), "new.txt": await save("new.txt", "n0"),
              "user:u.txt": await save("user:u.txt", "u1")}
    await store.append_event(session, ev("inv2", files=files2))

    event = await rewind(store, "s", "inv2", artifacts)
    assert {"a.txt": 2, "new.txt": 1} == event.actions.artifact_delta
    assert "a0" == await load("a.txt")
    assert "a1" == await load("a.txt", 1)
    assert await load("new.txt") is None
    assert "n0" == await load("new.txt", 0)
    assert "s" == await load("same.txt")
    assert "u1" == await load("user:u.txt")
    # Without an artifact service no file is touched.
    assert {} == (await rewind(store, "s", "inv2")).actions.artifact_delta


def test_keys_removed_by_rewind() -> None:
    plain = ev("i", delta={"a": None})
    assert frozenset() == keys_removed_by_rewind(plain)
    rewind_event = Event(author="user", actions=EventActions(
        state_delta={"a": None, "b": 1, "app:x": None, "user:y": None, "temp:z": None},
        rewind_before_invocation_id="i"))
    assert frozenset({"a"}) == keys_removed_by_rewind(rewind_event)


# ----------------------------------------------------------------- without_rewound


def test_without_rewound_examples() -> None:
    e = [ev("i1"), ev("i2"), ev("i2"), ev("i3")]
    r2 = Event(author="user", invocation_id="r2",
               actions=EventActions(rewind_before_invocation_id="i2"))
    assert [e[0]] == without_rewound([*e, r2])
    assert [e[0], e[3]] == without_rewound([e[0], e[1], e[2], r2, e[3]])
    unknown = Event(author="user", invocation_id="r",
                    actions=EventActions(rewind_before_invocation_id="nope"))
    assert e == without_rewound([*e, unknown])
    # A rewind of the rewind's own invocation brings back what it took away.
    undo = Event(author="user", invocation_id="r3",
                 actions=EventActions(rewind_before_invocation_id="r2"))
    assert e == without_rewound([*e, r2, undo])


# A history is a list of steps: ("event", invocation number) or ("rewind", target).
_steps = st.lists(st.one_of(
    st.tuples(st.just("event"), st.integers(0, 5)),
    st.tuples(st.just("rewind"), st.integers(0, 7)),
), max_size=30)


def _build(steps: list[tuple[str, int]]) -> list[Event]:
    events: list[Event] = []
    for number, (kind, value) in enumerate(steps):
        if kind == "event":
            events.append(ev(f"i{value}", text=str(number)))
        else:
            events.append(Event(author="user", invocation_id=f"r{number}",
                                actions=EventActions(
                                    rewind_before_invocation_id=f"i{value}")))
    return events


def _reference(events: list[Event]) -> list[Event]:
    """The definition, slowly: walk newest first; a live rewind removes every event from
    the first one of its target invocation up to itself."""
    live = [True] * len(events)
    for index in range(len(events) - 1, -1, -1):
        target = events[index].actions.rewind_before_invocation_id
        if not live[index] or not target:
            continue
        start = next((i for i, e in enumerate(events) if e.invocation_id == target), None)
        low = index if start is None or start > index else start
        for i in range(low, index + 1):
            live[i] = False
    return [e for e, keep in zip(events, live, strict=True) if keep]


@settings(max_examples=300, deadline=None)
@given(_steps)
def test_without_rewound_property(steps: list[tuple[str, int]]) -> None:
    """No rewind event survives; no surviving event lies inside the span of a rewind
    that survives the rewinds after it; everything else is kept, in order."""
    events = _build(steps)
    kept = without_rewound(events)
    assert _reference(events) == kept
    assert not any(e.actions.rewind_before_invocation_id for e in kept)
    positions = [events.index(e) for e in kept]
    assert sorted(positions) == positions
    without_rewinds = [e for e in events if not e.actions.rewind_before_invocation_id]
    if len(without_rewinds) == len(events):
        assert events == kept
