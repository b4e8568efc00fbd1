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


_GROW_LOCK = threading.Lock()


@attrs.frozen
class Snapshot:
    """One session's events as stored at ``revision``: the first ``size`` items of
    ``events``, with ``positions[i]`` event ``i``'s place in the store's order (its
    ORDER BY columns as the driver returned them), ascending.

    The lists are shared by the snapshots grown from one another and only ever
    appended to (under a lock), so growing a snapshot by k events costs k, not the
    history; the first ``size`` items never change.
    """

    revision: Hashable
    events: list[Event] = attrs.field(repr=False)
    positions: list[Any] = attrs.field(repr=False)
    size: int
    # Where the store's newest row of these is, if the store can find the rows stored
    # after it directly (SQLite: the highest rowid, and that row's event id).
    mark: Any = None

    @classmethod
    def of(cls, revision: Hashable, events: list[Event], positions: list[Any],
           mark: Any = None) -> Snapshot:
        """A snapshot owning ``events`` and ``positions`` (not to be changed after)."""
        return cls(revision, events, positions, len(events), mark)

    def event_list(self) -> list[Event]:
        """A new list of the events (the Event objects are shared)."""
        return self.events[:self.size]

    def last_event(self) -> Event | None:
        return self.events[self.size - 1] if self.size else None

    def last_position(self) -> Any:
        return self.positions[self.size - 1] if self.size else None

    def extended(self, revision: Hashable, events: Sequence[Event],
                 positions: Sequence[Any], mark: Any = None) -> Snapshot:
        """This snapshot and ``events`` after it, at ``revision``."""
        with _GROW_LOCK:
            if len(self.events) == self.size:  # the lists end here: append in place
                self.events.extend(events)
                self.positions.extend(positions)
                return Snapshot(revision, self.events, self.positions,
                                self.size + len(events), mark)
            grown = self.events[:self.size]
            where = self.positions[:self.size]
        grown.extend(events)
        where.extend(positions)
        return Snapshot(revision, grown, where, len(grown), mark)


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
            self._held -= old.size
        if snapshot is None or not self.max_events or snapshot.size > self.max_events:
            return
        self._entries[key] = snapshot
        self._held += snapshot.size
        while self._held > self.max_events:
            _, dropped = self._entries.popitem(last=False)
            self._held -= dropped.size

    @property
    def held(self) -> int:
        """Events held now (for tests and benchmarks)."""
        return self._held
