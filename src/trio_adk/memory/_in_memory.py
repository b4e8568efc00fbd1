"""InMemoryMemoryService: keyword search over sessions kept in process memory."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from trio_adk.memory._base import BaseMemoryService, MemoryEntry, SearchMemoryResponse

if TYPE_CHECKING:
    from trio_adk.events._event import Event
    from trio_adk.sessions._session import Session

_WORD = re.compile(r"[A-Za-z]+")


def _words(text: str) -> frozenset[str]:
    """The lower-cased runs of ASCII letters in ``text``."""
    return frozenset(word.lower() for word in _WORD.findall(text))


def _event_words(event: Event) -> frozenset[str]:
    parts = event.content.parts if event.content and event.content.parts else []
    return _words(" ".join(part.text for part in parts if part.text))


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()


class InMemoryMemoryService(BaseMemoryService):
    """Remembers the events of added sessions and finds them by shared words.

    For each (app, user) and session id it keeps the events that have content parts;
    adding a session again replaces what was kept for it.  A search matches an event
    when the query and the event's text parts share at least one word (a run of ASCII
    letters, compared case-insensitively); results come in session-add order, then
    event order.  Each result carries a copy of the event's content, its author and
    its timestamp as an ISO-8601 UTC string.  Meant for tests and prototypes.

    Threads and cancellation: call the methods from the trio thread that runs the
    runner (not thread-safe).  None of them suspends, so a cancelled call either
    completed or did not start.
    """

    def __init__(self) -> None:
        # (app_name, user_id) -> session id -> [(event, words of its text)]
        self._events: dict[tuple[str, str], dict[str, list[tuple[Event, frozenset[str]]]]] = {}

    async def add_session_to_memory(self, session: Session) -> None:
        """Keep the session's events that have content parts, replacing earlier ones.

        Does not suspend: a cancelled call either added the session or did not start.
        """
        kept = [
            (event, _event_words(event))
            for event in session.events
            if event.content is not None and event.content.parts
        ]
        by_session = self._events.setdefault((session.app_name, session.user_id), {})
        by_session.pop(session.id, None)  # re-adding moves the session to the end
        by_session[session.id] = kept

    async def search_memory(
        self, *, app_name: str, user_id: str, query: str
    ) -> SearchMemoryResponse:
        """Return the remembered events of this app and user sharing a word with ``query``.

        A query without letters matches nothing.  Does not suspend.
        """
        query_words = _words(query)
        memories: list[MemoryEntry] = []
        by_session = self._events.get((app_name, user_id))
        if not query_words or not by_session:
            return SearchMemoryResponse(memories=memories)
        for kept in by_session.values():
            for event, words in kept:
                if query_words.isdisjoint(words):
                    continue
                assert event.content is not None
                memories.append(
                    MemoryEntry(
                        content=event.content.model_copy(deep=True),
                        id=event.id,
                        author=event.author,
                        timestamp=_iso(event.timestamp),
                    )
                )
        return SearchMemoryResponse(memories=memories)
