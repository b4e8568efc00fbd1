"""MCP client sessions: one per toolset per trio run, each owned by a system task.

The MCP SDK's transports and ``ClientSession`` are async context managers holding task
groups, so each must be entered and left by one task.  That task is a *session owner*:
a system task of the trio run that first needed the session (``spawn_system_task``).
It connects, initializes, publishes the ``ClientSession`` and then waits; callers of the
same trio run send their requests on that session from their own tasks (the SDK
correlates concurrent requests), so cancelling a caller cancels its request, and the
SDK tells the server (``notifications/cancelled``).

Why a system task: the session outlives the run (agent turn) that opened it, so it
cannot live in the run's nurseries, and it must not outlive its trio run, which is what
a system task gives: when the trio run ends (a sync ``run()``'s private run, an asyncio
loop's guest run after its idle linger, the trio program itself) the owner is cancelled
and leaves its contexts, which kills and reaps a stdio server.  ``close()`` (and
``Runner.close()``) asks every owner to leave earlier.  A session is never used from
another trio run: each trio run opens its own.

An owner leaves its contexts when asked to close, when the server's stream ends (a
stdio server that exited, an SSE stream that ended) and when the toolset discards it
(the connection broke mid-call, or an HTTP server no longer knows the session).
Leaving is bounded: the stdio transport stops its server within a shielded,
bounded sequence (close stdin, SIGTERM the process group, SIGKILL), and the rest is
cancelled after :data:`CLOSE_GRACE` seconds.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, TextIO

import anyio
import httpx2
import trio
from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage
from mcp.types import Implementation

from trio_adk.errors import McpConnectionError
from trio_adk.tools.mcp_tool._params import (
    ConnectionParams,
    SseConnectionParams,
    StdioConnectionParams,
    StreamableHTTPConnectionParams,
)

_log = logging.getLogger("trio_adk.tools.mcp")

#: Seconds an owner may take to leave its contexts once asked to close.
CLOSE_GRACE = 8.0

_CLIENT_INFO = Implementation(name="trio-adk", version="0.1.0")

Params = StdioConnectionParams | SseConnectionParams | StreamableHTTPConnectionParams


def normalize(params: ConnectionParams) -> Params:
    """ADK's accepted forms as one of the three parameter classes."""
    if isinstance(params, StdioServerParameters):
        return StdioConnectionParams(server_params=params)
    if isinstance(params, StdioConnectionParams | SseConnectionParams
                  | StreamableHTTPConnectionParams):
        return params
    raise TypeError(
        "connection_params must be StdioConnectionParams, StdioServerParameters, "
        f"SseConnectionParams or StreamableHTTPConnectionParams, got {type(params).__name__}.")


def describe(params: Params) -> str:
    """The server, for messages: its command line or its URL."""
    if isinstance(params, StdioConnectionParams):
        server = params.server_params
        return "the MCP server `" + " ".join([server.command, *server.args]) + "`"
    return f"the MCP server at {params.url}"


def read_timeout(params: Params) -> float:
    """How long a request waits for its answer (ADK's choice per transport)."""
    if isinstance(params, StdioConnectionParams):
        return params.timeout
    return params.sse_read_timeout


def _headers(raw: dict[str, Any] | None) -> dict[str, str] | None:
    return None if raw is None else {str(k): str(v) for k, v in raw.items()}


@asynccontextmanager
async def _streamable_http(params: StreamableHTTPConnectionParams
                           ) -> AsyncIterator[tuple[Any, Any]]:
    timeout = httpx2.Timeout(params.timeout, read=params.sse_read_timeout)
    async with (
        httpx2.AsyncClient(headers=_headers(params.headers), timeout=timeout) as client,
        streamable_http_client(params.url, http_client=client,
                               terminate_on_close=params.terminate_on_close) as streams,
    ):
        yield streams


def _transport(params: Params, errlog: TextIO) -> AbstractAsyncContextManager[tuple[Any, Any]]:
    if isinstance(params, StdioConnectionParams):
        return stdio_client(params.server_params, errlog=errlog)
    if isinstance(params, StreamableHTTPConnectionParams):
        return _streamable_http(params)
    return sse_client(params.url, headers=_headers(params.headers), timeout=params.timeout,
                      sse_read_timeout=params.sse_read_timeout)


class _WatchedStream:
    """The transport's read stream, reporting its end (the server went away)."""

    def __init__(self, inner: Any, on_end: Any) -> None:
        self._inner = inner
        self._on_end = on_end

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            item: SessionMessage | Exception = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise
        return item

    def __aiter__(self) -> _WatchedStream:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _WatchedStream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()


class SessionOwner:
    """Owns one MCP session in one trio run (see the module docstring).

    ``session`` is set once initialized; ``closing`` once no new call may use it.
    Every method except :meth:`own` is called from the owner's trio run.
    """

    def __init__(self, pool: SessionPool, token: trio.lowlevel.TrioToken) -> None:
        self.pool = pool
        self.token = token
        self.session: ClientSession | None = None
        self.failure: BaseException | None = None
        self.closing = False
        self.ready = trio.Event()
        self.done = trio.Event()
        self.finished = threading.Event()  # done, for waiters in other threads
        self._stop = trio.Event()
        self._scope = trio.CancelScope()

    def request_stop(self) -> None:
        """Stop taking calls and leave the session (bounded by :data:`CLOSE_GRACE`)."""
        self.closing = True
        self.pool._forget(self)
        self._stop.set()
        if not self.ready.is_set():
            self._scope.cancel()  # still connecting: give up now
        elif self._scope.deadline == math.inf:
            self._scope.deadline = trio.current_time() + CLOSE_GRACE

    async def own(self) -> None:
        """The system task: connect, serve until asked to stop, leave.  Never raises
        (a failure to connect is kept in ``failure`` for the callers)."""
        params = self.pool.params
        try:
            with self._scope:
                async with _transport(params, self.pool.errlog) as (read, write):
                    watched = _WatchedStream(read, self.request_stop)
                    async with ClientSession(watched, write,
                                             read_timeout_seconds=read_timeout(params),
                                             client_info=_CLIENT_INFO) as session:
                        with trio.fail_after(params.timeout):
                            await session.initialize()
                        self.session = session
                        self.ready.set()
                        await self._stop.wait()
        except trio.Cancelled:
            raise  # the trio run is ending; the contexts were left on the way out
        except BaseException as exc:
            self.failure = exc
            if self.session is not None:
                _log.debug("MCP session with %s ended: %r", describe(params), exc)
        finally:
            self.closing = True
            self.pool._forget(self)
            self.ready.set()
            self.done.set()
            self.finished.set()

    def connection_error(self) -> McpConnectionError:
        """Why this owner has no usable session."""
        what = describe(self.pool.params)
        failure = self.failure
        if isinstance(failure, trio.TooSlowError):
            message = (f"{what} did not answer `initialize` within "
                       f"{self.pool.params.timeout} s (the connection's timeout).")
        elif failure is not None:
            message = f"Could not connect to {what}: {_explain(failure)}"
        else:
            message = f"The session with {what} was closed."
        error = McpConnectionError(message)
        error.__cause__ = failure
        return error


def _explain(exc: BaseException) -> str:
    """The innermost useful message of ``exc`` (transports raise exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


class SessionPool:
    """The sessions of one toolset, one per trio run, keyed by the run's token.

    :meth:`session` and :meth:`discard` are called from a trio task; :meth:`aclose`
    from any trio run (it reaches the owners of other trio runs through their tokens).
    """

    def __init__(self, params: Params, errlog: TextIO = sys.stderr) -> None:
        self.params = params
        self.errlog = errlog
        self._owners: dict[trio.lowlevel.TrioToken, SessionOwner] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._owners)

    def _forget(self, owner: SessionOwner) -> None:
        with self._lock:
            if self._owners.get(owner.token) is owner:
                del self._owners[owner.token]

    async def session(self) -> tuple[SessionOwner, ClientSession]:
        """This trio run's session, connected on first use.

        Cancellation stops the wait; a connection under way goes on for the next
        caller.  Raises :class:`McpConnectionError` when it cannot connect.
        """
        token = trio.lowlevel.current_trio_token()
        with self._lock:
            owner = self._owners.get(token)
            fresh = owner is None
            if owner is None:
                owner = self._owners[token] = SessionOwner(self, token)
        if fresh:
            trio.lowlevel.spawn_system_task(owner.own, name="trio_adk.mcp-session")
        await owner.ready.wait()
        if owner.session is None or owner.closing:
            raise owner.connection_error()
        return owner, owner.session

    async def aclose(self) -> None:
        """Close every session: this trio run's waited for here, those of other trio
        runs asked through their tokens and waited for too (polling their threads'
        events).  Cancellation stops the waiting; the owners still leave, bounded."""
        try:
            current: trio.lowlevel.TrioToken | None = trio.lowlevel.current_trio_token()
        except RuntimeError:
            current = None
        with self._lock:
            owners = list(self._owners.values())
            self._owners.clear()
        waiting: list[SessionOwner] = []
        for owner in owners:
            if owner.token is current:
                owner.request_stop()
                waiting.append(owner)
            else:
                try:
                    owner.token.run_sync_soon(owner.request_stop)
                except trio.RunFinishedError:
                    continue  # that run ended, and its owner with it
                waiting.append(owner)
        for owner in waiting:
            if owner.token is current:
                await owner.done.wait()
            else:
                while not owner.finished.is_set():
                    await trio.to_thread.run_sync(owner.finished.wait, 0.2)
