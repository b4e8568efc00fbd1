"""BaseSessionService: the contract every session store keeps."""

from __future__ import annotations

import abc
from typing import Any

from trio_adk._bridges._anywhere import wrap_coroutine_methods
from trio_adk._utils._copy import copy_value
from trio_adk.events._event import Event
from trio_adk.sessions._session import GetSessionConfig, ListSessionsResponse, Session
from trio_adk.sessions._state import State


class BaseSessionService(abc.ABC):
    """Stores sessions, their events and their scoped state.

    All methods are coroutines meant to be awaited from trio tasks (asyncio callers are
    served by the runner's bridge).  Implementations that block (files, databases) must
    do so in ``trio.to_thread.run_sync`` with a limiter, never on the event loop.
    Cancellation: an append that is cancelled either stored the event or did not; it
    never stores half of one.
    """

    _ANYWHERE = (
        "create_session",
        "get_session",
        "list_sessions",
        "delete_session",
        "append_event",
        "flush",
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Overrides stay awaitable from asyncio code too (run in the trio guest).
        wrap_coroutine_methods(cls, cls._ANYWHERE)

    @abc.abstractmethod
    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Create a session; ``AlreadyExistsError`` when ``session_id`` is taken."""

    @abc.abstractmethod
    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """Return a copy of the session with merged state, or ``None`` when unknown."""

    @abc.abstractmethod
    async def list_sessions(
        self, *, app_name: str, user_id: str | None = None
    ) -> ListSessionsResponse:
        """List the sessions of a user (all users when ``user_id`` is None), no events."""

    @abc.abstractmethod
    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session; deleting an unknown session does nothing."""

    async def append_event(self, session: Session, event: Event) -> Event:
        """Append ``event`` to ``session`` (the caller's copy) and return it.

        Partial events are returned untouched and not stored.  The event's state delta
        is applied to ``session.state`` (``temp:`` keys included, for the rest of the
        invocation) as copies, so changing a state value in place later never changes the
        event; ``temp:`` keys are removed from the delta that is stored.
        Subclasses call this first, then persist.
        """
        if event.partial:
            return event
        self._apply_temp_state(session, event)
        self._trim_temp_delta(event)
        self._update_session_state(session, event)
        session.events.append(event)
        session.last_update_time = event.timestamp
        return event

    async def flush(self) -> None:
        """Write out anything buffered.  Called by ``Runner.close()``; default: nothing."""

    @staticmethod
    def _apply_temp_state(session: Session, event: Event) -> None:
        delta = event.actions.state_delta if event.actions else None
        if not delta:
            return
        for key, value in delta.items():
            if key.startswith(State.TEMP_PREFIX):
                session.state[key] = copy_value(value)

    @staticmethod
    def _trim_temp_delta(event: Event) -> None:
        delta = event.actions.state_delta if event.actions else None
        if not delta:
            return
        temp = [k for k in delta if k.startswith(State.TEMP_PREFIX)]
        for key in temp:
            del delta[key]

    @staticmethod
    def _update_session_state(session: Session, event: Event) -> None:
        delta = event.actions.state_delta if event.actions else None
        if not delta:
            return
        for key, value in delta.items():
            if not key.startswith(State.TEMP_PREFIX):
                session.state[key] = copy_value(value)


wrap_coroutine_methods(BaseSessionService, BaseSessionService._ANYWHERE)
