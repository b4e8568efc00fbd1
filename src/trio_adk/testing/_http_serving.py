"""What the fake model servers share: binding, serving connections, taking script items.

:class:`ScriptedHttpServer` is the base of ``FakeGeminiServer``, ``FakeOpenAIServer`` and
``FakeAnthropicServer`` (private; use :mod:`trio_adk.testing`). A subclass answers one parsed
request in :meth:`~ScriptedHttpServer._serve_request` and says how its API words a few
errors; the base runs the ``async with`` lifecycle, the keep-alive loop of each connection and
the script/responder order of answers.
"""

from __future__ import annotations

import inspect
import logging
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, Generic, Self, TypeAlias, TypeVar

import h11
import trio
import trio_websocket

from trio_adk.testing._fake_gemini._http import DropConnection, HttpConnection, IncomingRequest

RecordT = TypeVar("RecordT")
AnswerT = TypeVar("AnswerT")

Responder: TypeAlias = Callable[[RecordT], AnswerT | Awaitable[AnswerT]]
"""A function of the recorded request giving an answer (possibly ``async``)."""
ScriptItem: TypeAlias = Responder[RecordT, AnswerT] | AnswerT
"""One item of a script: an answer, or a responder called for that one request."""

# Exceptions that mean "the client went away or a fault was injected": not server errors.
_BENIGN = (trio.BrokenResourceError, trio.ClosedResourceError, DropConnection, h11.ProtocolError,
           trio_websocket.ConnectionClosed, trio_websocket.HandshakeError)


def _benign(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_benign(inner) for inner in exc.exceptions)
    return isinstance(exc, _BENIGN)


class ScriptedHttpServer(Generic[RecordT, AnswerT]):
    """A loopback HTTP/1.1 server whose answers come from a script, then a responder.

    ``RecordT`` is what a request is recorded as (what responders get), ``AnswerT`` what
    a script item or a responder gives back. Subclasses set :attr:`_label` (their class name,
    for messages) and :attr:`_logger`, and implement :meth:`_serve_request`,
    :meth:`_builtin_answer`, :meth:`_exhausted_answer` and :meth:`_failed_answer`.
    """

    _label = "server"
    _logger = logging.getLogger("trio_adk.testing")

    def __init__(self, script: Iterable[ScriptItem[RecordT, AnswerT]] | None = None, *,
                 responder: Responder[RecordT, AnswerT] | None = None, host: str = "127.0.0.1",
                 port: int = 0, require_api_key: str | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._script: deque[ScriptItem[RecordT, AnswerT]] | None = (
            None if script is None else deque(script))
        self._responder = responder
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._require_api_key = require_api_key
        self._ssl_context = ssl_context
        self.requests: list[RecordT] = []
        """Every request received, in arrival order."""
        self.errors: list[BaseException] = []
        """Unexpected exceptions raised while serving (the server kept running)."""
        self.connection_count = 0
        """How many TCP connections clients opened."""
        self._context: AbstractAsyncContextManager[None] | None = None
        # Replies built so far: fakes number their ids with it.
        self._calls = 0

    # -- public state -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (raises ``RuntimeError`` before the server started)."""
        if self._port is None:
            raise RuntimeError(f"{self._label} is not running: use `async with` first")
        return self._port

    @property
    def script_remaining(self) -> int:
        """How many scripted items have not been used yet (0 without a script)."""
        return 0 if self._script is None else len(self._script)

    def extend_script(self, items: Iterable[ScriptItem[RecordT, AnswerT]]) -> None:
        """Append items to the script (starts a script if the server had none)."""
        if self._script is None:
            self._script = deque()
        self._script.extend(items)

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Bind and start serving; the port is known when this returns."""
        if self._context is not None:
            raise RuntimeError(f"{self._label} is already running")
        context = self._running()
        await context.__aenter__()
        self._context = context
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc_value: BaseException | None,
                        traceback: TracebackType | None) -> bool | None:
        """Stop serving and close every connection."""
        context, self._context = self._context, None
        assert context is not None
        return await context.__aexit__(exc_type, exc_value, traceback)

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        body_error: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                sockets = await trio.open_tcp_listeners(self._requested_port, host=self._host)
                self._port = int(sockets[0].socket.getsockname()[1])
                listeners: list[trio.abc.Listener[Any]] = list(sockets)
                if self._ssl_context is not None:
                    listeners = [trio.SSLListener(item, self._ssl_context, https_compatible=True)
                                 for item in listeners]
                nursery.start_soon(trio.serve_listeners, self._handle_connection, listeners)
                try:
                    yield
                except BaseException as exc:  # re-raised below, outside the nursery (no group)
                    body_error = exc
                finally:
                    await self._before_stop()
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # Ctrl-C can land in a connection task; surface it as a plain KeyboardInterrupt.
            if group.subgroup(KeyboardInterrupt) is not None and group.subgroup(
                    lambda e: not isinstance(e, KeyboardInterrupt | trio.Cancelled)) is None:
                raise KeyboardInterrupt from group
            raise
        if body_error is not None:
            raise body_error

    async def _before_stop(self) -> None:
        """Called when the ``async with`` block ends, before the connections are cancelled."""

    # -- connections --------------------------------------------------------------------------

    async def _handle_connection(self, stream: trio.abc.Stream) -> None:
        """One accepted connection; nothing raised here may reach ``serve_listeners``."""
        self.connection_count += 1
        try:
            async with stream:
                await self._serve_connection(HttpConnection(stream))
        except Exception as exc:
            if _benign(exc):
                self._logger.debug("connection ended: %r", exc)
            else:
                self._logger.warning("%s connection failed", self._label, exc_info=exc)
                self.errors.append(exc)

    async def _serve_connection(self, conn: HttpConnection) -> None:
        while True:
            try:
                request = await conn.next_request()
            except h11.RemoteProtocolError as exc:
                if conn.can_answer:
                    await self._answer_bad_request(conn, exc)
                return
            if request is None:
                return
            await self._serve_request(conn, request)
            if not conn.reusable:
                return

    async def _answer_bad_request(self, conn: HttpConnection,
                                  exc: h11.RemoteProtocolError) -> None:
        """Answer a request that is not HTTP (default: no answer, the connection closes)."""

    async def _serve_request(self, conn: HttpConnection, request: IncomingRequest) -> None:
        """Answer one request; the connection serves the next one if it is still reusable."""
        raise NotImplementedError

    # -- answers ------------------------------------------------------------------------------

    async def _answer_for(self, record: RecordT) -> AnswerT:
        """The next script item, else the responder's answer, for ``record``."""
        item: ScriptItem[RecordT, AnswerT]
        if self._script:
            item = self._script.popleft()
        elif self._responder is not None:
            item = self._responder
        elif self._script is None:
            item = self._builtin_answer
        else:
            return self._exhausted_answer()
        if not callable(item):
            return item
        try:
            answer = item(record)
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as exc:
            self.errors.append(exc)
            return self._failed_answer(exc)
        return answer

    def _builtin_answer(self, record: RecordT) -> AnswerT:
        """The answer when there is neither a script nor a responder."""
        raise NotImplementedError

    def _exhausted_answer(self) -> AnswerT:
        """The (error) answer once the script ran out and there is no responder."""
        raise NotImplementedError

    def _failed_answer(self, exc: Exception) -> AnswerT:
        """The (error) answer when a responder raised ``exc``."""
        raise NotImplementedError
