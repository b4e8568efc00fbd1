"""Sync callers: the run lives in a private trio run on a worker thread.

The worker thread runs an asyncio loop with trio as its guest, so user code (tools,
callbacks, custom agents) runs on asyncio there, as it does under ADK's sync ``run()``.
The calling thread pulls events one at a time (a request and a reply per event, see
``_Worker``), so an event is persisted exactly when the caller receives it, even in a
thread whose own event loop is running (Jupyter, an asyncio or trio program calling sync
code).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import queue
import threading
import time
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
# Longest a worker blocks its thread for the caller's next request (see _Worker).
_BLOCK = 0.0005


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
    """A trio run on a private thread that hosts one run until released.

    The calling thread and the worker exchange requests and replies through two
    ``SimpleQueue``s, one round trip per event: the caller asks for the next event, the
    worker's main task receives it from the run's rendezvous and replies.  Pull semantics
    are the rendezvous's: the run resumes only when the worker asks for the next event,
    which it does only when the caller asked.

    How the worker waits for a request: while the caller has been coming back within
    :data:`_BLOCK`, by blocking its thread for at most that long, so a request costs one
    thread wake-up and the guest trio run never goes idle between events.  Otherwise in
    trio, woken through the trio token; an idle guest run is woken through trio's I/O
    thread and then the asyncio loop, two more thread hops per event (for a consumer that
    takes longer than ``_BLOCK`` per event anyway).  The price of blocking: anything else
    on the worker's loops (other branches of the run, user asyncio tasks, I/O) waits
    while the caller holds an event, at most ``_BLOCK`` per event; the run itself would
    wait for the caller anyway (pull semantics).  One wait that runs out switches to
    waiting in trio until the caller is quick again.
    """

    def __init__(self, runner: Runner, request: RunRequest) -> None:
        self.runner = runner
        self.request = request
        self.ready = threading.Event()
        self.run: Run | None = None
        self.token: trio.lowlevel.TrioToken | None = None
        self.failure: BaseException | None = None
        # True: send the next event; False: the caller is done (wait for the run, end).
        self._requests: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._replies: queue.SimpleQueue[outcome.Outcome[Event]] = queue.SimpleQueue()
        # Guards ``_parked``: set while the worker waits for a request in trio.
        self._lock = threading.Lock()
        self._parked: trio.Event | None = None
        self._fast = True  # the caller came back within _BLOCK last time
        self._replied_at = 0.0
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
        self.token = trio.lowlevel.current_trio_token()
        run = self.runner._new_run(self.request)
        run.start(current_host())  # user code runs on this thread's asyncio loop
        self.run = run
        self.ready.set()
        with trio.CancelScope(shield=True):
            while await self._next_request():
                reply = await outcome.acapture(run.handoff.receive)
                self._replied_at = time.perf_counter()
                self._replies.put(reply)
        await run.wait_done(CLEANUP_GRACE)

    async def _next_request(self) -> bool:
        if self._fast:
            try:
                return self._requests.get(timeout=_BLOCK)
            except queue.Empty:
                self._fast = False
        with self._lock:
            try:
                return self._requests.get_nowait()
            except queue.Empty:
                parked = self._parked = trio.Event()
        await parked.wait()
        self._fast = time.perf_counter() - self._replied_at < _BLOCK
        return self._requests.get_nowait()

    def _ask(self, more: bool) -> None:
        with self._lock:
            self._requests.put(more)
            parked, self._parked = self._parked, None
        if parked is not None:
            self.call(parked.set)

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
        self._ask(True)
        while True:
            try:
                return self._replies.get(timeout=_POLL).unwrap()
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
        self._ask(False)
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
