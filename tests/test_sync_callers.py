"""Sync callers: ``Runner.run``, sync ``close()`` / ``with runner:``, timeouts, Ctrl-C and
batches (``run_batch`` and ``run_batch_async``).

The sync tests are plain functions using small real times; the trio batch tests use the
autojump clock.  The suite-wide fixture checks that every ``trio_adk.run-thread`` was
joined and no run is left in flight.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import AsyncGenerator, Generator
from typing import Any

import anyio
import pytest
import trio
from pydantic import Field

from helpers import APP, USER, CountingToolset, RunLog, model_text, stored_events, texts, user_text
from trio_adk import Agent, Runner
from trio_adk._run import ACTIVE_RUNS
from trio_adk.agents import BaseAgent, InvocationContext
from trio_adk.errors import BatchCancelledError, RunnerClosedError, SessionNotFoundError
from trio_adk.events import Event
from trio_adk.runners import BatchRequest
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel
from trio_adk.tools import BaseToolset

# ---- helpers ------------------------------------------------------------------------------


class Probe:
    """What the agents of a test did, shared across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cancelled: list[str] = []  # session ids whose run reached its cleanup
        self.cleaned: list[str] = []  # session ids whose cleanup finished
        self.completed: list[str] = []  # session ids whose body ran to its end
        self.active = 0
        self.max_active = 0

    def enter(self) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def leave(self) -> None:
        with self.lock:
            self.active -= 1


class Streamer(BaseAgent):
    """Yields ``count`` events ``gap`` s apart, works ``tail`` s, then raises ``fail``
    if given.  When it does not get to the end its ``finally`` records the
    cancellation, sleeps ``cleanup`` s shielded and records that cleanup finished."""

    count: int = 3
    gap: float = 0.0
    tail: float = 0.0
    cleanup: float = 0.0
    fail: Any = None
    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        session_id = ctx.session.id
        finished = False
        try:
            for i in range(self.count):
                if i and self.gap:
                    await anyio.sleep(self.gap)  # user code: on the caller's library
                yield Event(author=self.name, invocation_id=ctx.invocation_id,
                            content=model_text(f"e{i}"))
            if self.tail:
                await anyio.sleep(self.tail)
            if self.fail is not None:
                raise self.fail
            finished = True
            self.probe.completed.append(session_id)
        finally:
            if not finished and self.fail is None:
                self.probe.cancelled.append(session_id)
                with anyio.CancelScope(shield=True):
                    await anyio.sleep(self.cleanup)
                self.probe.cleaned.append(session_id)


class Echo(BaseAgent):
    """Answers ``echo: <text>`` after ``work`` s; ``fail...`` raises ValueError and
    ``slow...`` works ``slow`` s.  Counts concurrently active runs in its probe."""

    work: float = 0.0
    slow: float = 100.0
    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        assert ctx.user_content is not None and ctx.user_content.parts
        message = ctx.user_content.parts[0].text or ""
        self.probe.enter()
        try:
            if message.startswith("fail"):
                raise ValueError(message)
            await anyio.sleep(self.slow if message.startswith("slow") else self.work)
        finally:
            self.probe.leave()
        yield Event(author=self.name, invocation_id=ctx.invocation_id,
                    content=model_text(f"echo: {message}"))


class Boom(BaseException):
    """A failure that is not an ``Exception``."""


def sync_runner(agent: BaseAgent, *, sessions: tuple[str, ...] = ("s1",),
                plugins: Any = None, **kwargs: Any) -> Runner:
    """A Runner over an in-memory session service with ``sessions`` created (from sync
    code, in a throwaway trio run)."""
    service = InMemorySessionService()

    async def create() -> None:
        for sid in sessions:
            await service.create_session(app_name=APP, user_id=USER, session_id=sid)

    trio.run(create)
    return Runner(app_name=APP, agent=agent, session_service=service, plugins=plugins,
                  **kwargs)


def stored(runner: Runner, session_id: str = "s1") -> list[Event]:
    """The events stored for the session (read from sync code)."""
    return trio.run(stored_events, runner, session_id)


def run(runner: Runner, session_id: str = "s1", text: str = "go",
        **kwargs: Any) -> Generator[Event, None, None]:
    """The sync event stream of one turn."""
    return runner.run(user_id=USER, session_id=session_id, new_message=user_text(text),
                      **kwargs)


def drain(events: Generator[Event, None, None], got: list[Event]) -> None:
    """Iterate ``events`` to the end, appending each to ``got`` as it arrives."""
    for event in events:
        got.append(event)


def start_thread(target: Any, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name="test-helper", daemon=True)
    thread.start()
    return thread


# ---- Runner.run: events, errors -----------------------------------------------------------


def test_run_yields_events_in_order_and_persists_each() -> None:
    """``for event in runner.run(...)`` yields the agent's events in order; the session
    holds the user message followed by exactly those events; after_run ran once."""
    plugin = RunLog()
    runner = sync_runner(Streamer(name="streamer", count=5), plugins=[plugin])
    got = list(run(runner))
    assert ["e0", "e1", "e2", "e3", "e4"] == texts(got)
    events = stored(runner)
    assert ["go", "e0", "e1", "e2", "e3", "e4"] == texts(events)
    assert got == events[1:]
    assert 1 == plugin.after_runs
    assert [] == list(ACTIVE_RUNS)


def test_each_event_is_persisted_when_the_caller_receives_it() -> None:
    """While the caller holds the second event, the session holds the user message and
    the first two events, nothing more (no prefetch runs ahead of persistence)."""
    runner = sync_runner(Streamer(name="streamer", count=4))
    seen: list[list[str]] = []
    for _event in run(runner):
        seen.append(texts(stored(runner)))
    assert [["go", "e0"], ["go", "e0", "e1"], ["go", "e0", "e1", "e2"],
            ["go", "e0", "e1", "e2", "e3"]] == seen


def test_run_forwards_state_delta() -> None:
    """``state_delta`` is recorded on the stored user event and applied to the
    session's state."""
    runner = sync_runner(Streamer(name="streamer", count=1))
    got = list(run(runner, state_delta={"topic": "trio", "count": 2}))
    assert ["e0"] == texts(got)
    events = stored(runner)
    assert {"topic": "trio", "count": 2} == events[0].actions.state_delta

    async def state() -> dict[str, Any]:
        session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                           session_id="s1")
        assert session is not None
        return dict(session.state)

    assert {"topic": "trio", "count": 2} == trio.run(state)


def test_agent_error_is_reraised_after_the_events_before_it() -> None:
    """An agent that raises ValueError after two events: the caller receives both
    events, then the same ValueError; the session holds exactly those events;
    after_run did not run."""
    plugin = RunLog()
    runner = sync_runner(Streamer(name="streamer", count=2, fail=ValueError("agent broke")),
                         plugins=[plugin])
    got: list[Event] = []
    with pytest.raises(ValueError, match=r"^agent broke$") as info:
        drain(run(runner), got)
    assert ValueError is type(info.value)
    assert ["e0", "e1"] == texts(got)
    assert got == stored(runner)[1:]
    assert 0 == plugin.after_runs


def test_non_exception_failure_arrives_as_runtime_error_chained_to_it() -> None:
    """An agent that raises a BaseException subclass (not an Exception) after one event:
    the caller gets the event, then a RuntimeError naming the type whose ``__cause__``
    is the original failure."""
    boom = Boom("not an Exception")
    runner = sync_runner(Streamer(name="streamer", count=1, fail=boom))
    got: list[Event] = []
    with pytest.raises(RuntimeError, match="Boom") as info:
        drain(run(runner), got)
    assert RuntimeError is type(info.value)
    assert boom is info.value.__cause__
    assert ["e0"] == texts(got)
    assert got == stored(runner)[1:]


def test_missing_session_raises_before_any_event() -> None:
    """A run on a session that does not exist raises SessionNotFoundError from the
    first ``next()``; no event was yielded and no session was created."""
    runner = sync_runner(Streamer(name="streamer"), sessions=())
    got: list[Event] = []
    with pytest.raises(SessionNotFoundError, match=r"^Session not found: nope"):
        drain(run(runner, session_id="nope"), got)
    assert [] == got

    async def lookup() -> Any:
        return await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                        session_id="nope")

    assert None is trio.run(lookup)
    assert [] == list(ACTIVE_RUNS)


# ---- Runner.run: the caller leaves early ----------------------------------------------------


def test_break_cancels_the_run_and_returns_after_its_cleanup() -> None:
    """``break`` after two events: right after the ``for`` loop the agent's shielded
    0.1 s cleanup has finished; the session holds exactly the received events;
    after_run_callback still ran (early close); nothing is in flight."""
    probe = Probe()
    plugin = RunLog()
    runner = sync_runner(Streamer(name="streamer", count=100, cleanup=0.1, probe=probe),
                         plugins=[plugin])
    got: list[Event] = []
    for event in run(runner):
        got.append(event)
        if len(got) == 2:
            break
    assert ["s1"] == probe.cleaned
    assert ["e0", "e1"] == texts(got)
    assert got == stored(runner)[1:]
    assert 1 == plugin.after_runs
    assert [] == list(ACTIVE_RUNS)


def test_generator_close_cancels_the_run_and_returns_after_its_cleanup() -> None:
    """``gen.close()`` after one event returns only once the agent's cleanup finished;
    the session holds exactly that event; after_run_callback ran."""
    probe = Probe()
    plugin = RunLog()
    runner = sync_runner(Streamer(name="streamer", count=100, cleanup=0.1, probe=probe),
                         plugins=[plugin])
    gen = run(runner)
    first = next(gen)
    gen.close()
    assert ["s1"] == probe.cleaned
    assert [first] == stored(runner)[1:]
    assert 1 == plugin.after_runs
    assert [] == list(ACTIVE_RUNS)


def test_exception_in_the_loop_body_cancels_the_run_after_its_cleanup() -> None:
    """An exception raised by the caller's loop body propagates unchanged; by then the
    generator was closed, so the run was cancelled, its cleanup finished and
    after_run_callback ran (early close); the session holds exactly the received
    event."""
    probe = Probe()
    plugin = RunLog()
    runner = sync_runner(Streamer(name="streamer", count=100, cleanup=0.1, probe=probe),
                         plugins=[plugin])
    got: list[Event] = []

    def consume() -> None:
        for event in run(runner):
            got.append(event)
            raise LookupError("caller broke")

    with pytest.raises(LookupError, match="caller broke"):
        consume()
    assert ["s1"] == probe.cleaned
    assert ["e0"] == texts(got)
    assert got == stored(runner)[1:]
    assert 1 == plugin.after_runs
    assert [] == list(ACTIVE_RUNS)


# ---- Runner.run from other contexts ---------------------------------------------------------


def test_run_works_from_a_thread_whose_asyncio_loop_is_running() -> None:
    """Sync code called from a coroutine under ``asyncio.run`` (the Jupyter case) can
    iterate ``runner.run``: all events arrive and are stored."""
    runner = sync_runner(Streamer(name="streamer", count=3))

    def sync_code() -> list[Event]:
        return list(run(runner))

    async def main() -> tuple[bool, list[Event]]:
        loop_running = asyncio.get_running_loop().is_running()
        return loop_running, sync_code()

    loop_running, got = asyncio.run(main())
    assert loop_running
    assert ["e0", "e1", "e2"] == texts(got)
    assert got == stored(runner)[1:]


def test_run_inside_a_trio_task_raises_runtime_error_naming_run_async() -> None:
    """Iterating ``runner.run`` inside a trio task would freeze the loop: it raises
    RuntimeError pointing to ``run_async``, and no run was started."""
    runner = sync_runner(Streamer(name="streamer"))

    async def main() -> list[Event]:
        return list(run(runner))

    with pytest.raises(RuntimeError, match="run_async"):
        trio.run(main)
    assert [] == stored(runner)
    assert [] == list(ACTIVE_RUNS)


def test_run_works_from_a_worker_thread_of_a_trio_program() -> None:
    """A trio program that calls sync code through ``trio.to_thread.run_sync`` can use
    ``runner.run`` there."""
    runner = sync_runner(Streamer(name="streamer", count=2))

    async def main() -> list[Event]:
        return await trio.to_thread.run_sync(lambda: list(run(runner)))

    got = trio.run(main)
    assert ["e0", "e1"] == texts(got)
    assert got == stored(runner)[1:]


# ---- close() ------------------------------------------------------------------------------


@pytest.mark.parametrize("closer", ["sync", "trio"])
def test_close_from_another_thread_ends_the_sync_run_with_runner_closed_error(
    closer: str,
) -> None:
    """While the main thread iterates a run, another thread closes the runner (plain
    sync ``close()``, or ``await close()`` in that thread's own trio run): ``close()``
    returns only after the agent's cleanup finished, and the consumer ends with
    RunnerClosedError after the event it received; the session holds that event."""
    probe = Probe()
    runner = sync_runner(Streamer(name="streamer", count=1, tail=30.0, cleanup=0.1,
                                  probe=probe))
    cleaned_when_close_returned: list[list[str]] = []

    def close_runner() -> None:
        if closer == "sync":
            runner.close()
        else:
            async def main() -> None:
                await runner.close()

            trio.run(main)
        cleaned_when_close_returned.append(list(probe.cleaned))

    got: list[Event] = []
    helpers: list[threading.Thread] = []

    def consume() -> None:
        for event in run(runner):
            got.append(event)
            helpers.append(start_thread(close_runner))

    started = time.monotonic()
    with pytest.raises(RunnerClosedError):
        consume()
    assert 1 == len(helpers)
    helpers[0].join(10)
    assert time.monotonic() - started < 10
    assert [["s1"]] == cleaned_when_close_returned
    assert runner.closed
    assert ["e0"] == texts(got)
    assert got == stored(runner)[1:]
    assert [] == list(ACTIVE_RUNS)


def test_sync_close_outside_any_loop_is_idempotent() -> None:
    """Plain ``runner.close()`` in sync code closes plugins and the agent tree's
    toolsets once; a second call returns at once and closes nothing again; the
    returned object may be awaited or ignored."""
    plugin = RunLog()
    toolset = CountingToolset()
    helper = _llm_with_toolset(toolset)
    runner = sync_runner(Streamer(name="streamer", count=1, sub_agents=[helper]),
                         plugins=[plugin])
    assert ["e0"] == texts(list(run(runner)))
    runner.close()
    assert runner.closed
    runner.close()
    assert 1 == plugin.closes
    assert 1 == toolset.closes


def test_with_runner_closes_on_exit() -> None:
    """``with runner:`` returns the runner and closes it on exit (plugins and toolsets
    closed once); an exception in the block propagates."""
    plugin = RunLog()
    toolset = CountingToolset()
    runner = sync_runner(Streamer(name="streamer", count=1,
                                  sub_agents=[_llm_with_toolset(toolset)]),
                         plugins=[plugin])
    entered: list[Runner] = []
    got: list[Event] = []

    def use() -> None:
        with runner as inside:
            entered.append(inside)
            got.extend(run(runner))
            raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        use()
    assert [runner] == entered
    assert ["e0"] == texts(got)
    assert runner.closed
    assert 1 == plugin.closes
    assert 1 == toolset.closes


def test_sync_run_after_close_raises_runner_closed_error() -> None:
    """Starting a sync run on a closed runner raises RunnerClosedError itself (as
    ``run_async`` does), and nothing is stored."""
    runner = sync_runner(Streamer(name="streamer"))
    runner.close()
    with pytest.raises(RunnerClosedError, match="closed"):
        list(run(runner))
    assert [] == stored(runner)


def test_sync_run_batch_after_close_raises_runner_closed_error() -> None:
    """``run_batch`` on a closed runner reports RunnerClosedError for each request."""
    runner = sync_runner(Echo(name="echo"))
    runner.close()
    results = runner.run_batch([(USER, "s1", "hi")])
    assert [RunnerClosedError] == [type(r.error) for r in results]


# ---- timeouts -----------------------------------------------------------------------------


def test_run_timeout_raises_builtin_timeout_error_after_cleanup() -> None:
    """``timeout=0.1`` on a run whose agent works 5 s: after the first event the caller
    gets the built-in TimeoutError (promptly), the agent's cleanup has finished, the
    session holds exactly the received event, and after_run did not run."""
    probe = Probe()
    plugin = RunLog()
    runner = sync_runner(Streamer(name="streamer", count=1, tail=5.0, cleanup=0.05,
                                  probe=probe), plugins=[plugin])
    got: list[Event] = []
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        drain(run(runner, timeout=0.1), got)
    assert TimeoutError is type(info.value)
    assert time.monotonic() - started < 2.0
    assert ["s1"] == probe.cleaned
    assert ["e0"] == texts(got)
    assert got == stored(runner)[1:]
    assert 0 == plugin.after_runs


# ---- Ctrl-C -------------------------------------------------------------------------------


def _interrupt_after(ready: threading.Event, how: str) -> None:
    main = threading.main_thread().ident
    assert main is not None
    if not ready.wait(5):
        return
    time.sleep(0.05)  # the main thread is blocked waiting for the next event by now
    if how == "interrupt_main":
        import _thread

        _thread.interrupt_main()
    else:
        signal.pthread_kill(main, signal.SIGINT)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals go to the main thread")
@pytest.mark.parametrize("how", ["sigint", "interrupt_main"])
def test_keyboard_interrupt_during_run_cancels_the_run_cleanly(how: str) -> None:
    """Ctrl-C while the main thread waits for the next event of a sleeping agent (a real
    SIGINT to the main thread, or ``_thread.interrupt_main()`` from a helper thread):
    KeyboardInterrupt reaches the caller promptly, the agent was cancelled and its
    cleanup finished, the session holds exactly the received event, and no thread or
    run is left.  (The agent sleeps 3 s at most, so a lost interrupt cannot hang.)"""
    probe = Probe()
    runner = sync_runner(Streamer(name="streamer", count=1, tail=3.0, cleanup=0.05,
                                  probe=probe))
    ready = threading.Event()
    helper = start_thread(_interrupt_after, ready, how)
    got: list[Event] = []

    def consume() -> None:
        for event in run(runner):
            got.append(event)
            ready.set()
        # Not interrupted: wait here so a late interrupt still lands in pytest.raises.
        helper.join(5)
        time.sleep(0.2)

    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            consume()
        elapsed = time.monotonic() - started
    finally:
        ready.set()
        helper.join(5)
    assert elapsed < 1.5, f"KeyboardInterrupt took {elapsed:.2f} s to arrive"
    assert ["s1"] == probe.cancelled
    assert ["s1"] == probe.cleaned
    assert [] == probe.completed
    assert ["e0"] == texts(got)
    assert got == stored(runner)[1:]
    assert [] == list(ACTIVE_RUNS)
    assert [] == [t.name for t in threading.enumerate() if t.name == "trio_adk.run-thread"]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals go to the main thread")
@pytest.mark.parametrize("how", ["sigint", "interrupt_main"])
def test_keyboard_interrupt_during_run_batch_arrives_after_the_cleanup(how: str) -> None:
    """Ctrl-C while sync ``run_batch`` waits: the KeyboardInterrupt reaches the caller
    only once the run's cleanup (0.3 s) finished.  (Waiting in ``Thread.join()``, an
    interrupt could mark the worker stopped while it still ran.)"""
    probe = Probe()
    runner = sync_runner(Streamer(name="streamer", count=1, tail=3.0, cleanup=0.3,
                                  probe=probe))
    ready = threading.Event()
    helper = start_thread(_interrupt_after, ready, how)
    def batch() -> None:
        ready.set()
        runner.run_batch([(USER, "s1", "go")])
        helper.join(5)  # not interrupted yet: let a late interrupt land here
        time.sleep(0.2)

    try:
        with pytest.raises(KeyboardInterrupt):
            batch()
        assert ["s1"] == probe.cleaned  # already, when the interrupt arrived
        assert [] == list(ACTIVE_RUNS)
    finally:
        ready.set()
        helper.join(5)


# ---- one session, several sync callers ------------------------------------------------------


def test_two_sync_runs_on_one_session_from_two_threads_do_not_interleave() -> None:
    """Two threads run a turn on the same session at once (default queue policy): each
    gets its own three events, and the session holds one turn after the other."""
    runner = sync_runner(Streamer(name="streamer", count=3, gap=0.01))
    results: dict[str, list[str]] = {}

    def turn(label: str) -> None:
        results[label] = texts(list(run(runner, text=label)))

    threads = [start_thread(turn, label) for label in ("a", "b")]
    for thread in threads:
        thread.join(10)
    assert {"a": ["e0", "e1", "e2"], "b": ["e0", "e1", "e2"]} == results
    stored_texts = texts(stored(runner))
    first = stored_texts[0]
    second = "b" if first == "a" else "a"
    assert [first, "e0", "e1", "e2", second, "e0", "e1", "e2"] == stored_texts


# ---- batches (sync) -----------------------------------------------------------------------


def test_run_batch_returns_results_in_request_order_for_every_input_kind() -> None:
    """``run_batch`` accepts tuples, dicts and BatchRequest objects with string or
    Content messages; results come in request order (even though later requests
    finish first), each with its events, final response text and no error."""
    runner = sync_runner(Echo(name="echo"), sessions=("s1", "s2", "s3", "s4"))
    requests: list[Any] = [
        (USER, "s1", "one"),
        {"user_id": USER, "session_id": "s2", "new_message": "two"},
        BatchRequest(user_id=USER, session_id="s3", new_message=user_text("three")),
        (USER, "s4", user_text("four")),
    ]
    results = runner.run_batch(requests)
    assert ["echo: one", "echo: two", "echo: three", "echo: four"] == \
        [r.text for r in results]
    assert [True] * 4 == [r.ok for r in results]
    assert ["s1", "s2", "s3", "s4"] == [r.request.session_id for r in results]
    assert [["echo: one"], ["echo: two"], ["echo: three"], ["echo: four"]] == \
        [texts(r.events) for r in results]
    assert ["one", "echo: one"] == texts(stored(runner, "s1"))
    assert ["four", "echo: four"] == texts(stored(runner, "s4"))


def test_run_batch_one_failing_request_does_not_cancel_the_others() -> None:
    """A request whose agent raises gets that error in its result; the other requests
    complete normally."""
    runner = sync_runner(Echo(name="echo", work=0.02), sessions=("s1", "s2", "s3"))
    results = runner.run_batch([(USER, "s1", "a"), (USER, "s2", "fail now"),
                                (USER, "s3", "c")])
    assert [None, ValueError, None] == [type(r.error) if r.error else None for r in results]
    assert "fail now" == str(results[1].error)
    assert ["echo: a", "", "echo: c"] == [r.text for r in results]


def test_run_batch_fail_fast_cancels_the_others() -> None:
    """With ``fail_fast=True`` a failing request cancels the others that are running,
    which end with BatchCancelledError well before their agents would have finished;
    no agent is left active."""
    probe = Probe()
    runner = sync_runner(Echo(name="echo", slow=30.0, probe=probe),
                         sessions=("s1", "s2", "s3", "s4"))
    started = time.monotonic()
    results = runner.run_batch(
        [(USER, "s1", "slow a"), (USER, "s2", "fail now"), (USER, "s3", "slow c"),
         (USER, "s4", "slow d")],
        max_concurrency=4, fail_fast=True)
    assert time.monotonic() - started < 5
    assert [BatchCancelledError, ValueError, BatchCancelledError, BatchCancelledError] == \
        [type(r.error) for r in results]
    assert [[], [], [], []] == [r.events for r in results]
    assert 0 == probe.active
    assert [] == list(ACTIVE_RUNS)


def test_run_batch_respects_max_concurrency() -> None:
    """Six requests with ``max_concurrency=2``: at most two agents are active at once,
    and two are (the limit is used)."""
    probe = Probe()
    runner = sync_runner(Echo(name="echo", work=0.03, probe=probe),
                         sessions=tuple(f"s{i}" for i in range(6)))
    results = runner.run_batch([(USER, f"s{i}", f"m{i}") for i in range(6)],
                               max_concurrency=2)
    assert [f"echo: m{i}" for i in range(6)] == [r.text for r in results]
    assert 2 == probe.max_active


def test_run_batch_run_timeout_applies_to_each_run() -> None:
    """``run_timeout`` ends a slow request with the built-in TimeoutError while the
    quick ones complete."""
    runner = sync_runner(Echo(name="echo", slow=5.0), sessions=("s1", "s2"))
    started = time.monotonic()
    results = runner.run_batch([(USER, "s1", "quick"), (USER, "s2", "slow one")],
                               run_timeout=0.1)
    assert time.monotonic() - started < 2
    assert [None, TimeoutError] == [type(r.error) if r.error else None for r in results]
    assert "echo: quick" == results[0].text


def test_run_batch_rejects_bad_input() -> None:
    """``max_concurrency=0`` raises ValueError; an item that is not a request raises
    TypeError."""
    runner = sync_runner(Echo(name="echo"))
    with pytest.raises(ValueError, match="max_concurrency"):
        runner.run_batch([(USER, "s1", "x")], max_concurrency=0)
    with pytest.raises(TypeError, match="BatchRequest"):
        runner.run_batch([42])


# ---- batches (trio) -----------------------------------------------------------------------


async def _trio_runner(agent: BaseAgent, sessions: list[str]) -> Runner:
    service = InMemorySessionService()
    for sid in sessions:
        await service.create_session(app_name=APP, user_id=USER, session_id=sid)
    return Runner(app_name=APP, agent=agent, session_service=service)


async def test_run_batch_async_respects_max_concurrency(autojump_clock: Any) -> None:
    """Five 10 s requests with ``max_concurrency=2`` take 30 s of virtual time, never
    more than two agents run at once, and results come in request order."""
    probe = Probe()
    ids = [f"s{i}" for i in range(5)]
    runner = await _trio_runner(Echo(name="echo", work=10.0, probe=probe), ids)
    results = await runner.run_batch_async([(USER, sid, sid) for sid in ids],
                                           max_concurrency=2)
    assert 30 == trio.current_time()
    assert 2 == probe.max_active
    assert [f"echo: {sid}" for sid in ids] == [r.text for r in results]


async def test_run_batch_async_errors_fail_fast_and_timeouts(autojump_clock: Any) -> None:
    """Per-request errors stay per request; ``run_timeout`` ends a slow run with
    TimeoutError at its deadline; with ``fail_fast`` the failure at t=0 cancels the
    others at once (BatchCancelledError)."""
    ids = ["s1", "s2", "s3"]
    runner = await _trio_runner(Echo(name="echo", work=1.0, slow=100.0), ids)
    requests = [(USER, "s1", "fine"), (USER, "s2", "fail here"), (USER, "s3", "slow")]

    results = await runner.run_batch_async(requests, run_timeout=5)
    assert 5 == trio.current_time()
    assert [None, ValueError, TimeoutError] == \
        [type(r.error) if r.error else None for r in results]
    assert "echo: fine" == results[0].text

    before = trio.current_time()
    results = await runner.run_batch_async(requests, fail_fast=True)
    assert before == trio.current_time()
    assert [BatchCancelledError, ValueError, BatchCancelledError] == \
        [type(r.error) for r in results]


async def test_run_batch_async_fail_fast_also_cancels_queued_requests(
    autojump_clock: Any,
) -> None:
    """Three failing and two slow requests with ``max_concurrency=3`` (so whichever
    three start first, one fails): with ``fail_fast`` the batch ends at t=0, the slow
    requests (running or still queued) end with BatchCancelledError, each failing
    one with its ValueError or BatchCancelledError, and at least one failure is
    reported."""
    probe = Probe()
    ids = [f"s{i}" for i in range(5)]
    runner = await _trio_runner(Echo(name="echo", slow=100.0, probe=probe), ids)
    messages = ["fail 0", "fail 1", "fail 2", "slow 3", "slow 4"]
    results = await runner.run_batch_async(
        [(USER, sid, m) for sid, m in zip(ids, messages, strict=True)],
        max_concurrency=3, fail_fast=True)
    assert 0 == trio.current_time()
    kinds = [type(r.error) for r in results]
    assert [BatchCancelledError, BatchCancelledError] == kinds[3:]
    assert set(kinds[:3]) <= {ValueError, BatchCancelledError}
    assert ValueError in kinds
    assert probe.max_active <= 3
    assert 0 == probe.active


async def test_run_batch_async_starts_requests_in_request_order(autojump_clock: Any) -> None:
    """With ``max_concurrency=1`` the requests run one after the other in request order
    (first come, first served), every time (20 batches)."""
    started: list[str] = []

    class Recorder(BaseAgent):
        async def _run_async_impl(  # type: ignore[override]
            self, ctx: InvocationContext
        ) -> AsyncGenerator[Event, None]:
            started.append(ctx.session.id)
            await trio.sleep(1)
            yield Event(author=self.name, invocation_id=ctx.invocation_id,
                        content=model_text("done"))

    ids = ["s0", "s1", "s2", "s3"]
    runner = await _trio_runner(Recorder(name="recorder"), ids)
    orders = []
    for _ in range(20):
        started.clear()
        await runner.run_batch_async([(USER, sid, "go") for sid in ids], max_concurrency=1)
        orders.append(list(started))
    assert [ids] * 20 == orders


async def test_run_batch_async_cancelled_by_caller_cancels_every_run(
    autojump_clock: Any,
) -> None:
    """Cancelling the caller of ``run_batch_async`` cancels every run (none is left in
    flight) at the caller's deadline."""
    probe = Probe()
    ids = ["s1", "s2"]
    runner = await _trio_runner(Echo(name="echo", work=100.0, probe=probe), ids)
    with trio.move_on_after(3) as scope:
        await runner.run_batch_async([(USER, sid, "x") for sid in ids])
    assert scope.cancelled_caught
    assert 3 == trio.current_time()
    assert 0 == probe.active
    assert [] == list(ACTIVE_RUNS)


def _llm_with_toolset(toolset: BaseToolset) -> BaseAgent:
    """An LLM sub-agent that holds ``toolset`` (never called)."""
    return Agent(name="helper", model=ScriptedModel(replies=[]), tools=[toolset])

