"""list_sessions order and keyset pages, get_user_state, iter_events and GetSessionConfig
checks, on the in-memory store (durable stores run the same checks in their own files)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_adk.events import Event, EventActions
from trio_adk.sessions import GetSessionConfig, InMemorySessionService
from trio_adk.sessions._storage._pages import PageKey, decode_page_token, encode_page_token

APP = "app"


async def _sessions(service: InMemorySessionService, times: list[float]) -> list[str]:
    """One session per time, its last_update_time set by an event at that time."""
    ids = []
    for i, when in enumerate(times):
        user = f"u{i % 3}"
        session = await service.create_session(app_name=APP, user_id=user,
                                               session_id=f"s{i:03d}")
        await service.append_event(session, Event(author="user", timestamp=when))
        ids.append(session.id)
    return ids


async def test_sessions_are_listed_oldest_update_first() -> None:
    service = InMemorySessionService()
    await _sessions(service, [5.0, 1.0, 3.0, 1.0])
    listed = (await service.list_sessions(app_name=APP)).sessions
    # s001 (user u1) and s003 (user u0) tie at 1.0: the user id breaks the tie.
    assert [s.id for s in listed] == ["s003", "s001", "s002", "s000"]


@settings(max_examples=40, deadline=None)
@given(times=st.lists(st.sampled_from([1.0, 2.0, 3.0]), max_size=25),
       page_size=st.integers(min_value=1, max_value=7))
def test_pages_are_complete_disjoint_and_in_order(times: list[float], page_size: int) -> None:
    """Walking the pages lists every session exactly once, in the unpaged order, and
    only the last page has no next token (ties in update time included)."""
    import trio

    async def walk() -> None:
        service = InMemorySessionService()
        await _sessions(service, times)
        everything = [s.id for s in (await service.list_sessions(app_name=APP)).sessions]
        seen: list[str] = []
        token: str | None = None
        while True:
            page = await service.list_sessions(app_name=APP, page_size=page_size,
                                               page_token=token)
            assert len(page.sessions) <= page_size
            seen.extend(s.id for s in page.sessions)
            token = page.next_page_token
            if token is None:
                break
            assert len(page.sessions) == page_size
        assert seen == everything

    trio.run(walk)


async def test_a_user_filter_applies_to_pages() -> None:
    service = InMemorySessionService()
    await _sessions(service, [float(i) for i in range(9)])
    page = await service.list_sessions(app_name=APP, user_id="u1", page_size=2)
    assert [s.id for s in page.sessions] == ["s001", "s004"]
    assert page.next_page_token is not None
    rest = await service.list_sessions(app_name=APP, user_id="u1", page_size=2,
                                       page_token=page.next_page_token)
    assert [s.id for s in rest.sessions] == ["s007"]
    assert rest.next_page_token is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"page_size": 0}, ValueError, "page_size must be from 1 to 1000"),
        ({"page_size": 1001}, ValueError, "page_size"),
        ({"page_size": True}, TypeError, "page_size must be an int"),
        ({"page_token": "x"}, ValueError, "page_token needs page_size"),
        ({"page_size": 2, "page_token": "not a token"}, ValueError, "is not a token"),
        ({"page_size": 2, "page_token": 5}, TypeError, "page_token must be a str"),
    ],
)
async def test_bad_page_arguments_are_refused(kwargs: dict[str, Any], error: type,
                                              match: str) -> None:
    service = InMemorySessionService()
    with pytest.raises(error, match=match):
        await service.list_sessions(app_name=APP, **kwargs)


@given(when=st.floats(allow_nan=False, allow_infinity=False),
       user=st.text(max_size=20), sid=st.text(max_size=20))
def test_page_tokens_round_trip(when: float, user: str, sid: str) -> None:
    key = PageKey(when, user, sid)
    assert decode_page_token(encode_page_token(key)) == key


async def test_get_user_state_reads_user_keys_without_a_session() -> None:
    service = InMemorySessionService()
    assert await service.get_user_state(app_name=APP, user_id="u") == {}
    session = await service.create_session(app_name=APP, user_id="u",
                                           state={"user:lang": "fr", "app:x": 1, "k": 2})
    await service.append_event(session, Event(
        author="a", actions=EventActions(state_delta={"user:n": [1]})))
    state = await service.get_user_state(app_name=APP, user_id="u")
    assert state == {"lang": "fr", "n": [1]}
    state["n"].append(2)  # a copy: storage is unchanged
    assert await service.get_user_state(app_name=APP, user_id="u") == {"lang": "fr",
                                                                         "n": [1]}


async def test_iter_events_yields_batches_in_order() -> None:
    service = InMemorySessionService()
    session = await service.create_session(app_name=APP, user_id="u")
    for i in range(7):
        await service.append_event(session, Event(author="a", id=f"e{i}"))
    batches = [[e.id for e in batch] async for batch in service.iter_events(
        app_name=APP, user_id="u", session_id=session.id, batch_size=3)]
    assert batches == [["e0", "e1", "e2"], ["e3", "e4", "e5"], ["e6"]]
    unknown = [b async for b in service.iter_events(app_name=APP, user_id="u",
                                                    session_id="nope")]
    assert unknown == []


def test_get_session_config_refuses_a_negative_count_as_adk_does() -> None:
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        GetSessionConfig(num_recent_events=-1)
    with pytest.raises(TypeError, match="num_recent_events must be an int"):
        GetSessionConfig(num_recent_events="3")  # type: ignore[arg-type]
    assert GetSessionConfig(num_recent_events=0).num_recent_events == 0
