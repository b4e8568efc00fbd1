"""Which of a session's events still count once rewinds are taken into account."""

from __future__ import annotations

from collections.abc import Sequence

from trio_adk.events._event import Event

# State scopes a rewind never touches (shared beyond the session, or never stored).
_SHARED_PREFIXES = ("app:", "user:", "temp:")


def without_rewound(events: Sequence[Event]) -> list[Event]:
    """``events`` minus every rewind event and the events each one rewinds.

    A rewind event (``actions.rewind_before_invocation_id`` set, appended by
    ``Runner.rewind_async``) takes away itself and everything from the first event of
    the invocation it names up to it, compaction events included.  Rewinds are applied
    newest first, so a rewind that was itself rewound no longer counts.  A rewind naming
    an invocation that no earlier event has takes away only itself.

    Returns a new list (``events`` is not changed); O(len(events)).
    """
    if not any(e.actions.rewind_before_invocation_id for e in events):
        return list(events)
    first_index: dict[str, int] = {}
    for index, event in enumerate(events):
        first_index.setdefault(event.invocation_id, index)
    kept: list[Event] = []
    index = len(events) - 1
    while index >= 0:
        event = events[index]
        target = event.actions.rewind_before_invocation_id
        if target:
            start = first_index.get(target)
            index = start - 1 if start is not None and start < index else index - 1
            continue
        kept.append(event)
        index -= 1
    kept.reverse()
    return kept


def keys_removed_by_rewind(event: Event) -> frozenset[str]:
    """The session-state keys a rewind event removes from the session's state.

    In a rewind event's ``state_delta`` (and only there) a ``None`` value under a
    session key (no ``app:``/``user:``/``temp:`` prefix) means "this key did not exist
    before the rewound invocation": every session store deletes the key instead of
    storing null, so the state is exactly what it was.  Other events keep ADK's rule
    (a ``None`` is stored as null), and ``app:``/``user:`` keys are never removed.
    """
    if not event.actions.rewind_before_invocation_id:
        return frozenset()
    return frozenset(
        key for key, value in event.actions.state_delta.items()
        if value is None and not key.startswith(_SHARED_PREFIXES))
