"""Graceful drain: refuse new requests, let those in flight finish, then cancel the rest.

ADK's server drops every request and live socket on SIGTERM (adk-python #4876).  Here every
HTTP request and WebSocket runs inside a cancel scope the :class:`Drain` knows about;
:meth:`Drain.drain`:

1. refuses what arrives from then on: HTTP requests (``/health`` included, so a load
   balancer takes the instance out) get ``503 {"detail": "The server is shutting down."}``
   with ``Connection: close``; WebSocket handshakes get the same 503;
2. waits up to ``grace`` seconds for the requests in flight to end by themselves (a
   ``/run_sse`` stream is sent to the end, a ``/run_live`` socket may be closed by its
   client);
3. cancels those still running: each run's cleanup is awaited (shielded, bounded by
   :data:`CLEANUP_TIMEOUT`); an HTTP request that had not answered yet gets the 503; a live
   socket is closed with 1001 (going away), so its client knows to reconnect elsewhere.
"""

from __future__ import annotations

import logging

import attrs
import trio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trio_adk.server._auth import refuse

_log = logging.getLogger("trio_adk.server")

CLEANUP_TIMEOUT = 10.0
"""Seconds the cancelled requests together may take to finish their cleanup in a drain."""

SHUTTING_DOWN = "The server is shutting down."
GOING_AWAY = 1001

_BODY = b'{"detail":"The server is shutting down."}'
_HEADERS = [(b"content-type", b"application/json"), (b"connection", b"close"),
            (b"content-length", str(len(_BODY)).encode())]


@attrs.frozen
class DrainReport:
    """What a drain did: requests that finished by themselves and requests cancelled."""

    finished: int
    cancelled: int


class Drain:
    """The requests in flight of one server, and whether it is draining.

    Must be used from one trio run (the server's).
    """

    def __init__(self) -> None:
        self._scopes: set[trio.CancelScope] = set()
        self._changed = trio.Event()
        self.draining = False
        self.started = 0
        self.cancelled = 0

    def __repr__(self) -> str:
        state = "draining" if self.draining else "open"
        return f"<Drain {state}, {len(self._scopes)} request(s) in flight>"

    @property
    def in_flight(self) -> int:
        """How many requests (HTTP or WebSocket) are running now."""
        return len(self._scopes)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def enter(self) -> trio.CancelScope:
        """A cancel scope for a new request, tracked until :meth:`leave`."""
        scope = trio.CancelScope()
        self._scopes.add(scope)
        self.started += 1
        return scope

    def leave(self, scope: trio.CancelScope) -> None:
        self._scopes.discard(scope)
        self._notify()

    async def _until_idle(self) -> None:
        while self._scopes:
            await self._changed.wait()

    async def drain(self, grace: float) -> DrainReport:
        """Refuse new requests, wait up to ``grace`` seconds for those in flight, then
        cancel the rest and wait (shielded, at most :data:`CLEANUP_TIMEOUT`) for their
        cleanup.  Idempotent: a second call waits the same way.

        Cancelling ``drain`` stops the waiting (the requests still running are left to
        whoever cancels them, e.g. the server shutting down); the refusal stays.
        """
        self.draining = True
        before = len(self._scopes)
        _log.info("Draining: %d request(s) in flight, up to %.1f s.", before, grace)
        with trio.move_on_after(grace):
            await self._until_idle()
        late = list(self._scopes)
        for scope in late:
            scope.cancel()
        self.cancelled += len(late)
        if late:
            _log.warning("Drain: cancelling %d request(s) still running.", len(late))
            with trio.CancelScope(shield=True), trio.move_on_after(CLEANUP_TIMEOUT) as waited:
                await self._until_idle()
            if waited.cancelled_caught:
                _log.warning("Drain: %d request(s) still cleaning up after %.0f s.",
                             len(self._scopes), CLEANUP_TIMEOUT)
        return DrainReport(finished=before - len(late), cancelled=len(late))


@attrs.define
class _Progress:
    """How far a request's answer went (what a cancelled request still needs)."""

    started: bool = False
    accepted: bool = False
    closed: bool = False


class DrainMiddleware:
    """Runs every request in a scope of ``drain`` and refuses new ones while it drains."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.drain.draining:
            await refuse(scope, send, 503, _HEADERS, _BODY)
            return
        progress = _Progress()

        async def tracked_send(message: Message) -> None:
            kind = message["type"]
            if kind in ("http.response.start", "websocket.http.response.start"):
                progress.started = True
            elif kind == "websocket.accept":
                progress.accepted = progress.started = True
            elif kind == "websocket.close":
                progress.closed = progress.started = True
            await send(message)

        cancel_scope = self.drain.enter()
        try:
            with cancel_scope:
                await self.app(scope, receive, tracked_send)
        finally:
            self.drain.leave(cancel_scope)
        if not cancel_scope.cancelled_caught:
            return
        try:
            if not progress.started:
                await refuse(scope, send, 503, _HEADERS, _BODY)
            elif progress.accepted and not progress.closed:
                await send({"type": "websocket.close", "code": GOING_AWAY,
                            "reason": SHUTTING_DOWN})
        except (OSError, RuntimeError):  # the client is gone already
            pass
