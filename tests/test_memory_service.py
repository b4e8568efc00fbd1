"""Behaviour of InMemoryMemoryService."""

# The suite asserts `expected == actual`, which SIM300 calls a Yoda condition.

from __future__ import annotations

from datetime import datetime

import pytest
from google.genai import types

from trio_adk.events import Event
from trio_adk.memory import (
    BaseMemoryService,
    InMemoryMemoryService,
    MemoryEntry,
    SearchMemoryResponse,
)
from trio_adk.sessions import Session

APP = "app"
USER = "user"


def _event(text: str | None, *, author: str = "user", timestamp: float = 1_700_000_000.0) -> Event:
    if text is None:
        return Event(author=author, timestamp=timestamp)
    return Event(
        author=author,
        timestamp=timestamp,
        content=types.Content(role="user", parts=[types.Part(text=text)]),
    )


def _session(*texts: str | None, sid: str = "s1", user_id: str = USER, app: str = APP) -> Session:
    return Session(id=sid, app_name=app, user_id=user_id, events=[_event(t) for t in texts])


@pytest.fixture
def service() -> InMemoryMemoryService:
    return InMemoryMemoryService()


async def _texts(service: InMemoryMemoryService, query: str, *, user_id: str = USER) -> list[str]:
    response = await service.search_memory(app_name=APP, user_id=user_id, query=query)
    result: list[str] = []
    for memory in response.memories:
        assert memory.content.parts is not None
        result.append("".join(p.text or "" for p in memory.content.parts))
    return result


def test_value_types() -> None:
    """MemoryEntry defaults author and timestamp to None; a response defaults to empty."""
    content = types.Content(role="user", parts=[types.Part(text="x")])
    entry = MemoryEntry(content=content)
    assert (content, None, None) == (entry.content, entry.author, entry.timestamp)
    assert [] == SearchMemoryResponse().memories
    assert issubclass(InMemoryMemoryService, BaseMemoryService)


async def test_search_empty_memory(service: InMemoryMemoryService) -> None:
    """Searching before anything was added gives no memories."""
    assert [] == await _texts(service, "anything")


async def test_simple_match_has_author_and_iso_timestamp(service: InMemoryMemoryService) -> None:
    """A matching event comes back with its content, author and ISO-8601 timestamp."""
    session = Session(
        id="s1",
        app_name=APP,
        user_id=USER,
        events=[_event("The weather is sunny", author="agent", timestamp=1_700_000_000.5)],
    )
    await service.add_session_to_memory(session)
    response = await service.search_memory(app_name=APP, user_id=USER, query="sunny day")
    assert 1 == len(response.memories)
    memory = response.memories[0]
    assert session.events[0].content == memory.content
    assert "agent" == memory.author
    assert memory.timestamp is not None
    assert 1_700_000_000.5 == datetime.fromisoformat(memory.timestamp).timestamp()


async def test_match_is_case_insensitive(service: InMemoryMemoryService) -> None:
    """Words match regardless of case."""
    await service.add_session_to_memory(_session("Hello WORLD"))
    assert ["Hello WORLD"] == await _texts(service, "world")


async def test_words_are_runs_of_letters(service: InMemoryMemoryService) -> None:
    """Punctuation and digits separate words; parts of words do not match."""
    await service.add_session_to_memory(_session("pizza,pasta!", "order42pizza", "pizzeria"))
    assert ["pizza,pasta!", "order42pizza"] == await _texts(service, "PIZZA?")
    assert [] == await _texts(service, "42")
    assert [] == await _texts(service, "")


async def test_multiple_matches_in_order(service: InMemoryMemoryService) -> None:
    """Every event sharing a word with the query is returned, in event order."""
    await service.add_session_to_memory(_session("cats are great", "dogs too", "cats again"))
    assert ["cats are great", "cats again"] == await _texts(service, "cats")
    assert ["cats are great", "dogs too", "cats again"] == await _texts(service, "dogs cats")


async def test_no_match(service: InMemoryMemoryService) -> None:
    """A query sharing no word with any event gives no memories."""
    await service.add_session_to_memory(_session("apples and pears"))
    assert [] == await _texts(service, "bananas")


async def test_events_without_content_are_skipped(service: InMemoryMemoryService) -> None:
    """Events without content parts are not remembered; an empty session adds nothing."""
    await service.add_session_to_memory(_session())
    no_parts = Event(author="user", content=types.Content(role="user", parts=[]))
    session = _session(None, "kept text", sid="s2")
    session.events.append(no_parts)
    await service.add_session_to_memory(session)
    assert ["kept text"] == await _texts(service, "text kept")


async def test_multiple_text_parts_are_joined(service: InMemoryMemoryService) -> None:
    """Words from all text parts of an event count, but not across part boundaries."""
    event = Event(
        author="user",
        content=types.Content(role="user", parts=[types.Part(text="red"), types.Part(text="fox")]),
    )
    await service.add_session_to_memory(Session(id="s", app_name=APP, user_id=USER, events=[event]))
    assert ["redfox"] == await _texts(service, "fox")
    assert [] == await _texts(service, "redfox")


async def test_re_adding_a_session_replaces_it(service: InMemoryMemoryService) -> None:
    """Adding a session again replaces what was remembered for it."""
    await service.add_session_to_memory(_session("old words"))
    await service.add_session_to_memory(_session("new words"))
    assert ["new words"] == await _texts(service, "words")
    assert [] == await _texts(service, "old")


async def test_sessions_are_all_searched(service: InMemoryMemoryService) -> None:
    """Memories of several sessions of the user are all searched."""
    await service.add_session_to_memory(_session("first trip", sid="a"))
    await service.add_session_to_memory(_session("second trip", sid="b"))
    assert ["first trip", "second trip"] == await _texts(service, "trip")


async def test_search_is_scoped_by_app_and_user(service: InMemoryMemoryService) -> None:
    """A user never sees another user's or another app's memories."""
    await service.add_session_to_memory(_session("secret plan", user_id="alice"))
    await service.add_session_to_memory(_session("secret recipe", user_id="bob"))
    await service.add_session_to_memory(_session("secret code", user_id="alice", app="other"))
    assert ["secret plan"] == await _texts(service, "secret", user_id="alice")
    assert ["secret recipe"] == await _texts(service, "secret", user_id="bob")


async def test_results_do_not_alias_storage(service: InMemoryMemoryService) -> None:
    """Changing a returned memory's content does not change later search results."""
    await service.add_session_to_memory(_session("keep me"))
    response = await service.search_memory(app_name=APP, user_id=USER, query="keep")
    parts = response.memories[0].content.parts
    assert parts is not None
    parts[0].text = "changed"
    assert ["keep me"] == await _texts(service, "keep")
