"""Deadlines (``timeout=``, ``RunConfig.model_call_timeout``, the caller's own scopes),
runs sharing one session (queue and reject policies), and Ctrl-C in a trio program.

trio tests run on the autojump clock, so every time asserted is exact virtual time.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest
import trio
import trio.testing
from google.genai import types
from pydantic import Field

from helpers import APP, USER, RunLog, make_runner, model_text, stored_events, texts, user_text
from trio_adk import Agent, Runner
from trio_adk._run import ACTIVE_RUNS
from trio_adk.agents import BaseAgent, InvocationContext, RunConfig
from trio_adk.errors import RunnerClosedError, SessionBusyError
from trio_adk.events import Event
from trio_adk.testing import ScriptedModel, function_call, text

# ---- helpers ------------------------------------------------------------------------------


class Probe:
    """What the agents of a test did."""

    def __init__(self) -> None:
        self.cancelled: list[str] = []  # messages whose run reached its cleanup
        self.cleaned: list[str] = []  # messages whose cleanup finished
        self.started: list[tuple[str, float]] = []  # (message, trio time)
        self.finished: list[tuple[str, float]] = []  # (message, trio time)


def message_of(ctx: InvocationContext) -> str:
    assert ctx.user_content is not None and ctx.user_content.parts
    return ctx.user_content.parts[0].text or ""


class Worker(BaseAgent):
    """Yields ``count`` events ``gap`` s apart, then works ``tail`` s.  Its ``finally``
    records a cancellation, sleeps ``cleanup`` s shielded and records the end of the
    cleanup.  Events are named ``<message>:e<i>``; start and end times are recorded."""

    count: int = 1
    gap: float = 0.0
    tail: float = 0.0
    cleanup: float = 0.0
    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        message = message_of(ctx)
        self.probe.started.append((message, trio.current_time()))
        finished = False
        try:
            for i in range(self.count):
                if i and self.gap:
                    await trio.sleep(self.gap)
                yield Event(author=self.name, invocation_id=ctx.invocation_id,
                            content=model_text(f"{message}:e{i}"))
            await trio.sleep(self.tail)
            finished = True
            self.probe.finished.append((message, trio.current_time()))
        finally:
            if not finished:
                self.probe.cancelled.append(message)
                with trio.CancelScope(shield=True):
                    await trio.sleep(self.cleanup)
                self.probe.cleaned.append(message)


def start(runner: Runner, message: str = "go", session_id: str = "s1",
          **kwargs: Any) -> AsyncGenerator[Event, None]:
    """The event stream of one turn."""
    return runner.run_async(user_id=USER, session_id=session_id,
                            new_message=user_text(message), **kwargs)


async def consume(gen: AsyncGenerator[Event, None], got: list[Event]) -> None:
    """Iterate ``gen`` under aclosing, appending each event to ``got`` as it arrives."""
    async with aclosing(gen) as events:
        async for event in events:
            got.append(event)


# ---- timeout= -----------------------------------------------------------------------------


async def test_run_timeout_raises_builtin_timeout_error_after_cleanup(
    autojump_clock: Any,
) -> None:
    """``run_async(timeout=25)`` on an agent that emits at t=0 and t=10 and then works
    100 s: the consumer gets the built-in TimeoutError (not trio.Cancelled or
    TooSlowError) once the 2 s shielded cleanup finished (t=27); the session holds
    exactly the received events; after_run did not run."""
    probe = Probe()
    plugin = RunLog()
    runner = await make_runner(Worker(name="worker", count=2, gap=10, tail=100, cleanup=2,
                                      probe=probe), plugins=[plugin])
    got: list[Event] = []
    with pytest.raises(TimeoutError) as info:
        await consume(start(runner, timeout=25), got)
    assert TimeoutError is type(info.value)
    assert 27 == trio.current_time()
    assert ["go"] == probe.cleaned
    assert ["go:e0", "go:e1"] == texts(got)
    assert got == (await stored_events(runner))[1:]
    assert 0 == plugin.after_runs
    assert [] == list(ACTIVE_RUNS)


async def test_run_that_ends_before_its_timeout_is_unaffected(autojump_clock: Any) -> None:
    """A run that finishes at t=20 with ``timeout=25`` completes normally; after_run
    ran; the unused deadline does not fire later in the caller's code."""
    probe = Probe()
    plugin = RunLog()
    runner = await make_runner(Worker(name="worker", count=3, gap=10, probe=probe),
                               plugins=[plugin])
    got: list[Event] = []
    await consume(start(runner, timeout=25), got)
    assert 20 == trio.current_time()
    assert ["go:e0", "go:e1", "go:e2"] == texts(got)
    assert 1 == plugin.after_runs
    await trio.sleep(100)  # the run's old deadline passes without effect
    assert [] == probe.cancelled


async def test_run_timeout_counts_the_time_the_consumer_takes(autojump_clock: Any) -> None:
    """``timeout`` bounds the whole run: a consumer that spends 10 s on each event of
    a fast agent makes the run hit a 15 s timeout (TimeoutError at t=15, two events
    received and stored)."""
    runner = await make_runner(Worker(name="worker", count=5))
    got: list[Event] = []

    async def slow_consumer() -> None:
        async with aclosing(start(runner, timeout=15)) as events:
            async for event in events:
                got.append(event)
                await trio.sleep(10)

    with pytest.raises(TimeoutError):
        await slow_consumer()
    assert ["go:e0", "go:e1"] == texts(got)
    assert got == (await stored_events(runner))[1:]
    assert 20 == trio.current_time()


# ---- RunConfig.model_call_timeout ---------------------------------------------------------


async def test_model_call_timeout_ends_the_run_with_timeout_error(
    autojump_clock: Any,
) -> None:
    """A scripted model that takes 100 s with ``model_call_timeout=5``: the run ends
    with the built-in TimeoutError at t=5; only the user message is stored."""
    model = ScriptedModel(replies=[text("too late", delay=100)])
    runner = await make_runner(Agent(name="llm", model=model))
    got: list[Event] = []
    with pytest.raises(TimeoutError) as info:
        await consume(start(runner, run_config=RunConfig(model_call_timeout=5)), got)
    assert TimeoutError is type(info.value)
    assert 5 == trio.current_time()
    assert [] == got
    assert ["go"] == texts(await stored_events(runner))


def noop() -> str:
    """Do nothing."""
    return "ok"


async def test_model_call_timeout_applies_to_each_call(autojump_clock: Any) -> None:
    """Two model calls of 3 s each with ``model_call_timeout=5``: each call is within
    its limit, so the run completes at t=6 with the final answer."""
    model = ScriptedModel(replies=[function_call("noop", delay=3), text("done", delay=3)])
    runner = await make_runner(Agent(name="llm", model=model, tools=[noop]))
    got: list[Event] = []
    await consume(start(runner, run_config=RunConfig(model_call_timeout=5)), got)
    assert 6 == trio.current_time()
    assert "done" == texts(got)[-1]


# ---- the caller's own deadline ------------------------------------------------------------


@pytest.mark.parametrize(("caller_deadline", "expected", "ends_at"),
                         [(10, trio.TooSlowError, 12), (30, TimeoutError, 27)])
async def test_earlier_of_caller_deadline_and_run_timeout_wins(
    autojump_clock: Any, caller_deadline: float, expected: type[BaseException],
    ends_at: float,
) -> None:
    """A ``trio.fail_after`` around the loop and ``timeout=25`` on the run: whichever
    comes first cancels the run cleanly (2 s cleanup finished when the error arrives).
    The caller's own deadline raises the caller's TooSlowError, the run's timeout the
    built-in TimeoutError; after_run ran in neither case; stored == received."""
    probe = Probe()
    plugin = RunLog()
    runner = await make_runner(Worker(name="worker", count=2, gap=5, tail=100, cleanup=2,
                                      probe=probe), plugins=[plugin])
    got: list[Event] = []
    with pytest.raises(expected) as info, trio.fail_after(caller_deadline):
        await consume(start(runner, timeout=25), got)
    assert expected is type(info.value)
    assert ends_at == trio.current_time()
    assert ["go"] == probe.cleaned
    assert 0 == plugin.after_runs
    assert ["go:e0", "go:e1"] == texts(got)
    assert got == (await stored_events(runner))[1:]
    assert [] == list(ACTIVE_RUNS)


# ---- several runs on one session ----------------------------------------------------------


async def test_two_runs_on_one_session_take_turns(autojump_clock: Any) -> None:
    """Two runs started at once on one session (default policy): the second waits for
    the first; the session holds the first turn's events, then the second's; the
    second starts when the first ends (t=2) and ends at t=4."""
    probe = Probe()
    runner = await make_runner(Worker(name="worker", count=3, gap=1, probe=probe))
    got: dict[str, list[Event]] = {"a": [], "b": []}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume, start(runner, "a"), got["a"])
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(consume, start(runner, "b"), got["b"])
    assert 4 == trio.current_time()
    assert [("a", 0), ("b", 2)] == probe.started
    assert ["a:e0", "a:e1", "a:e2"] == texts(got["a"])
    assert ["b:e0", "b:e1", "b:e2"] == texts(got["b"])
    assert ["a", "a:e0", "a:e1", "a:e2", "b", "b:e0", "b:e1", "b:e2"] == \
        texts(await stored_events(runner))


async def test_second_run_sees_the_first_runs_events_in_its_model_request(
    autojump_clock: Any,
) -> None:
    """Two LLM turns started at once on one session: the second model call's history
    holds the first turn's question and answer before its own question."""
    model = ScriptedModel(replies=[text("answer one", delay=5), text("answer two", delay=5)])
    runner = await make_runner(Agent(name="llm", model=model))
    got: dict[str, list[Event]] = {"q1": [], "q2": []}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume, start(runner, "q1"), got["q1"])
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(consume, start(runner, "q2"), got["q2"])
    assert 10 == trio.current_time()
    assert {"q1": ["answer one"], "q2": ["answer two"]} == \
        {k: texts(v) for k, v in got.items()}
    assert [["q1"], ["q1", "answer one", "q2"]] == \
        [texts_of(r.contents) for r in model.requests]
    assert ["q1", "answer one", "q2", "answer two"] == texts(await stored_events(runner))


def texts_of(contents: list[types.Content]) -> list[str]:
    """The joined text of each content."""
    return ["".join(p.text or "" for p in c.parts or ()) for c in contents]


async def test_cancelled_queued_run_gives_up_its_place(autojump_clock: Any) -> None:
    """A runs 10 s; B and C queue behind it, in that order; B's consumer is cancelled
    at t=5 (it returns at once, nothing of B is stored, its agent never started);
    C starts when A ends (t=10) and ends at t=20."""
    probe = Probe()
    runner = await make_runner(Worker(name="worker", tail=10, probe=probe))
    got: dict[str, list[Event]] = {"a": [], "b": [], "c": []}
    b_returned: list[float] = []

    async def b_consumer() -> None:
        with trio.move_on_after(5):
            await consume(start(runner, "b"), got["b"])
        b_returned.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume, start(runner, "a"), got["a"])
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(b_consumer)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(consume, start(runner, "c"), got["c"])
    assert [5] == b_returned
    assert 20 == trio.current_time()
    assert [("a", 0), ("c", 10)] == probe.started
    assert {"a": ["a:e0"], "b": [], "c": ["c:e0"]} == {k: texts(v) for k, v in got.items()}
    assert ["a", "a:e0", "c", "c:e0"] == texts(await stored_events(runner))
    assert [] == list(ACTIVE_RUNS)


async def test_close_cancels_the_active_and_the_queued_run(autojump_clock: Any) -> None:
    """``close()`` with one run active (2 s cleanup) and one queued on the same session:
    both consumers end with RunnerClosedError, close returns after the cleanup (t=2),
    and the queued run's agent never started."""
    probe = Probe()
    runner = await make_runner(Worker(name="worker", tail=100, cleanup=2, probe=probe))
    outcomes: dict[str, type[BaseException] | None] = {}

    async def consumer(label: str) -> None:
        try:
            await consume(start(runner, label), [])
        except RunnerClosedError as exc:
            outcomes[label] = type(exc)
        else:
            outcomes[label] = None

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer, "a")
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(consumer, "b")
        await trio.testing.wait_all_tasks_blocked()
        await runner.close()
        assert 2 == trio.current_time()
    assert {"a": RunnerClosedError, "b": RunnerClosedError} == outcomes
    assert [("a", 0)] == probe.started
    assert ["a"] == probe.cleaned
    assert ["a", "a:e0"] == texts(await stored_events(runner))


async def test_reject_policy_raises_session_busy_error(autojump_clock: Any) -> None:
    """With ``session_concurrency="reject"`` a second run on a busy session raises
    SessionBusyError at once (nothing of it stored) while the first completes; once
    the session is free a new run is accepted."""
    probe = Probe()
    runner = await make_runner(Worker(name="worker", tail=10, probe=probe),
                               session_concurrency="reject")
    got: list[Event] = []
    rejected_at: list[float] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume, start(runner, "a"), got)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(SessionBusyError, match="session_concurrency"):
            await consume(start(runner, "b"), [])
        rejected_at.append(trio.current_time())
    assert [0] == rejected_at
    assert 10 == trio.current_time()
    assert ["a:e0"] == texts(got)
    assert ["a", "a:e0"] == texts(await stored_events(runner))
    await consume(start(runner, "c"), [])
    assert ["a", "a:e0", "c", "c:e0"] == texts(await stored_events(runner))
    assert [("a", 0), ("c", 10)] == probe.started


async def test_reject_policy_allows_runs_on_other_sessions(autojump_clock: Any) -> None:
    """``reject`` only concerns one session: runs on two sessions proceed together."""
    runner = await make_runner(Worker(name="worker", tail=10),
                               session_concurrency="reject")
    await runner.session_service.create_session(app_name=APP, user_id=USER, session_id="s2")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume, start(runner, "a", "s1"), [])
        nursery.start_soon(consume, start(runner, "b", "s2"), [])
    assert 10 == trio.current_time()


async def test_unknown_session_concurrency_policy_is_rejected() -> None:
    """``session_concurrency`` other than "queue" or "reject" raises ValueError."""
    with pytest.raises(ValueError, match="session_concurrency"):
        await make_runner(Worker(name="worker"), session_concurrency="parallel")


@pytest.mark.parametrize(("sessions", "ends_at"), [(("s1", "s2"), 10), (("s1", "s1"), 20)])
async def test_different_sessions_run_concurrently_one_session_in_turn(
    autojump_clock: Any, sessions: tuple[str, str], ends_at: float,
) -> None:
    """Two 10 s runs finish at t=10 on two sessions, at t=20 on one session."""
    runner = await make_runner(Worker(name="worker", tail=10))
    await runner.session_service.create_session(app_name=APP, user_id=USER, session_id="s2")
    async with trio.open_nursery() as nursery:
        for label, sid in zip("ab", sessions, strict=True):
            nursery.start_soon(consume, start(runner, label, sid), [])
    assert ends_at == trio.current_time()


# ---- Ctrl-C in a trio program ---------------------------------------------------------------


async def _make_runner_for_ki(probe: Probe, tail: float) -> tuple[Runner, list[Event]]:
    runner = await make_runner(Worker(name="worker", count=1, tail=tail, cleanup=2,
                                      probe=probe))
    return runner, []


@pytest.mark.parametrize("closing", ["aclosing", "bare"])
def test_keyboard_interrupt_from_the_loop_body_cancels_the_run(closing: str) -> None:
    """``trio.run(main)`` where main raises KeyboardInterrupt from its loop body (with
    or without ``aclosing``): KeyboardInterrupt propagates out of ``trio.run``, and by
    then the run was cancelled and its 2 s cleanup finished; stored == received; no
    run is left."""
    probe = Probe()
    seen: dict[str, Any] = {}

    async def main() -> None:
        runner, got = await _make_runner_for_ki(probe, tail=1000)
        seen["runner"], seen["got"] = runner, got
        gen = start(runner)
        if closing == "aclosing":
            async with aclosing(gen) as events:
                async for event in events:
                    got.append(event)
                    raise KeyboardInterrupt
        else:
            async for event in gen:
                got.append(event)
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert ["go"] == probe.cancelled
    assert ["go"] == probe.cleaned
    assert [] == list(ACTIVE_RUNS)
    runner, got = seen["runner"], seen["got"]
    assert ["go:e0"] == texts(got)
    assert got == trio.run(stored_events, runner)[1:]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals go to the main thread")
def test_sigint_while_waiting_for_an_event_cancels_the_run() -> None:
    """A real SIGINT while a trio program's main task waits for the next event (the
    agent sleeps): KeyboardInterrupt propagates out of ``trio.run`` promptly, the run
    was cancelled and its cleanup finished, and no run is left.  (Bounded: the agent
    sleeps 3 s at most and the program gives up after 5 s.)"""
    probe = Probe()
    main_ident = threading.main_thread().ident
    assert main_ident is not None
    seen: dict[str, Any] = {}

    def interrupt(ready: threading.Event) -> None:
        if ready.wait(5):
            time.sleep(0.05)
            signal.pthread_kill(main_ident, signal.SIGINT)

    async def main() -> None:
        runner = await make_runner(Worker(name="worker", count=1, tail=3, cleanup=0.05,
                                          probe=probe))
        got: list[Event] = []
        seen["runner"], seen["got"] = runner, got
        ready = threading.Event()
        helper = threading.Thread(target=interrupt, args=(ready,), daemon=True)
        helper.start()
        try:
            with trio.move_on_after(5):
                async with aclosing(start(runner)) as events:
                    async for event in events:
                        got.append(event)
                        ready.set()
                await trio.sleep(1)  # not interrupted: a late interrupt lands here
        finally:
            ready.set()
            helper.join(5)

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        trio.run(main)
    assert time.monotonic() - started < 1.5
    assert ["go"] == probe.cancelled
    assert ["go"] == probe.cleaned
    assert [] == list(ACTIVE_RUNS)
    runner, got = seen["runner"], seen["got"]
    assert ["go:e0"] == texts(got)
    assert got == trio.run(stored_events, runner)[1:]


# ---- one run per session across runners sharing a service ----------------------------------


async def test_two_runners_over_one_service_take_turns_on_a_session(
        autojump_clock: Any) -> None:
    """A runner per request over one shared service is a common deployment: the second
    runner's run on the same session waits for the first (FIFO), so their events never
    interleave and the second sees what the first appended."""
    probe = Probe()
    agent = Worker(name="worker", count=2, gap=5, probe=probe)
    first = await make_runner(agent)
    second = Runner(app_name=APP, agent=agent, session_service=first.session_service)
    got: dict[str, list[Event]] = {"a": [], "b": []}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume, start(first, "a"), got["a"])
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(consume, start(second, "b"), got["b"])
    assert [("a", 0), ("b", 5)] == probe.started
    assert ["a", "a:e0", "a:e1", "b", "b:e0", "b:e1"] == texts(await stored_events(first))


async def test_reject_policy_sees_a_run_of_another_runner(autojump_clock: Any) -> None:
    """``reject`` refuses a run whose session is busy with another runner's run."""
    agent = Worker(name="worker", tail=10)
    first = await make_runner(agent)
    second = Runner(app_name=APP, agent=agent, session_service=first.session_service,
                    session_concurrency="reject")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume, start(first, "a"), [])
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(SessionBusyError, match="already has a run in flight"):
            await consume(start(second, "b"), [])
    assert ["a", "a:e0"] == texts(await stored_events(first))


async def test_claim_is_released_when_a_run_fails(autojump_clock: Any) -> None:
    """A run that fails still releases its claim: the next run starts at once."""

    class Failing(BaseAgent):
        async def _run_async_impl(  # type: ignore[override]
            self, ctx: InvocationContext
        ) -> AsyncGenerator[Event, None]:
            raise RuntimeError("boom")
            yield  # pragma: no cover

    runner = await make_runner(Failing(name="failing"), session_concurrency="reject")
    with pytest.raises(RuntimeError, match="boom"):
        await consume(start(runner, "a"), [])
    with pytest.raises(RuntimeError, match="boom"):
        await consume(start(runner, "b"), [])
