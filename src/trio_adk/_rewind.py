"""Rewinding a session to before one of its invocations (``Runner.rewind_async``).

A rewind never deletes anything: it appends one event that names the invocation
(``actions.rewind_before_invocation_id``) and carries the state and artifact changes
that undo everything from that invocation on.  Readers of the history drop the rewound
span with :func:`trio_adk.events._rewinds.without_rewound`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from google.genai import types

from trio_adk.agents._invocation_context import new_invocation_context_id
from trio_adk.errors import InvocationNotFoundError, SessionNotFoundError
from trio_adk.events._event import Event
from trio_adk.events._event_actions import EventActions
from trio_adk.events._rewinds import keys_removed_by_rewind
from trio_adk.sessions._state import State

if TYPE_CHECKING:
    from trio_adk.artifacts._base import BaseArtifactService
    from trio_adk.sessions._base import BaseSessionService
    from trio_adk.sessions._session import Session

_log = logging.getLogger("trio_adk")

# Scopes a rewind leaves alone: shared with other sessions, or never stored.
_NOT_REWOUND = (State.APP_PREFIX, State.USER_PREFIX, State.TEMP_PREFIX)
_USER_FILE = "user:"


def _rewind_tombstone() -> types.Part:
    """What a rewind saves over a file that did not exist yet: ADK's marker, an empty
    ``application/octet-stream`` blob, which every artifact store loads as absent."""
    return types.Part(inline_data=types.Blob(mime_type="application/octet-stream", data=b""))


async def rewind_session(
    *,
    session_service: BaseSessionService,
    artifact_service: BaseArtifactService | None,
    app_name: str,
    user_id: str,
    session_id: str,
    rewind_before_invocation_id: str,
) -> Event:
    """Append a rewind event that undoes ``rewind_before_invocation_id`` and what followed.

    Loads the whole session (every event, whatever a run's ``get_session_config``
    says), finds the first stored event of the invocation, and appends one
    ``user``-authored event (a new invocation id) with:

    * ``rewind_before_invocation_id``: the invocation named;
    * ``state_delta``: the session keys whose value differs from the value they had
      before that invocation (the events' stored deltas replayed from the start), and
      ``None`` for each key that did not exist then.  Every store removes such a key,
      so the session state is afterwards what it was before the invocation.  Keys no
      event ever changed (given to ``create_session``) are left alone, where ADK
      removes them; a key given to ``create_session`` and first changed by the
      rewound span is removed, as in ADK (its first value is in no event).  The
      deltas are replayed as the stores apply them: a ``None`` is a stored null except
      in a rewind event (ADK reads every ``None`` as a removal, so it also removes a
      key that held null before the invocation; here it stays null, unless the span
      changed it, when it is removed);
    * ``artifact_delta``: for each session file whose version changed since then, the
      old version's content saved again as a new version, or, for a file that did not
      exist then, ADK's rewind marker (loaded as absent) saved as a new version.

    Never undone (as in ADK): ``app:`` and ``user:`` state, ``user:`` files.  ``temp:``
    state is never stored.  Rewinding before an invocation that a rewind already took
    away (or before a rewind event's own invocation) is allowed: state and files are
    computed from the stored history as it was just before that invocation, so the
    later rewind takes the earlier one away too.  Rewinding twice to the same point
    changes no state the second time but saves changed files once more (versions are
    compared by number, as ADK compares them).

    Returns:
        The rewind event as appended.

    Raises:
        SessionNotFoundError: the session does not exist.
        InvocationNotFoundError: no event of the session has that invocation id.

    Cancellation (and failure): files are saved before the event is appended, so a
    rewind cancelled in between leaves the session unchanged but the restored versions
    saved, as the files' latest versions; no event refers to them, and rewinding again
    saves them once more.  Once the append has returned, the rewind is stored.
    """
    session = await session_service.get_session(
        app_name=app_name, user_id=user_id, session_id=session_id)
    if session is None:
        raise SessionNotFoundError(
            f"Session not found: {session_id} (app_name={app_name!r}, "
            f"user_id={user_id!r}); there is nothing to rewind. Check the ids, or list "
            "the user's sessions with session_service.list_sessions(...).")
    events = session.events
    start = next((index for index, event in enumerate(events)
                  if event.invocation_id == rewind_before_invocation_id), None)
    if start is None:
        raise InvocationNotFoundError(
            f"Invocation ID not found: {rewind_before_invocation_id} (session "
            f"{session_id}, {len(events)} events). Pass the invocation_id of one of the "
            "session's events (for example event.invocation_id of an event a run "
            "yielded).")
    state_delta = _state_delta(session, start)
    artifact_delta: dict[str, int] = {}
    if artifact_service is not None:
        artifact_delta = await _restore_artifacts(artifact_service, session, start)
    event = Event(
        author="user",
        invocation_id=new_invocation_context_id(),
        actions=EventActions(
            state_delta=state_delta,
            artifact_delta=artifact_delta,
            rewind_before_invocation_id=rewind_before_invocation_id,
        ),
    )
    _log.info("Rewinding session %s to before invocation %s (event %s)",
              session_id, rewind_before_invocation_id, event.id)
    return await session_service.append_event(session, event)


def _state_delta(session: Session, start: int) -> dict[str, Any]:
    """The session-state changes that bring ``session.state`` back to its value before
    ``session.events[start]`` (``None``: the key did not exist then)."""
    # Replayed by the stores' rule: None is a stored null, except in a rewind event.
    then: dict[str, Any] = {}
    for event in session.events[:start]:
        removed = keys_removed_by_rewind(event)
        for key, value in event.actions.state_delta.items():
            if key.startswith(_NOT_REWOUND):
                continue
            if key in removed:
                then.pop(key, None)
            else:
                then[key] = value
    # Keys no event ever changed hold what create_session gave them, before the
    # invocation too: left alone (ADK would remove them, replaying from an empty state).
    changed = {key for event in session.events for key in event.actions.state_delta}
    now = session.state
    delta = {key: value for key, value in then.items()
             if key not in now or now[key] != value}
    for key in now:
        if key in changed and key not in then and not key.startswith(_NOT_REWOUND):
            delta[key] = None
    return delta


async def _restore_artifacts(
    artifact_service: BaseArtifactService, session: Session, start: int
) -> dict[str, int]:
    """Save, as new versions, each session file's content from before
    ``session.events[start]``; the new versions by filename."""
    then = _latest_versions(session.events[:start])
    now = _latest_versions(session.events)
    restored: dict[str, int] = {}
    for filename, version in now.items():
        if filename.startswith(_USER_FILE) or then.get(filename) == version:
            continue
        old_version = then.get(filename)
        part = None
        if old_version is not None:
            part = await artifact_service.load_artifact(
                app_name=session.app_name, user_id=session.user_id,
                session_id=session.id, filename=filename, version=old_version)
            if part is None:
                _log.warning(
                    "Rewind of session %s: version %d of artifact %r is gone; the file "
                    "is marked absent instead.", session.id, old_version, filename)
        restored[filename] = await artifact_service.save_artifact(
            app_name=session.app_name, user_id=session.user_id, session_id=session.id,
            filename=filename, artifact=part if part is not None else _rewind_tombstone())
    return restored


def _latest_versions(events: Sequence[Event]) -> dict[str, int]:
    versions: dict[str, int] = {}
    for event in events:
        versions.update(event.actions.artifact_delta)
    return versions
