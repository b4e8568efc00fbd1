"""Runs that end with their client: ``POST /run`` and ``POST /run_sse``.

Every request is a nursery: one task watches the connection for ``http.disconnect`` while
the request's own task drives the run.  A client that goes away cancels the nursery, so
the runner's run is cancelled and its cleanup awaited before the handler returns.

Which events are persisted when a client disconnects: the runner persists a non-partial
event exactly when it hands it to its consumer (pull semantics: the agent waits until
the handler asks for the next event), so the session holds every event the handler took
from the run, and nothing after.  Each taken event is written to the connection before the
next is asked for, and the handler yields to the disconnect watcher in between; so every
persisted event was written to the connection before the server learned that the client
had gone.  What the client itself missed is a tail of the run's events: those written
after it closed the connection and before the server saw the close (a write that finds the
connection gone, or the read of its end; a scheduling delay, longer on an overloaded
server).  Partial events are never persisted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import attrs
import trio
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from trio_adk.events._event import Event
from trio_adk.server._wire import sse_error_frame, sse_frames, typed_end_frame, typed_error_frame

_log = logging.getLogger("trio_adk.server")

T = TypeVar("T")

FINAL_FRAME_TIMEOUT = 1.0
"""Seconds a cancelled typed stream may take to send its last ``event: error`` frame."""


@attrs.define
class Disconnect:
    """Whether the client went away while the work ran."""

    happened: bool = False


async def _watch(receive: Receive, scope: trio.CancelScope, seen: Disconnect) -> None:
    """Cancel ``scope`` when the client disconnects (other messages, e.g. body, ignored)."""
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            seen.happened = True
            scope.cancel()
            return


async def until_disconnect(receive: Receive,
                           work: Callable[[], Awaitable[T]]) -> tuple[T | None, Disconnect]:
    """Run ``work()`` in a nursery that a client disconnect cancels.

    Returns ``(result, Disconnect(False))`` when ``work`` finished, ``(None,
    Disconnect(True))`` when the client left first (``work`` was cancelled and has finished
    its cleanup).  An exception from ``work`` is raised as itself, not in a group.
    """
    seen = Disconnect()
    box: list[T] = []
    failure: list[Exception] = []

    async def body() -> None:
        try:
            box.append(await work())
        except Exception as exc:  # re-raised outside the nursery, unwrapped
            failure.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch, receive, nursery.cancel_scope, seen)
        await body()
        nursery.cancel_scope.cancel()
    if failure:
        raise failure[0]
    return (box[0] if box else None), seen


class EventStream(Response):
    """The ``/run_sse`` body: one ``data: <json>\\n\\n`` frame per event as the run goes.

    ``open_run()`` starts the run (the runner's async generator) when the response is sent;
    events are pulled one at a time, so at most one event is buffered whatever the client's
    speed.  An error after the 200 is sent as ADK's in-stream error frame and ends the
    stream.  A client disconnect cancels the run and awaits its cleanup (see the module
    docstring for what stays persisted).

    ``typed=True`` (the request's ``?typed_events=true``) keeps the event frames and ends
    every stream with exactly one typed frame: ``event: end`` (``{"events": n}``) when the
    run finished, ``event: error`` (``{"type", "message"}``) instead of ADK's error frame
    when it failed, and ``event: error`` of type ``Cancelled`` when the server cancelled
    the run (a drain that ran out of time, a shutdown); that last frame is sent shielded
    and bounded (:data:`FINAL_FRAME_TIMEOUT`) and the cancellation goes on.
    """

    media_type = "text/event-stream"

    def __init__(self, open_run: Callable[[], Any], *, split_artifacts: bool,
                 typed: bool = False) -> None:
        super().__init__(content=None, status_code=200, media_type=self.media_type)
        self._open_run = open_run
        self._split_artifacts = split_artifacts
        self._typed = typed
        self._sent = 0
        self.raw_headers = [h for h in self.raw_headers if h[0] != b"content-length"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})

        async def stream() -> bytes:
            try:
                async with aclosing(self._open_run()) as events:
                    async for event in events:
                        await self._send_event(send, event)
                        # A write that found the connection gone queued http.disconnect:
                        # let the watcher cancel us before the next event is taken (and
                        # persisted).
                        await trio.lowlevel.checkpoint()
            except Exception as exc:
                _log.exception("Error in the /run_sse stream")
                if self._typed:
                    return typed_error_frame(type(exc).__name__, str(exc))
                return sse_error_frame(exc)
            return typed_end_frame(self._sent) if self._typed else b""

        try:
            last, gone = await until_disconnect(receive, stream)
        except* trio.Cancelled:  # the server's cancellation (a client leaving is caught)
            if self._typed:
                with trio.CancelScope(shield=True), trio.move_on_after(FINAL_FRAME_TIMEOUT):
                    await send({"type": "http.response.body", "more_body": False,
                                "body": typed_error_frame(
                                    "Cancelled", "The server cancelled the run (shutting "
                                    "down).")})
            raise
        if gone.happened:
            _log.info("Client disconnected: /run_sse run cancelled.")
            return
        await send({"type": "http.response.body", "body": last or b"", "more_body": False})

    async def _send_event(self, send: Send, event: Event) -> None:
        for frame in sse_frames(event, split_artifacts=self._split_artifacts):
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        self._sent += 1
