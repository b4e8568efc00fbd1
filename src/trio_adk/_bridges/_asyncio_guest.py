"""asyncio callers: trio runs as a guest on the caller's event loop.

One guest run per asyncio loop, started on first use, shared by every run and call on
that loop, stopped after a short idle linger, and always finished before the loop
closes: a keeper task turns ``asyncio.run()``'s shutdown into an orderly trio shutdown.
Everything here runs on the loop's thread; trio's synchronous APIs may be called from
asyncio code there between guest ticks.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar

import outcome
import trio

from trio_adk._bridges._asyncio_handoff import AsyncioReceiver
from trio_adk._bridges._trio import raise_outcome, report_unseen_error
from trio_adk._run import Run, RunRequest
from trio_adk._usercode._host import AsyncioHost, host_context
from trio_adk._utils._cancel import CLEANUP_GRACE
from trio_adk._utils._rendezvous import ConsumerGone, Rendezvous
from trio_adk.events._event import Event

if TYPE_CHECKING:
    from trio_adk._runner import Runner

_log = logging.getLogger("trio_adk")

T = TypeVar("T")

#: Seconds an idle guest run stays up, so back-to-back runs do not restart trio.
IDLE_LINGER = 1.0


class _Portal:
    """The trio guest run on one asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, owned: bool) -> None:
        self.loop = loop
        self.owned = owned  # False: a trio run we did not start (trio-asyncio, ...)
        self.users = 0
        self.ready: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[None] = loop.create_future()
        # Created here (trio.Event needs no running trio), so a stop can be requested even
        # before the guest's main task first runs.
        self.stop = trio.Event()
        self.linger: asyncio.TimerHandle | None = None
        self.keeper: asyncio.Task[None] | None = None
        if not owned:
            self.ready.set_result(None)

    def start(self) -> None:
        async def trio_main() -> None:
            if not self.ready.done():
                self.ready.set_result(None)
            await self.stop.wait()
            # Returning cancels the system tasks (runs) that are still alive and waits.

        def done_callback(result: outcome.Outcome[None]) -> None:
            if isinstance(result, outcome.Error):
                _log.error("The trio guest run ended with an error.", exc_info=result.error)
            if not self.ready.done():
                self.ready.set_exception(RuntimeError("the trio guest run did not start"))
            if not self.done.done():
                self.done.set_result(None)

        trio.lowlevel.start_guest_run(
            trio_main,
            run_sync_soon_threadsafe=self.loop.call_soon_threadsafe,
            run_sync_soon_not_threadsafe=self.loop.call_soon,
            done_callback=done_callback,
            host_uses_signal_set_wakeup_fd=True,
        )
        self.keeper = self.loop.create_task(self._keep(), name="trio_adk.guest-keeper")

    async def _keep(self) -> None:
        """Keep the loop alive until the guest finished; on shutdown, finish it."""
        try:
            await asyncio.shield(self.done)
        except asyncio.CancelledError:
            # asyncio.run() is shutting down (or someone cancelled everything): stop the
            # guest, which cancels the runs still in flight, and wait for it to finish.
            self.request_stop()
            while not self.done.done():
                try:
                    await asyncio.shield(self.done)
                except asyncio.CancelledError:
                    continue
            raise

    def request_stop(self) -> None:
        if not self.stop.is_set():
            self.stop.set()

    def acquire(self) -> None:
        self.users += 1
        if self.linger is not None:
            self.linger.cancel()
            self.linger = None

    def release(self) -> None:
        self.users -= 1
        if self.users == 0 and self.owned and not self.loop.is_closed():
            self.linger = self.loop.call_later(IDLE_LINGER, self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        self.linger = None
        if self.users == 0:
            self.request_stop()


_portals: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Portal] = (
    weakref.WeakKeyDictionary())


async def _acquire_portal() -> _Portal:
    loop = asyncio.get_running_loop()
    portal: _Portal | None = None
    while True:
        portal = _portals.get(loop)
        if portal is not None and portal.done.done():
            portal = None
        if portal is not None and portal.owned and portal.stop.is_set():
            await asyncio.shield(portal.done)  # a previous guest is finishing: wait for it
            continue
        break
    if portal is None:
        if trio.lowlevel.in_trio_run():
            portal = _Portal(loop, owned=False)  # reuse someone else's trio run
        else:
            portal = _Portal(loop, owned=True)
            portal.start()
        _portals[loop] = portal
    portal.acquire()
    try:
        await asyncio.shield(portal.ready)
    except BaseException:
        portal.release()
        if portal.owned and portal.users == 0:
            # Cancelled (e.g. asyncio.run shutting down) while the guest was starting:
            # finish it now, since its keeper task may never get to run.
            portal.request_stop()
            await _await_uncancellable(portal.done, CLEANUP_GRACE)
        raise
    return portal


async def _await_uncancellable(future: asyncio.Future[Any], grace: float) -> None:
    """Wait for ``future`` for at most ``grace`` seconds, through repeated cancellation.

    asyncio's analogue of a shielded, bounded cancel scope; a cancellation that arrived
    meanwhile is re-raised at the end.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    cancelled = False
    while not future.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            _log.warning("Gave up waiting for trio cleanup after %.1f s.", grace)
            break
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout=remaining)
        except asyncio.CancelledError:
            cancelled = True
        except TimeoutError:
            continue
    if cancelled:
        raise asyncio.CancelledError


def _finished_future(run: Run, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    future: asyncio.Future[None] = loop.create_future()

    def resolve() -> None:
        if not future.done():
            future.set_result(None)

    if run.finished.is_set():
        resolve()
    else:
        run.on_finished.append(resolve)
    return future


async def stream_asyncio(runner: Runner, request: RunRequest) -> AsyncGenerator[Event, None]:
    """Start a run in the loop's trio guest and yield its events to asyncio code.

    Cancelling the asyncio task that iterates (``task.cancel()``, ``asyncio.timeout``)
    cancels the trio run and waits for its cleanup before the cancellation continues.
    """
    portal = await _acquire_portal()
    try:
        run = runner._new_run(request)
        run.start(AsyncioHost(portal.loop))  # user code runs on the caller's loop
        finished = closed_early = False
        receiver = AsyncioReceiver(run.handoff)
        try:
            while True:
                try:
                    event = await receiver.receive()
                except trio.EndOfChannel:
                    break
                yield event
            if receiver.rearmed:
                # A cancellation re-armed on the last hand-over is still pending: take it
                # here, inside the caller's cancel context (asyncio.timeout sees it).
                await asyncio.sleep(0)
            finished = True
        except GeneratorExit:
            closed_early = True  # aclose()/break: after_run still runs
            raise
        finally:
            if not finished:
                run.abandon(consumer_closed=closed_early)
            await _await_uncancellable(_finished_future(run, portal.loop), CLEANUP_GRACE)
            if not finished:
                report_unseen_error(run)
        raise_outcome(runner, run)
    finally:
        portal.release()


async def run_in_trio(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Await the trio coroutine function ``fn(*args, **kwargs)`` from asyncio code.

    It runs as a task of the loop's trio guest.  Cancelling the awaiting asyncio task
    cancels the trio task and waits (bounded) for it to finish.
    """
    portal = await _acquire_portal()
    try:
        loop = portal.loop
        result: asyncio.Future[outcome.Outcome[T]] = loop.create_future()
        scope = trio.CancelScope()

        def settle(value: outcome.Outcome[T]) -> None:
            if not result.done():
                result.set_result(value)

        async def task() -> None:
            try:
                with scope:
                    settle(outcome.Value(await fn(*args, **kwargs)))
                    return
                settle(outcome.Error(asyncio.CancelledError()))
            except trio.Cancelled:
                settle(outcome.Error(RuntimeError(
                    "The trio guest run shut down before the call finished.")))
                raise
            except BaseException as exc:  # delivered to the awaiting asyncio task
                settle(outcome.Error(exc))

        # User code reached from ``fn`` runs on the caller's loop.
        trio.lowlevel.spawn_system_task(task, name=f"trio_adk.call:{getattr(fn, '__name__', fn)}",
                                        context=host_context(AsyncioHost(loop)))
        try:
            settled = await asyncio.shield(result)
        except asyncio.CancelledError:
            scope.cancel()
            await _await_uncancellable(result, CLEANUP_GRACE)
            raise
        return settled.unwrap()
    finally:
        portal.release()


async def stream_from_trio(
    make: Callable[[], AsyncGenerator[T, None]], *, name: str,
) -> AsyncGenerator[T, None]:
    """Iterate, from asyncio code, the trio async generator that ``make()`` returns.

    The generator runs in a task of the loop's trio guest run (started if needed), with
    user code reached from it on this loop; items are handed over one at a time with
    pull semantics.  Leaving early (``break`` under ``aclosing``, cancellation) cancels
    that task and waits (bounded) for it; its error is raised here unchanged.
    """
    portal = await _acquire_portal()
    try:
        loop = portal.loop
        handoff: Rendezvous[T] = Rendezvous()
        scope = trio.CancelScope()
        finished: asyncio.Future[None] = loop.create_future()
        failure: list[BaseException] = []

        async def produce() -> None:
            try:
                with scope:
                    async with aclosing(make()) as items:
                        async for item in items:
                            await handoff.deliver(item)
            except ConsumerGone:
                pass
            except trio.Cancelled:
                failure.append(RuntimeError(
                    "The trio guest run shut down before the stream finished."))
                raise
            except BaseException as exc:  # delivered to the asyncio consumer
                failure.append(exc)
            finally:
                handoff.close_producer()
                if not finished.done():
                    finished.set_result(None)

        trio.lowlevel.spawn_system_task(produce, name=f"trio_adk.stream:{name}",
                                        context=host_context(AsyncioHost(loop)))
        complete = False
        receiver = AsyncioReceiver(handoff)
        try:
            while True:
                try:
                    item = await receiver.receive()
                except trio.EndOfChannel:
                    break
                yield item
            if receiver.rearmed:
                await asyncio.sleep(0)  # take a re-armed cancellation here
            complete = True
        finally:
            if not complete:
                handoff.close_consumer()
                scope.cancel()
            await _await_uncancellable(finished, CLEANUP_GRACE)
        if failure:
            raise failure[0]
    finally:
        portal.release()
