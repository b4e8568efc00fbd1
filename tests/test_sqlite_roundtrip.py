"""SqliteSessionService round trips, property-based, and its use from several trio runs
at once (sync callers run their own trio run in a worker thread)."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import trio
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store_contract import APP, USER, event, fetch
from trio_adk.events import Event, EventActions
from trio_adk.sessions import SqliteSessionService

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
keys = st.sampled_from(["", "app:", "user:", "temp:"]).flatmap(
    lambda prefix: st.text(min_size=1, max_size=8).map(lambda name: prefix + name))
parts = st.one_of(
    st.text(max_size=40).map(lambda text: types.Part(text=text)),
    st.binary(max_size=40).map(lambda data: types.Part(
        inline_data=types.Blob(mime_type="application/octet-stream", data=data))),
    st.dictionaries(st.text(min_size=1, max_size=5), json_values, max_size=3).map(
        lambda args: types.Part(function_call=types.FunctionCall(id="c", name="f",
                                                                 args=args))),
    st.dictionaries(st.text(min_size=1, max_size=5), json_values, max_size=3).map(
        lambda response: types.Part(function_response=types.FunctionResponse(
            id="c", name="f", response=response))),
)
events = st.builds(
    lambda content, delta, artifacts, metadata, stamp, event_id: Event(
        author="agent", invocation_id="inv", id=str(event_id),
        content=types.Content(role="model", parts=content) if content else None,
        actions=EventActions(state_delta=delta, artifact_delta=artifacts),
        custom_metadata=metadata or None, timestamp=stamp),
    st.lists(parts, max_size=3),
    st.dictionaries(keys, json_values, max_size=4),
    st.dictionaries(st.text(min_size=1, max_size=8), st.integers(0, 9), max_size=2),
    st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=2),
    st.floats(min_value=0, max_value=4e9, allow_nan=False),
    st.uuids())


def _same(a: Any, b: Any) -> bool:
    """Equal, with -0.0 and 0.0 told apart and floats never equal to ints."""
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, list):
        return (isinstance(b, list) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    return type(a) is type(b) and a == b


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(appended=st.lists(events, min_size=1, max_size=4))
def test_events_and_state_round_trip(tmp_path_factory: Any, appended: list[Event]) -> None:
    """Whatever events are appended (text, any bytes, calls and responses with JSON
    arguments, state in every scope, artifact deltas, metadata, any timestamp) come back
    equal from a new service over the file, oldest first (ties in append order), and
    the state is the deltas applied in order (temp: keys never stored)."""
    path = tmp_path_factory.mktemp("rt") / "s.db"

    async def main() -> None:
        service = SqliteSessionService(path)
        try:
            session = await service.create_session(app_name=APP, user_id=USER,
                                                    session_id="s")
            for item in appended:
                await service.append_event(session, item)
        finally:
            await service.close()
        again = SqliteSessionService(path)
        try:
            loaded = await fetch(again, "s")
        finally:
            await again.close()
        order = sorted(range(len(appended)), key=lambda i: appended[i].timestamp)
        assert [appended[i] for i in order] == loaded.events
        expected: dict[str, Any] = {}
        for item in appended:
            expected.update((k, v) for k, v in item.actions.state_delta.items())
        assert _same(expected, loaded.state)

    trio.run(main)


async def test_several_trio_runs_share_one_service(tmp_path: Path) -> None:
    """Sync callers (a trio run of their own in a worker thread each) and this run use
    one service at once: every append lands, none is lost."""
    service = SqliteSessionService(tmp_path / "s.db")
    try:
        for n in range(3):
            await service.create_session(app_name=APP, user_id=USER, session_id=f"t{n}")

        def sync_worker(n: int) -> None:
            for i in range(5):
                session = service.get_session_sync(app_name=APP, user_id=USER,
                                                   session_id=f"t{n}")
                assert session is not None

                async def append(copy: Any = session, i: int = i) -> None:
                    await service.append_event(copy, event(text=f"{n}-{i}"))

                trio.run(append)

        threads = [threading.Thread(target=sync_worker, args=(n,), name=f"sync-{n}")
                   for n in range(2)]
        for thread in threads:
            thread.start()
        session = await fetch(service, "t2")
        for i in range(5):
            await service.append_event(session, event(text=f"2-{i}"))
        await trio.to_thread.run_sync(lambda: [t.join() for t in threads])
        for n in range(3):
            stored = await fetch(service, f"t{n}")
            assert [f"{n}-{i}" for i in range(5)] == [
                e.content.parts[0].text for e in stored.events if e.content and e.content.parts]
    finally:
        await service.close()
