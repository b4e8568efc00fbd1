"""BaseSessionService: the contract every session store keeps."""

from __future__ import annotations

import abc
import contextlib
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from trio_adk._bridges._anywhere import wrap_coroutine_methods
from trio_adk._utils._checks import (
    check_count,
    check_id,
    check_instance,
    check_optional_id,
    check_state,
)
from trio_adk._utils._copy import copy_value
from trio_adk.events._event import Event
from trio_adk.events._rewinds import keys_removed_by_rewind
from trio_adk.sessions._gates import SessionGates
from trio_adk.sessions._session import GetSessionConfig, ListSessionsResponse, Session
from trio_adk.sessions._state import State
from trio_adk.sessions._storage._pages import decode_page_token

T = TypeVar("T")

MAX_PAGE_SIZE = 1000


class BaseSessionService(abc.ABC):
    """Stores sessions, their events and their scoped state.

    All methods are coroutines meant to be awaited from trio tasks (asyncio callers are
    served by the runner's bridge).  Their arguments are checked when they are called,
    for every subclass: ids are non-empty ``str`` of at most 128 characters without
    surrounding whitespace, used exactly as given; ``create_session``'s ``state`` holds
    JSON values.  A bad argument raises ``TypeError``/``ValueError`` naming it, before
    anything is stored.  Implementations that block (files, databases) must
    do so in ``trio.to_thread.run_sync`` with a limiter, never on the event loop.
    Cancellation: an append that is cancelled either stored the event or did not; it
    never stores half of one.
    """

    _ANYWHERE = (
        "create_session",
        "get_session",
        "list_sessions",
        "delete_session",
        "get_user_state",
        "append_event",
        "flush",
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Overrides stay awaitable from asyncio code too (run in the trio guest), and
        # their arguments are checked when they are called, before anything is stored.
        wrap_coroutine_methods(cls, cls._ANYWHERE, _CHECKS)

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
        self,
        *,
        app_name: str,
        user_id: str | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> ListSessionsResponse:
        """List the sessions of a user (all users when ``user_id`` is None), no events.

        Oldest update first (as in ADK), ties by user id then session id.  Beyond ADK:
        with ``page_size``, at most that many sessions and, when more follow, a
        ``next_page_token`` to pass back as ``page_token`` (keyset pagination: every
        page costs the same).  Without ``page_size`` every session is listed.
        """

    @abc.abstractmethod
    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """Delete a session; deleting an unknown session does nothing."""

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """The user's ``user:`` state without the prefix (``{}`` when there is none).

        Raises ``NotImplementedError`` when a store cannot read it on its own (ADK's
        contract); the stores trio-adk ships all can.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not support get_user_state(); list the user's "
            "sessions and read the user: keys of one with get_session()."
        )

    async def iter_events(
        self, *, app_name: str, user_id: str, session_id: str, batch_size: int = 500
    ) -> AsyncIterator[list[Event]]:
        """The session's events, oldest first, in lists of at most ``batch_size``.

        For bulk readers (memory services ingesting history, exports): durable stores
        read one batch per query, so memory stays bounded whatever the session's size.
        An unknown session yields nothing.  Default: one :meth:`get_session`.
        Cancellation between batches stops the iteration; nothing is held open.
        """
        session = await self.get_session(app_name=app_name, user_id=user_id,
                                          session_id=session_id)
        if session is None:
            return
        events = session.events
        for start in range(0, len(events), batch_size):
            yield events[start:start + batch_size]

    # -- blocking twins, for sync code (ADK's in-memory service has them) ---------------

    def create_session_sync(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """:meth:`create_session`, blocking; see :meth:`get_session_sync` for where it
        may be called."""
        return _blocking(self.create_session, "create_session_sync()", app_name=app_name,
                         user_id=user_id, state=state, session_id=session_id)

    def get_session_sync(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        """:meth:`get_session`, blocking.

        For plain sync code, and for sync code called from an asyncio loop's thread: the
        call runs in a private trio run on a worker thread, so the service must accept
        calls from another thread (the in-memory service does).  Raises ``RuntimeError``
        inside a trio task (await :meth:`get_session` there).  Ctrl-C cancels the call
        and waits for it before propagating.
        """
        return _blocking(self.get_session, "get_session_sync()", app_name=app_name,
                         user_id=user_id, session_id=session_id, config=config)

    def list_sessions_sync(
        self, *, app_name: str, user_id: str | None = None
    ) -> ListSessionsResponse:
        """:meth:`list_sessions`, blocking; see :meth:`get_session_sync`."""
        return _blocking(self.list_sessions, "list_sessions_sync()", app_name=app_name,
                         user_id=user_id)

    def delete_session_sync(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """:meth:`delete_session`, blocking; see :meth:`get_session_sync`."""
        _blocking(self.delete_session, "delete_session_sync()", app_name=app_name,
                  user_id=user_id, session_id=session_id)

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

    async def close(self) -> None:
        """Release connections and files.  Default: nothing to release.

        The service is unusable afterwards.  A runner closes the services it built from
        URIs; services you construct yourself are yours to close.
        """

    # -- one run per session ------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def claim_session(
        self, *, app_name: str, user_id: str, session_id: str, wait: bool = True
    ) -> AsyncIterator[None]:
        """Hold the session for one run: while held, no other run may use it.

        Runners call this around every run (``session_concurrency`` picks ``wait``), so
        runs on one session take turns even when they come from different runners that
        share this service; durable services extend the hold across processes and hosts
        (:meth:`_claim_elsewhere`).  Within a process the turns are first come, first
        served.  With ``wait=False`` a held session raises ``SessionBusyError`` at once.

        Cancellation while waiting gives up the place in line; the hold is released on
        exit whatever happened inside, shielded and bounded by the durable store's own
        timeout.  May be entered from any trio run on any thread.
        """
        key = (app_name, user_id, session_id)
        gates = _gates_of(self)
        await gates.acquire(key, wait=wait)
        try:
            async with self._claim_elsewhere(key, wait=wait):
                yield
        finally:
            gates.release(key)

    def _claim_elsewhere(
        self, key: tuple[str, str, str], *, wait: bool
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold ``key`` against other processes and hosts; entered after this process's
        own turn is granted.  Default: nothing to do (the store lives in this process)."""
        return contextlib.nullcontext()

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
        removed = keys_removed_by_rewind(event)
        for key, value in delta.items():
            if key in removed:
                session.state.pop(key, None)
            elif not key.startswith(State.TEMP_PREFIX):
                session.state[key] = copy_value(value)


_GATES: weakref.WeakKeyDictionary[BaseSessionService, SessionGates] = (
    weakref.WeakKeyDictionary())
_GATES_LOCK = threading.Lock()


def _gates_of(service: BaseSessionService) -> SessionGates:
    with _GATES_LOCK:
        gates = _GATES.get(service)
        if gates is None:
            gates = _GATES[service] = SessionGates()
        return gates


# Argument checks, one per method, with the method's parameters (extra ones ignored).

def _blocking(method: Callable[..., Awaitable[T]], what: str, **kwargs: Any) -> T:
    from trio_adk._bridges._sync_thread import call_sync  # imports the run machinery

    return call_sync(method, what=f"{what} (a blocking twin of the async method)", **kwargs)


def _check_create(self: object, *positional: Any, app_name: Any = None, user_id: Any = None,
                  state: Any = None, session_id: Any = None, **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    check_id(app_name, "app_name")
    check_id(user_id, "user_id")
    check_state(state, "state")
    check_optional_id(session_id, "session_id", none_means="a generated id")


def _check_get(self: object, *positional: Any, app_name: Any = None, user_id: Any = None,
               session_id: Any = None, config: Any = None, **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    check_id(app_name, "app_name")
    check_id(user_id, "user_id")
    check_id(session_id, "session_id")
    if config is not None:
        check_instance(config, GetSessionConfig, "config")


def _check_list(self: object, *positional: Any, app_name: Any = None, user_id: Any = None,
                page_size: Any = None, page_token: Any = None, **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    check_id(app_name, "app_name")
    check_optional_id(user_id, "user_id", none_means="every user")
    if page_size is not None:
        check_count(page_size, "page_size", low=1, high=MAX_PAGE_SIZE)
    if page_token is not None:
        if page_size is None:
            raise ValueError("page_token needs page_size: pass the page size again with "
                             "the token of the previous page.")
        check_instance(page_token, str, "page_token")
        decode_page_token(page_token)


def _check_user_state(self: object, *positional: Any, app_name: Any = None,
                      user_id: Any = None, **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    check_id(app_name, "app_name")
    check_id(user_id, "user_id")


def _check_delete(self: object, *positional: Any, app_name: Any = None, user_id: Any = None,
                  session_id: Any = None, **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    check_id(app_name, "app_name")
    check_id(user_id, "user_id")
    check_id(session_id, "session_id")


def _check_append(self: object, session: Any = None, event: Any = None, *_: Any,
                  **__: Any) -> None:
    check_instance(session, Session, "session")
    check_instance(event, Event, "event")


_CHECKS = {
    "create_session": _check_create,
    "get_session": _check_get,
    "list_sessions": _check_list,
    "get_user_state": _check_user_state,
    "delete_session": _check_delete,
    "append_event": _check_append,
}

wrap_coroutine_methods(BaseSessionService, BaseSessionService._ANYWHERE, _CHECKS)
