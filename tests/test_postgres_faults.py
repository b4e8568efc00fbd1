"""Real faults against PostgreSQL: a server restart mid-run; every event round-trips."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pg_fixtures import pg_database, pg_url  # noqa: F401
from trio_adk.errors import StorageError
from trio_adk.events import Event, EventActions

psycopg = pytest.importorskip("psycopg")

from trio_adk.sessions.database_session_service import DatabaseSessionService  # noqa: E402

_CTL = shutil.which("pg_ctlcluster")


def _restart_command() -> list[str] | None:
    if _CTL is None or os.geteuid() != 0 or not os.path.isdir("/etc/postgresql"):
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        return None
    return [_CTL, "--skip-systemctl-redirect", versions[-1], "main"]


@pytest.mark.slow
async def test_server_restart_mid_run_is_a_storage_error_then_service_recovers(
        pg_url: str) -> None:  # noqa: F811
    ctl = _restart_command()
    if ctl is None:
        pytest.skip("needs root and pg_ctlcluster to restart PostgreSQL")
    service = DatabaseSessionService(pg_url)
    try:
        session = await service.create_session(app_name="faults", user_id="u")
        await service.append_event(session, Event(author="user", invocation_id="i"))
        try:
            await trio.run_process([*ctl, "restart"], capture_stdout=True,
                                   capture_stderr=True)
        finally:
            # Whatever happened, leave the server up.
            await trio.run_process([*ctl, "start"], check=False, capture_stdout=True,
                                   capture_stderr=True)
        before = (list(session.events), session._storage_update_marker)
        with pytest.raises(StorageError, match="connection lost"):
            await service.append_event(session, Event(author="user", invocation_id="j"))
        assert before == (list(session.events), session._storage_update_marker)
        # Fresh connections afterwards; nothing half-written.
        loaded = await service.get_session(app_name="faults", user_id="u",
                                           session_id=session.id)
        assert loaded is not None and ["i"] == [e.invocation_id for e in loaded.events]
        await service.append_event(loaded, Event(author="user", invocation_id="k"))
        again = await service.get_session(app_name="faults", user_id="u",
                                          session_id=session.id)
        assert again is not None and ["i", "k"] == [e.invocation_id for e in again.events]
    finally:
        await service.close()


# -- round trip ---------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(blacklist_characters="\x00",
                                       blacklist_categories=("Cs",)), max_size=30)
_json: Any = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15)
    | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8)
_part = st.one_of(
    _text.map(lambda t: types.Part(text=t)),
    st.binary(max_size=40).map(lambda b: types.Part(
        inline_data=types.Blob(data=b, mime_type="application/octet-stream"))),
    st.tuples(_text, st.dictionaries(_text, _json, max_size=3)).map(
        lambda a: types.Part(function_call=types.FunctionCall(name="f" + a[0][:5],
                                                              args=a[1], id="c1"))),
    st.dictionaries(_text, _json, max_size=3).map(lambda r: types.Part(
        function_response=types.FunctionResponse(name="f", response=r, id="c1"))),
)


@st.composite
def _events(draw: st.DrawFn) -> Event:
    keys = st.sampled_from(["a", "b", "app:x", "user:y", "nested"])
    return Event(
        id=str(draw(st.uuids())), timestamp=draw(st.floats(1e9, 2e9)),
        author=draw(st.sampled_from(["user", "agent"])),
        invocation_id="inv",
        branch=draw(st.none() | st.just("root.child")),
        content=types.Content(role="model", parts=draw(st.lists(_part, min_size=1,
                                                                max_size=3))),
        actions=EventActions(state_delta=draw(st.dictionaries(keys, _json, max_size=3)),
                             artifact_delta=draw(st.dictionaries(_text, st.integers(0, 9),
                                                                 max_size=2))),
        custom_metadata=draw(st.none() | st.dictionaries(_text, _json, max_size=2)),
        long_running_tool_ids=draw(st.none() | st.just({"c1"})),
        grounding_metadata=draw(st.none() | st.just(types.GroundingMetadata(
            web_search_queries=["q"]))),
    )


@pytest.fixture
async def service(pg_url: str) -> AsyncIterator[DatabaseSessionService]:  # noqa: F811
    svc = DatabaseSessionService(pg_url)
    try:
        yield svc
    finally:
        await svc.close()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=_events())
async def test_every_event_comes_back_equal(service: DatabaseSessionService,
                                            event: Event) -> None:
    session = await service.create_session(app_name="roundtrip", user_id="u")
    await service.append_event(session, event)
    loaded = await service.get_session(app_name="roundtrip", user_id="u",
                                       session_id=session.id)
    assert loaded is not None
    assert [event.model_dump()] == [e.model_dump() for e in loaded.events]
    await service.delete_session(app_name="roundtrip", user_id="u", session_id=session.id)
