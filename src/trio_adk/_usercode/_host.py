"""Where user code runs: on the event loop library of whoever called.

The engine is trio.  A trio caller's tools, callbacks, plugins, custom agents and models
run on trio, directly.  An asyncio caller (trio then runs as a guest on its loop) gets
them run as asyncio tasks on its own loop, so ``await asyncio.sleep(...)``, aiohttp or
asyncpg work in them as they do under ADK; sync callers get the same through a private
asyncio loop.  The host is chosen per run (or per call of a public coroutine from
asyncio) and travels in a context variable that every task of the run inherits.

Every function here is called from a trio task.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import trio

from trio_adk._utils._cancel import CLEANUP_GRACE

_log = logging.getLogger("trio_adk")

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_NATIVE = "__trio_adk_native__"

#: Loop steps a hop spins through (staying runnable) before it waits idle.
_SPIN_STEPS = 8


class AsyncioHost:
    """Runs user coroutines as asyncio tasks on ``loop``, the loop hosting this trio run
    as a guest, supervised from the trio task that awaits them.

    The asyncio task shares the awaiting trio task's ``contextvars.Context``: it sees
    the run's context variables, and what it sets is visible to the engine afterwards,
    as when a coroutine is awaited in plain asyncio.  Cancelling the trio side cancels
    the asyncio task and waits for it (shielded, bounded); its exception arrives
    unchanged.
    """

    __slots__ = ("loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __repr__(self) -> str:
        return f"<AsyncioHost loop={self.loop!r}>"

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` in an asyncio task on the host loop; return its result."""
        coro: Coroutine[Any, Any, T] = (
            awaitable if asyncio.iscoroutine(awaitable) else _await(awaitable))
        # A Task built directly (not through the loop's task factory) never starts
        # eagerly, which would enter the shared context while it is entered here.
        task = asyncio.Task(coro, loop=self.loop,
                            context=trio.lowlevel.current_task().context)
        done: trio.Event | None = None  # set by the task's done callback, once added
        try:
            # Most user code (callbacks, quick tools, a custom agent's step) finishes
            # within a few loop steps: let the loop take them while this guest stays
            # runnable, so the guest does not go idle (an idle guest waits for I/O in a
            # worker thread, a round trip of about 0.1 ms).  Longer work is waited for
            # without spinning, woken by the task's done callback.
            for _ in range(_SPIN_STEPS):
                await trio.lowlevel.checkpoint()
                if task.done():
                    break
            else:
                done = _watch(task)
                await done.wait()
        except BaseException:  # cancelled (or interrupted): cancel the task and wait
            if done is None:
                done = _watch(task)
            if not task.done():
                # A task asyncio is already cancelling (``asyncio.run``'s shutdown
                # cancels every task) is left to finish: cancelling it again would cut
                # its cleanup short (a shielded anyio scope stops only one).
                if not task.cancelling():
                    task.cancel()
                with trio.move_on_after(CLEANUP_GRACE, shield=True) as cleanup:
                    await done.wait()
                if cleanup.cancelled_caught:
                    _log.warning("User code %r did not finish within %.1f s of being "
                                 "cancelled.", coro, CLEANUP_GRACE)
            error = task.exception() if task.done() and not task.cancelled() else None
            if error is None:
                raise
        else:
            if done is None and task.cancelled():
                # Seen done while spinning: here no exception is being handled, so the
                # chain of the cancellation is intact.
                _log_replaced_error(task)
            return task.result()
        # The user code failed as it was being cancelled: as in trio, its error wins
        # over the cancellation, so it is never lost.
        raise error

    async def iterate(self, agen: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
        """Iterate the user async generator ``agen`` with each step on the host loop.

        Closing this generator closes ``agen`` there too (shielded, bounded).
        """
        try:
            while True:
                try:
                    item = await self.run(_anext(agen))
                except StopAsyncIteration:
                    return
                yield item
        finally:
            with trio.move_on_after(CLEANUP_GRACE, shield=True):
                await self.run(agen.aclose())


def _watch(task: asyncio.Task[Any]) -> trio.Event:
    """A trio event set when ``task`` is done (by its done callback, which also logs an
    error its cancellation replaced)."""
    done = trio.Event()

    def finished(task: asyncio.Task[Any]) -> None:
        done.set()
        if task.cancelled():  # here no exception is being handled, so the
            _log_replaced_error(task)  # chain of the cancellation is intact

    task.add_done_callback(finished)
    return done


def _log_replaced_error(task: asyncio.Task[Any]) -> None:
    """Log an error that asyncio's cancellation replaced in a cancelled user task.

    Under asyncio a cancellation re-delivered when a shielded scope exits (anyio) or
    raised in a ``finally`` replaces the exception that was propagating; trio would
    have kept it.  It is logged, so no failure of user code goes unseen.
    """
    if not task.cancelled():
        return
    try:
        task.result()
    except asyncio.CancelledError as cancelled:
        seen: set[int] = set()
        cause: BaseException | None = cancelled
        while cause is not None and id(cause) not in seen:
            seen.add(id(cause))
            if isinstance(cause, Exception) and not isinstance(cause, asyncio.CancelledError):
                _log.error("User code raised %r while it was being cancelled; the "
                             "cancellation replaced it.", cause, exc_info=cause)
                return
            cause = cause.__context__


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _anext(agen: AsyncIterator[T]) -> T:
    return await agen.__anext__()


_HOST: contextvars.ContextVar[AsyncioHost | None] = contextvars.ContextVar(
    "trio_adk_user_code_host", default=None)


def current_host() -> AsyncioHost | None:
    """The host of user code for the current run; ``None``: trio, directly."""
    return _HOST.get()


def host_context(host: AsyncioHost | None) -> contextvars.Context:
    """A copy of the current context in which user code runs on ``host``."""
    context = contextvars.copy_context()
    if host is not None or _HOST in context:
        context.run(_HOST.set, host)
    return context


async def await_user(awaitable: Awaitable[T]) -> T:
    """Await a user coroutine (or other awaitable) on the run's host."""
    host = _HOST.get()
    if host is None:
        return await awaitable
    return await host.run(awaitable)


async def call_user(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Call user code ``fn``; if it returns an awaitable, await it on the run's host.

    A plain function is called right here and pays nothing.
    """
    result = fn(*args, **kwargs)
    if hasattr(result, "__await__"):
        return await await_user(result)
    return result


async def await_method(method: Callable[..., Awaitable[T]], /, *args: Any,
                       **kwargs: Any) -> T:
    """Call and await a coroutine method that may be engine code or user code: one marked
    :func:`native` runs right here on trio, an override a user wrote on the run's host."""
    if is_native(method):
        return await method(*args, **kwargs)
    return await await_user(method(*args, **kwargs))


def iterate_user(agen: AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
    """A user async generator, each step on the run's host (``agen`` itself on trio)."""
    host = _HOST.get()
    if host is None:
        return agen
    return host.iterate(agen)


def native(fn: F) -> F:
    """Mark an engine method that runs on trio whatever the caller's library, so callers
    use it directly; overrides written by users are not marked and run on the host."""
    setattr(fn, _NATIVE, True)
    return fn


def is_native(method: Any) -> bool:
    """True when ``method`` (bound or not) is marked :func:`native`."""
    return getattr(getattr(method, "__func__", method), _NATIVE, False)
