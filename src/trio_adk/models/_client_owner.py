"""One network client per trio run, owned by a system task of that run, and its close.

A model object (``Gemini``, ``AnthropicLlm``, ``LiteLlm``) may be shared by several trio runs:
a sync ``run()`` and each asyncio caller run their own.  A client's connection pool belongs to
the trio run that opened it, so each run gets its own client, opened on first use and owned
by a system task of that run.  The client is closed when that trio run ends (its system tasks
are cancelled then), or once the model's ``aclose()`` retired it and its last request in flight
finished: closing one runner never breaks another runner's request on a shared model.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

import trio

ClientT = TypeVar("ClientT")

#: How long closing a client may take (shielded) before it is abandoned.
CLOSE_TIMEOUT = 2.0
#: How long ``aclose()`` waits (shielded) for this run's idle client to close.
ACLOSE_WAIT = CLOSE_TIMEOUT + 1.0

_STATE_KEY = "_client_owners"


class OwnedClient(Generic[ClientT]):
    """One client of one trio run, owned by a system task of that run (:meth:`own`).

    Everything here but the constructor runs in the owner's trio run; the table it is listed
    in is shared with other threads under its lock.
    """

    def __init__(self, client: ClientT, close: Callable[[ClientT], Awaitable[None]],
                 table: dict[trio.lowlevel.TrioToken, OwnedClient[ClientT]],
                 lock: threading.Lock) -> None:
        self.client = client
        self.token = trio.lowlevel.current_trio_token()
        self.scope = trio.CancelScope()
        self.closed = trio.Event()
        self.retired = False
        self.inflight = 0
        self._close = close
        self._table = table
        self._lock = lock

    async def own(self) -> None:
        """The system task: wait until retired and idle, or until the trio run ends
        (cancelled then), then drop out of the table and close the client, shielded and
        bounded by :data:`CLOSE_TIMEOUT`; :attr:`closed` is set either way."""
        try:
            with self.scope:
                await trio.sleep_forever()
        finally:
            self._unlist()
            with trio.move_on_after(CLOSE_TIMEOUT) as cleanup:
                cleanup.shield = True
                await self._close(self.client)
            self.closed.set()

    def retire(self) -> None:
        """Close once idle: no new request gets this client.  From the owner's trio run
        (other runs reach it through ``TrioToken.run_sync_soon``)."""
        self.retired = True
        self._unlist()
        if self.inflight == 0:
            self.scope.cancel()

    @contextlib.contextmanager
    def request(self) -> Iterator[ClientT]:
        """Count a request in flight; a retired client closes after its last one.  From a
        task of the owner's trio run; a cancelled request still counts down."""
        self.inflight += 1
        try:
            yield self.client
        finally:
            self.inflight -= 1
            if self.retired and self.inflight == 0:
                self.scope.cancel()

    def _unlist(self) -> None:
        with self._lock:
            if self._table.get(self.token) is self:
                del self._table[self.token]


class ClientOwners(Generic[ClientT]):
    """A model's clients, one per trio run; safe to share between threads and trio runs."""

    def __init__(self, close: Callable[[ClientT], Awaitable[None]], *, name: str) -> None:
        self._close = close
        self._name = name
        self._table: dict[trio.lowlevel.TrioToken, OwnedClient[ClientT]] = {}
        self._lock = threading.Lock()

    def current(self, open_client: Callable[[], ClientT]) -> OwnedClient[ClientT]:
        """This trio run's client, opened with ``open_client()`` on first use (or after the
        last one was retired).  From a trio task; an error from ``open_client`` propagates
        and leaves nothing behind.  Never blocks on I/O, so it cannot be cancelled."""
        token = trio.lowlevel.current_trio_token()
        with self._lock:
            owner = self._table.get(token)
            if owner is not None and not owner.retired:
                return owner
            owner = OwnedClient(open_client(), self._close, self._table, self._lock)
            self._table[token] = owner
        trio.lowlevel.spawn_system_task(owner.own, name=self._name)
        return owner

    async def aclose(self) -> None:
        """Close the clients once their requests in flight have finished.

        This trio run's client is retired and, when idle, awaited (shielded, at most
        :data:`ACLOSE_WAIT` seconds, so cancelling the caller does not cut the close short);
        clients of other trio runs are told to retire through their ``TrioToken`` (runs that
        already ended closed theirs).  A later request opens a fresh client.  Idempotent.
        From a trio task of any run.
        """
        try:
            current: trio.lowlevel.TrioToken | None = trio.lowlevel.current_trio_token()
        except RuntimeError:
            current = None
        with self._lock:
            retiring = list(self._table.values())
        for owner in retiring:
            if owner.token is current:
                owner.retire()
                if owner.inflight == 0:
                    with trio.move_on_after(ACLOSE_WAIT) as scope:
                        scope.shield = True
                        await owner.closed.wait()
            else:
                try:
                    owner.token.run_sync_soon(owner.retire)
                except trio.RunFinishedError:
                    pass


def client_owners(model: Any, close: Callable[[ClientT], Awaitable[None]], *,
                  name: str) -> ClientOwners[ClientT]:
    """``model``'s :class:`ClientOwners`, made on first use and kept in its ``__dict__``
    (not a field: not dumped, not copied; a copy opens its own clients).  ``name`` names
    the owning system tasks.  From any thread."""
    state: ClientOwners[ClientT] | None = model.__dict__.get(_STATE_KEY)
    if state is None:
        state = model.__dict__.setdefault(_STATE_KEY, ClientOwners(close, name=name))
    return state
