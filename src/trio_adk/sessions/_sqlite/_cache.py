"""Decoded events, kept by the exact stored text they were decoded from.

Decoding an event (JSON, then the Event and its genai parts) costs far more than reading
its row, and a runner loads the same session again on every run.  Stored events never
change in place, and the key is the row's own text (with the key columns the v1 layout
reads beside it), so a hit is always the event that text decodes to: a row rewritten
with other content is simply another key.  The Event objects are shared by every
session a service returns, as the in-memory service shares its stored events: events
are read-only records.

Least recently used entries go first once the texts held pass ``max_bytes``.  Safe to
use from several threads at once (one lock, held only for dictionary work).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Hashable, Sequence

from trio_adk.events._event import Event


class EventCache:
    """An LRU map from stored event text (plus key columns) to the decoded Event."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[Hashable, tuple[Event, int]] = (
            collections.OrderedDict())

    def decode_all(self, rows: Sequence[tuple[Hashable, int]],
                   decode: Callable[[int], Event]) -> list[Event]:
        """The events for ``rows`` (each a cache key and the row's index, which is what
        ``decode`` is called with on a miss), in order."""
        found: list[Event | None] = []
        with self._lock:
            entries = self._entries
            for key, _ in rows:
                entry = entries.get(key)
                if entry is None:
                    found.append(None)
                else:
                    entries.move_to_end(key)
                    found.append(entry[0])
        missing = [(position, key, index) for position, ((key, index), event)
                   in enumerate(zip(rows, found, strict=True)) if event is None]
        if not missing:
            return found  # type: ignore[return-value]
        decoded = [(position, key, decode(index)) for position, key, index in missing]
        with self._lock:
            for position, key, event in decoded:
                found[position] = event
                size = _size(key)
                if size > self._max_bytes or key in self._entries:
                    continue
                self._entries[key] = (event, size)
                self._bytes += size
            while self._bytes > self._max_bytes:
                _, (_, size) = self._entries.popitem(last=False)
                self._bytes -= size
        return found  # type: ignore[return-value]


def _size(key: Hashable) -> int:
    text = key[0] if isinstance(key, tuple) else key
    return len(text) if isinstance(text, str | bytes) else 64
