"""Sync callers: the run lives in a private trio run on a worker thread.

The worker thread runs an asyncio loop with trio as its guest, so user code (tools,
callbacks, custom agents) runs on asyncio there, as it does under ADK's sync ``run()``.
The calling thread pulls events one at a time through the trio token, so an event is
persisted exactly when the caller receives it, even in a thread whose own event loop is
running (Jupyter, an asyncio or trio program calling sync code).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import queue
import threading
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

import outcome
import sniffio
import trio

from trio_adk._bridges._asyncio_guest import run_in_trio
from trio_adk._bridges._trio import raise_outcome, report_unseen_error
from trio_adk._run import Run, RunRequest
from trio_adk._usercode._host import current_host
from trio_adk._utils._cancel import CLEANUP_GRACE
from trio_adk.events._event import Event

if TYPE_CHECKING:
    from trio_adk._runner import Runner

T = TypeVar("T")

# How often a sync caller blocked on the next event wakes to notice Ctrl-C.
_POLL = 0.05


def _refuse_inside_trio(what: str) -> None:
    """Refuse to block a trio task (its whole event loop would freeze).

    Blocking an asyncio loop's thread is allowed (Jupyter, sync code called from asyncio):
    the run lives in its own trio run on a worker thread.
    """
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return
    if library == "trio":
        raise RuntimeError(
            f"{what} is the blocking, sync API and would freeze the trio event loop of this "
            "thread. In async code use `async for event in runner.run_async(...)` (or "
            "`await` the async method) instead."
        )


class _Worker:
    """A trio run on a private thread that hosts one run until released."""

    def __init__(self, runner: Runner, request: RunRequest) -> None:
        self.runner = runner
        self.request = request
        self.ready = threading.Event()
        self.run: Run | None = None
        self.token: trio.lowlevel.TrioToken | None = None
        self.released: trio.Event | None = None
        self.failure: BaseException | None = None
        context = contextvars.copy_context()
        self.thread = threading.Thread(target=context.run, args=(self._main,),
                                       name="trio_adk.run-thread", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(run_in_trio(self._host))
        except BaseException as exc:  # surfaced in the calling thread
            self.failure = exc
        finally:
            self.ready.set()

    async def _host(self) -> None:
        self.released = trio.Event()
        self.token = trio.lowlevel.current_trio_token()
        run = self.runner._new_run(self.request)
        run.start(current_host())  # user code runs on this thread's asyncio loop
        self.run = run
        self.ready.set()
        with trio.CancelScope(shield=True):
            await self.released.wait()
        await run.wait_done(CLEANUP_GRACE)

    def start(self) -> Run:
        self.thread.start()
        self.ready.wait()
        if self.run is None:
            self.thread.join()
            if isinstance(self.failure, Exception):
                raise self.failure  # e.g. RunnerClosedError
            raise RuntimeError("the worker thread's trio run did not start") from self.failure
        return self.run

    def receive(self) -> Event:
        """The run's next event, waiting in short slices so Ctrl-C is noticed promptly.

        ``trio.EndOfChannel`` at the end.
        """
        run = self.run
        assert run is not None
        box: queue.SimpleQueue[outcome.Outcome[Event]] = queue.SimpleQueue()

        async def pull() -> None:
            box.put(await outcome.acapture(run.handoff.receive))

        def spawn() -> None:
            trio.lowlevel.spawn_system_task(pull, name="trio_adk.sync-pull")

        self.call(spawn)
        while True:
            try:
                return box.get(timeout=_POLL).unwrap()
            except queue.Empty:
                if not self.thread.is_alive():
                    raise trio.EndOfChannel from None

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        assert self.token is not None
        try:
            self.token.run_sync_soon(fn, *args)
        except trio.RunFinishedError:
            pass

    def finish(self) -> None:
        assert self.released is not None
        self.call(self.released.set)
        self.thread.join()


def stream_sync(runner: Runner, request: RunRequest) -> Generator[Event, None, None]:
    """Yield the events of a run hosted by a worker thread's trio run.

    Breaking out of the loop (or closing the generator) cancels the run and returns once
    its cleanup finished.  An agent error is raised after the events produced before it;
    a failure that is not an ``Exception`` arrives as ``RuntimeError`` chained to it.
    """
    _refuse_inside_trio("Runner.run()")
    worker = _Worker(runner, request)
    run = worker.start()
    assert worker.token is not None
    finished = False
    closed_early = False
    try:
        while True:
            try:
                event = worker.receive()
            except trio.EndOfChannel:
                break
            yield event
        finished = True
    except GeneratorExit:
        closed_early = True
        raise
    finally:
        if not finished:
            worker.call(functools.partial(run.abandon, consumer_closed=closed_early))
        worker.finish()
        if not finished:
            report_unseen_error(run)
    if worker.failure is not None:
        raise RuntimeError("The worker thread's trio run failed.") from worker.failure
    try:
        raise_outcome(runner, run)
    except Exception:
        raise
    except BaseException as exc:
        raise RuntimeError(f"Agent run terminated by {type(exc).__name__}.") from exc


def call_sync(fn: Callable[..., Awaitable[T]], *args: Any, what: str = "this call",
              **kwargs: Any) -> T:
    """Run the trio coroutine function ``fn`` to completion from sync code.

    Uses a private trio run on a worker thread, so it works whether or not the calling
    thread runs an event loop (but never from inside a trio task).  Ctrl-C (or any
    exception) while waiting cancels that trio run and waits for it before propagating.
    """
    _refuse_inside_trio(what)
    box: list[outcome.Outcome[T]] = []
    started: list[tuple[trio.lowlevel.TrioToken, trio.CancelScope]] = []
    context = contextvars.copy_context()

    async def guarded() -> T:
        scope = trio.CancelScope()
        started.append((trio.lowlevel.current_trio_token(), scope))
        with scope:
            return await fn(*args, **kwargs)
        raise KeyboardInterrupt  # cancelled by the interrupted caller

    finished = threading.Event()

    def main() -> None:
        # User code reached from ``fn`` runs on this thread's asyncio loop, as in ADK.
        try:
            box.append(outcome.capture(asyncio.run, run_in_trio(guarded)))
        finally:
            finished.set()

    thread = threading.Thread(target=context.run, args=(main,), name="trio_adk.call-thread",
                              daemon=True)
    thread.start()
    # Wait on an Event in short slices, not in Thread.join(): on Python 3.11 a Ctrl-C
    # that interrupts join() can mark the thread stopped while it still runs, and the
    # caller would see KeyboardInterrupt before the cleanup finished.
    try:
        while not finished.wait(_POLL):
            pass
    except BaseException:
        if started:
            token, scope = started[0]
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(scope.cancel)
        while not finished.wait(_POLL):
            pass
        raise
    thread.join()
    return box[0].unwrap()
