"""InMemorySessionService: sessions kept in process memory (tests, demos, single process)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from trio_adk._utils._copy import copy_state, copy_value
from trio_adk._utils._locked import locked
from trio_adk.errors import AlreadyExistsError
from trio_adk.events._event import Event
from trio_adk.events._rewinds import keys_removed_by_rewind
from trio_adk.sessions._base import BaseSessionService
from trio_adk.sessions._session import GetSessionConfig, ListSessionsResponse, Session
from trio_adk.sessions._state import State
from trio_adk.sessions._storage._pages import PageKey, decode_page_token, encode_page_token

logger = logging.getLogger("trio_adk")

_APP = State.APP_PREFIX
_USER = State.USER_PREFIX
_TEMP = State.TEMP_PREFIX
_APP_LEN = len(_APP)
_USER_LEN = len(_USER)

class InMemorySessionService(BaseSessionService):
    """Keeps sessions, app state and user state in dicts; nothing survives the process.

    Storage layout (ADK-compatible attribute names):

    * ``sessions[app_name][user_id][session_id]`` -> the stored :class:`Session`, whose
      ``state`` holds only session-scoped (unprefixed) keys;
    * ``user_state[app_name][user_id]`` -> ``user:`` keys, prefix stripped;
    * ``app_state[app_name]`` -> ``app:`` keys, prefix stripped.

    Copying contract: ``create_session``, ``get_session`` and ``list_sessions`` return
    a new :class:`Session` with a new ``state`` dict (app and user state merged back in
    with their prefixes; values copied) and a new ``events`` list.  The ``Event``
    objects in that list are the stored ones: events are shared read-only records (see
    :class:`~trio_adk.events.Event`).  Storage never keeps the caller's ``state`` dict or
    ``events`` list, so changing a returned session changes storage only through
    :meth:`append_event`.  Sessions are not deep-copied: a get costs O(events
    returned + state size), an append O(size of the event's state delta).

    Threads and cancellation: the methods may be called from any thread (a lock
    serialises them; sync ``run()`` calls them from its worker thread).  None of them
    awaits anything that can suspend, so every update is applied as a whole before
    another task runs, and a cancelled call either completed or did not start.
    """

    def __init__(self) -> None:
        # Runs on several threads may use one service (sync run() has a worker thread).
        self._lock = threading.RLock()
        self.sessions: dict[str, dict[str, dict[str, Session]]] = {}
        self.user_state: dict[str, dict[str, dict[str, Any]]] = {}
        self.app_state: dict[str, dict[str, Any]] = {}

    # -- public API ---------------------------------------------------------------------

    @locked
    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Create and store a session; return a copy with app/user state merged in.

        The id is ``session_id`` exactly as given, or a fresh uuid4 when it is None.  The
        initial ``state`` is split by prefix: ``app:`` and ``user:`` keys update the shared
        app/user state (prefix stripped), ``temp:`` keys are dropped, the rest belong to the
        session.

        Raises:
            AlreadyExistsError: this user already has a session with that id.

        Called from the trio thread of the run; does not suspend, so cancellation
        either finds it done or not started.
        """
        sid = session_id if session_id is not None else str(uuid.uuid4())
        user_sessions = self.sessions.setdefault(app_name, {}).setdefault(user_id, {})
        if sid in user_sessions:
            raise AlreadyExistsError(f"Session with id {sid} already exists.")

        session_state: dict[str, Any] = {}
        if state:
            app_delta: dict[str, Any] = {}
            user_delta: dict[str, Any] = {}
            for key, value in state.items():
                if key.startswith(_APP):
                    app_delta[key[_APP_LEN:]] = copy_value(value)
                elif key.startswith(_USER):
                    user_delta[key[_USER_LEN:]] = copy_value(value)
                elif key.startswith(_TEMP):
                    continue
                else:
                    session_state[key] = copy_value(value)
            if app_delta:
                self.app_state.setdefault(app_name, {}).update(app_delta)
            if user_delta:
                self.user_state.setdefault(app_name, {}).setdefault(user_id, {}).update(user_delta)

        stored = Session(
            id=sid,
            app_name=app_name,
            user_id=user_id,
            state=session_state,
            events=[],
            last_update_time=time.time(),
        )
        user_sessions[sid] = stored
        return self._copy_out(stored, [])

    @locked
    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """Return a copy of the session, or ``None`` when app, user or id is unknown.

        A session id is only visible to the user that owns it.  With ``config``,
        ``num_recent_events`` keeps the last N events (0 or less keeps none), then
        ``after_timestamp`` keeps the events with ``timestamp >= after_timestamp``.

        Called from the trio thread of the run; does not suspend, so cancellation
        either finds it done or not started.
        """
        stored = self.sessions.get(app_name, {}).get(user_id, {}).get(session_id)
        if stored is None:
            return None
        events = stored.events
        selected = list(events) if config is None else _select_events(events, config)
        return self._copy_out(stored, selected)

    @locked
    async def list_sessions(
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> ListSessionsResponse:
        """List the sessions of ``user_id`` (of every user when None), without events.

        Oldest update first, ties by user id then session id; with ``page_size``, one
        page and a ``next_page_token`` when more follow.  Each listed session is a copy
        with app/user state merged in.  Unknown app or user gives an empty list.  Called
        from the trio thread of the run; does not suspend, so cancellation either finds
        it done or not started.
        """
        by_user = self.sessions.get(app_name)
        if not by_user:
            return ListSessionsResponse(sessions=[])
        if user_id is None:
            stores = list(by_user.values())
        else:
            one = by_user.get(user_id)
            stores = [one] if one else []
        ordered = sorted((s for store in stores for s in store.values()), key=_list_order)
        next_token = None
        if page_size is not None:
            if page_token is not None:
                after = decode_page_token(page_token)
                bound = (after.update_time, after.user_id, after.session_id)
                ordered = [s for s in ordered if _list_order(s) > bound]
            if len(ordered) > page_size:
                ordered = ordered[:page_size]
                last = ordered[-1]
                next_token = encode_page_token(
                    PageKey(last.last_update_time, last.user_id, last.id))
        sessions = [self._copy_out(s, []) for s in ordered]
        return ListSessionsResponse(sessions=sessions, next_page_token=next_token)

    @locked
    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's ``user:`` state without the prefix, copied (``{}`` when none).
        Does not suspend."""
        return copy_state(self.user_state.get(app_name, {}).get(user_id, {}))

    @locked
    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session and its events; an unknown session is ignored.

        App and user state are kept.  Called from the trio thread of the run; does not
        suspend, so cancellation either finds it done or not started.
        """
        self.sessions.get(app_name, {}).get(user_id, {}).pop(session_id, None)

    @locked
    async def append_event(self, session: Session, event: Event) -> Event:
        """Append ``event`` to the caller's ``session`` and to storage; return the event.

        Partial events are returned untouched and stored nowhere.  Otherwise the base
        behaviour updates the caller's copy (``temp:`` keys included; they are removed
        from the event's delta), then storage is updated: ``app:``/``user:`` delta keys
        go to the shared maps (prefix stripped, values copied), plain keys to the
        stored session's state, the event object is appended to the stored events and
        the stored ``last_update_time`` becomes the event's timestamp.  Passing the
        stored session object itself appends only once.  When the session is not in
        storage (deleted, never created) a warning is logged and nothing is stored.

        Called from the trio thread of the run; does not suspend, so the caller's copy
        and storage are updated together, and cancellation either finds the append done
        or not started.
        """
        if event.partial:
            return event
        stored = self.sessions.get(session.app_name, {}).get(session.user_id, {}).get(session.id)
        same_ref = stored is session
        delta = event.actions.state_delta if event.actions else None
        # Keys the base class may write into ``session.state`` (temp keys are trimmed
        # from the delta by the base, so remember them now).
        written = list(delta) if same_ref and delta else []

        event = await super().append_event(session, event)

        if stored is None:
            logger.warning(
                "Failed to append event to session %s (app %r, user %r): session not found "
                "in storage.",
                session.id,
                session.app_name,
                session.user_id,
            )
            return event

        if same_ref:
            # The base already appended the event and wrote every delta key into the
            # stored state; keep only session-scoped keys there.
            for key in written:
                if key.startswith((_APP, _USER, _TEMP)):
                    stored.state.pop(key, None)
        else:
            stored.events.append(event)

        delta = event.actions.state_delta if event.actions else None
        if delta:
            removed = keys_removed_by_rewind(event)
            app_state: dict[str, Any] | None = None
            user_state: dict[str, Any] | None = None
            stored_state = stored.state
            for key, value in delta.items():
                if key.startswith(_APP):
                    if app_state is None:
                        app_state = self.app_state.setdefault(session.app_name, {})
                    app_state[key[_APP_LEN:]] = copy_value(value)
                elif key.startswith(_USER):
                    if user_state is None:
                        user_state = self.user_state.setdefault(session.app_name, {}).setdefault(
                            session.user_id, {}
                        )
                    user_state[key[_USER_LEN:]] = copy_value(value)
                elif key in removed:
                    stored_state.pop(key, None)
                elif not key.startswith(_TEMP):
                    stored_state[key] = copy_value(value)
        stored.last_update_time = event.timestamp
        return event

    # -- helpers ------------------------------------------------------------------------

    def _copy_out(self, stored: Session, events: list[Event]) -> Session:
        """A new Session for the caller: copied state with app/user state merged in."""
        state = copy_state(stored.state)
        app_state = self.app_state.get(stored.app_name)
        if app_state:
            for key, value in app_state.items():
                state[_APP + key] = copy_value(value)
        user_state = self.user_state.get(stored.app_name, {}).get(stored.user_id)
        if user_state:
            for key, value in user_state.items():
                state[_USER + key] = copy_value(value)
        return Session(
            id=stored.id,
            app_name=stored.app_name,
            user_id=stored.user_id,
            state=state,
            events=events,
            last_update_time=stored.last_update_time,
        )


def _list_order(session: Session) -> tuple[float, str, str]:
    return (session.last_update_time, session.user_id, session.id)


def _select_events(events: list[Event], config: GetSessionConfig) -> list[Event]:
    """Apply ``num_recent_events`` then ``after_timestamp`` (inclusive); a new list."""
    n = config.num_recent_events
    if n is not None:
        if n <= 0:
            return []
        selected = events[-n:]
    else:
        selected = events
    bound = config.after_timestamp
    if bound is not None:
        # Events are in append order: keep the suffix after the last event older than
        # the bound, scanning from the end so the cost is O(events returned).
        i = len(selected)
        while i > 0 and selected[i - 1].timestamp >= bound:
            i -= 1
        selected = selected[i:]
    if selected is events:
        selected = list(events)
    return selected
