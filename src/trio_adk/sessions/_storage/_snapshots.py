"""Recently loaded sessions' events, so that a reload reads only what changed.

A runner loads its session on every run; a durable store that read every event row
each time would make a turn cost time in proportion to the whole history.  A store
keeps here, per session, the events it last loaded or appended, with the stored
revision they belong to and each event's place in the store's event order.  On the
next load it reads the session row (and state rows) as always, then:

* the stored revision equals the snapshot's: the events are the snapshot's;
* the session is the same one (same creation) but other writers appended: only the
  rows after the snapshot's last event are read, once the store has checked that the
  rows it holds are still exactly there (same last event at the same place, same
  count); anything else reads everything, as without a snapshot.

Each load hands out a new list (the Event objects are shared, as the decoded-event
cache and the in-memory store share them: events are read-only records).

Bounded by the total number of events held; least recently used sessions go first.
Safe to use from several threads (one lock, held only for dictionary work); snapshots
are immutable, so a reader holds a consistent one without the lock.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Hashable, Sequence
from typing import Any

import attrs

from trio_adk.events._event import Event

DEFAULT_MAX_EVENTS = 20_000


@attrs.frozen
class Snapshot:
    """One session's events as stored at ``revision``.

    ``positions[i]`` is event ``i``'s place in the store's order (its ORDER BY columns,
    as the driver returned them), ascending.
    """

    revision: Hashable
    events: tuple[Event, ...]
    positions: tuple[Any, ...]

    def extended(self, revision: Hashable, events: Sequence[Event],
                 positions: Sequence[Any]) -> Snapshot:
        return Snapshot(revision, self.events + tuple(events),
                        self.positions + tuple(positions))


class SessionSnapshots:
    """An LRU map from a session key to its :class:`Snapshot`, bounded by events held.

    ``max_events=0`` keeps nothing (every load reads everything)."""

    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        self.max_events = max_events
        self._held = 0
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[Hashable, Snapshot] = (
            collections.OrderedDict())

    def get(self, key: Hashable) -> Snapshot | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, snapshot: Snapshot) -> None:
        with self._lock:
            self._put(key, snapshot)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._put(key, None)

    def replace(self, key: Hashable, expected: Snapshot, snapshot: Snapshot | None) -> None:
        """Put ``snapshot`` (or drop the entry when ``None``) only if ``key`` still holds
        ``expected``: an append that extended a snapshot never overwrites a newer one."""
        with self._lock:
            if self._entries.get(key) is expected:
                self._put(key, snapshot)

    def _put(self, key: Hashable, snapshot: Snapshot | None) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._held -= len(old.events)
        if snapshot is None or not self.max_events or len(snapshot.events) > self.max_events:
            return
        self._entries[key] = snapshot
        self._held += len(snapshot.events)
        while self._held > self.max_events:
            _, dropped = self._entries.popitem(last=False)
            self._held -= len(dropped.events)

    @property
    def held(self) -> int:
        """Events held now (for tests and benchmarks)."""
        return self._held
