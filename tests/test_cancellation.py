"""The structured-concurrency promises of Runner.run_async and Runner.close."""

from __future__ import annotations

import contextvars
import gc
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest
import trio
import trio.testing
from pydantic import Field

import probe_agents
from helpers import (
    APP,
    USER,
    CountingToolset,
    RunLog,
    make_runner,
    model_text,
    run_text,
    stored_events,
    texts,
)
from probe_agents import Failing, Probe, start
from trio_adk import Agent, Runner
from trio_adk._run import ACTIVE_RUNS
from trio_adk.agents import BaseAgent, InvocationContext
from trio_adk.errors import RunnerClosedError
from trio_adk.events import Event
from trio_adk.testing import ScriptedModel, function_calls, text
from trio_adk.tools import ToolContext

# ---- helpers ------------------------------------------------------------------------------


class Worker(probe_agents.Worker):
    """:class:`probe_agents.Worker` with this file's defaults: 100 events, 3 s of cleanup."""

    count: int = 100
    cleanup: float | dict[str, float] = 3.0


class WithBackground(BaseAgent):
    """Yields one event, then waits inside a nursery that runs a background task."""

    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        probe = self.probe

        async def background() -> None:
            probe.background_started = True
            try:
                await trio.sleep_forever()
            finally:
                with trio.CancelScope(shield=True):
                    await trio.sleep(1)
                probe.background_cleaned = True

        yield Event(author=self.name, invocation_id=ctx.invocation_id,
                    content=model_text("started"))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(background)
            await trio.sleep(1000)
            yield Event(author=self.name, invocation_id=ctx.invocation_id,
                        content=model_text("never"))  # pragma: no cover


async def consume(runner: Runner, got: list[Event], session_id: str = "s1") -> None:
    """Run one turn under aclosing, appending each event to ``got`` as it arrives."""
    async with aclosing(start(runner, session_id)) as events:
        async for event in events:
            got.append(event)


async def create_sessions(runner: Runner, ids: list[str]) -> None:
    for session_id in ids:
        await runner.session_service.create_session(app_name=APP, user_id=USER,
                                                    session_id=session_id)


# ---- the consumer leaves early --------------------------------------------------------------


async def test_break_under_aclosing_waits_for_cleanup_and_runs_after_run(
    autojump_clock: Any,
) -> None:
    """``break`` inside ``aclosing``: when the ``async with`` exits the agent's shielded
    3 s cleanup has finished, nothing beyond the received events was stored,
    after_run_callback ran (ADK 2.x early close), and no run is left."""
    probe = Probe()
    plugin = RunLog()
    runner = await make_runner(Worker(name="worker", probe=probe, cleanup=3.0),
                               plugins=[plugin])
    got: list[Event] = []
    async with aclosing(start(runner)) as events:
        async for event in events:
            got.append(event)
            if len(got) == 2:
                break
    assert ["s1"] == probe.cleaned
    assert 3 == trio.current_time()
    assert ["e0", "e1"] == texts(got)
    assert got == (await stored_events(runner))[1:]
    assert 1 == plugin.after_runs
    assert [] == list(ACTIVE_RUNS)


async def test_aclose_returns_after_cleanup(autojump_clock: Any) -> None:
    """Calling ``aclose()`` directly on the stream after one event behaves the same:
    it returns once the run's cleanup finished."""
    probe = Probe()
    runner = await make_runner(Worker(name="worker", probe=probe, cleanup=2.0))
    gen = start(runner)
    first = await anext(gen)
    await gen.aclose()
    assert ["e0"] == texts([first])
    assert ["s1"] == probe.cleaned
    assert 2 == trio.current_time()
    assert [first] == (await stored_events(runner))[1:]
    assert [] == list(ACTIVE_RUNS)


@pytest.mark.parametrize("kind", ["move_on_after", "fail_after"])
async def test_deadline_around_the_consumer_cancels_the_run_and_waits_for_cleanup(
    autojump_clock: Any, kind: str,
) -> None:
    """A 25 s deadline around the loop while the agent works for longer cancels the run;
    the 2 s cleanup finished before the scope exits (clock reads exactly 27);
    ``fail_after`` raises TooSlowError; after_run_callback did not run (outside
    cancellation); the session holds exactly the received events."""
    probe = Probe()
    plugin = RunLog()
    agent = Worker(name="worker", probe=probe, count=2, gap=10.0, tail=100.0, cleanup=2.0)
    runner = await make_runner(agent, plugins=[plugin])
    got: list[Event] = []
    if kind == "move_on_after":
        with trio.move_on_after(25) as scope:
            await consume(runner, got)
        assert scope.cancelled_caught
    else:
        with pytest.raises(trio.TooSlowError), trio.fail_after(25):
            await consume(runner, got)
    assert 27 == trio.current_time()
    assert ["s1"] == probe.cleaned
    assert 0 == plugin.after_runs
    assert ["e0", "e1"] == texts(got)
    assert got == (await stored_events(runner))[1:]
    assert [] == list(ACTIVE_RUNS)


async def test_agent_error_after_two_events_reaches_consumer_unwrapped() -> None:
    """An agent raising after two events: the consumer gets both events, then the plain
    exception (not an ExceptionGroup); the session holds the user event and those two;
    after_run_callback did not run."""
    plugin = RunLog()
    runner = await make_runner(Failing(name="failing"), plugins=[plugin])
    got: list[Event] = []
    with pytest.raises(ValueError, match=r"^agent broke$") as info:
        await consume(runner, got)
    assert ValueError is type(info.value)
    assert ["e0", "e1"] == texts(got)
    stored = await stored_events(runner)
    assert ["user", "failing", "failing"] == [e.author for e in stored]
    assert got == stored[1:]
    assert 0 == plugin.after_runs


async def test_background_task_of_the_agent_is_cancelled_and_awaited(
    autojump_clock: Any,
) -> None:
    """A task the agent runs in its own nursery is cancelled when the consumer leaves,
    and its (1 s, shielded) cleanup has finished when ``aclose()`` returns.  (Pull
    semantics: the agent opens its nursery only once the consumer asks for the event
    after "started"; the consumer then gives up waiting after 5 s.)"""
    probe = Probe()
    runner = await make_runner(WithBackground(name="bg", probe=probe))
    got: list[Event] = []
    with trio.move_on_after(5):
        async with aclosing(start(runner)) as events:
            async for event in events:
                got.append(event)
                await trio.testing.wait_all_tasks_blocked()
                assert not probe.background_started  # the agent waits for the next pull
    assert probe.background_started
    assert probe.background_cleaned
    assert 6 == trio.current_time()
    assert ["started"] == texts(got)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_bare_break_without_aclosing_cancels_the_run_soon(autojump_clock: Any) -> None:
    """``break`` without aclosing: once the abandoned stream is garbage collected the run
    is cancelled (its cleanup starts) without the consumer waiting for it; nothing
    beyond the received event is stored."""
    probe = Probe()
    runner = await make_runner(Worker(name="worker", probe=probe, cleanup=3.0))
    got: list[Event] = []
    gen = start(runner)
    async for event in gen:
        got.append(event)
        break
    del gen
    gc.collect()
    await trio.testing.wait_all_tasks_blocked()
    assert ["s1"] == probe.cancelled
    assert 0 == trio.current_time()
    # The leak check needs the run to be over: let its cleanup finish.
    with trio.fail_after(10):
        while list(ACTIVE_RUNS):
            await trio.sleep(0.5)
    assert ["s1"] == probe.cleaned
    assert ["e0"] == texts(got)
    assert got == (await stored_events(runner))[1:]


# ---- Runner.close() -----------------------------------------------------------------------


async def test_close_cancels_runs_in_flight_and_waits_for_their_cleanup(
    autojump_clock: Any,
) -> None:
    """With three runs in flight (each consumer in its own task), ``close()`` returns
    only after every run's cleanup (1, 2 and 3 s, concurrently) finished; each consumer
    ends with RunnerClosedError after the events it received."""
    probe = Probe()
    ids = ["s1", "s2", "s3"]
    agent = Worker(name="worker", probe=probe, count=1, tail=1000.0,
                   cleanup={"s1": 1.0, "s2": 2.0, "s3": 3.0})
    runner = await make_runner(agent)
    await create_sessions(runner, ids[1:])
    received: dict[str, list[Event]] = {sid: [] for sid in ids}
    outcomes: dict[str, BaseException | None] = {}

    async def consumer(session_id: str) -> None:
        try:
            await consume(runner, received[session_id], session_id)
        except RunnerClosedError as exc:
            outcomes[session_id] = exc
        else:
            outcomes[session_id] = None

    async with trio.open_nursery() as nursery:
        for sid in ids:
            nursery.start_soon(consumer, sid)
        await trio.testing.wait_all_tasks_blocked()
        assert {sid: ["e0"] for sid in ids} == {s: texts(e) for s, e in received.items()}
        started = trio.current_time()
        await runner.close()
        assert 3 == trio.current_time() - started
        assert sorted(ids) == sorted(probe.cleaned)
        assert [] == list(ACTIVE_RUNS)
    assert {sid: RunnerClosedError for sid in ids} == \
        {sid: type(exc) for sid, exc in outcomes.items()}
    for sid in ids:
        assert received[sid] == (await stored_events(runner, sid))[1:]


async def test_run_after_close_fails_and_close_is_idempotent() -> None:
    """After close a new run raises RunnerClosedError on first iteration; a second close
    returns at once; plugins and toolsets of the agent tree were closed exactly once."""
    plugin = RunLog()
    toolset = CountingToolset()
    helper = Agent(name="helper", model=ScriptedModel(replies=[]), tools=[toolset])
    runner = await make_runner(Worker(name="worker", count=1, sub_agents=[helper]),
                               plugins=[plugin])
    assert ["e0"] == texts(await run_text(runner, "go"))
    await runner.close()
    assert runner.closed
    gen = start(runner)
    async with aclosing(gen):
        with pytest.raises(RunnerClosedError):
            await anext(gen)
    await runner.close()
    assert 1 == plugin.closes
    assert 1 == toolset.closes
    assert 2 == len(await stored_events(runner))


async def test_concurrent_close_calls_all_wait_for_the_first(autojump_clock: Any) -> None:
    """Two concurrent ``close()`` calls both return only once the run's cleanup is done;
    the plugin is closed once."""
    probe = Probe()
    plugin = RunLog()
    runner = await make_runner(Worker(name="worker", probe=probe, count=1, tail=1000.0,
                                      cleanup=3.0), plugins=[plugin])
    returned: list[float] = []
    outcome: list[type[BaseException]] = []

    async def consumer() -> None:
        try:
            await consume(runner, [])
        except RunnerClosedError as exc:
            outcome.append(type(exc))

    async def closer() -> None:
        await runner.close()
        returned.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(closer)
        nursery.start_soon(closer)
    assert [3.0, 3.0] == returned
    assert ["s1"] == probe.cleaned
    assert 1 == plugin.closes
    assert [RunnerClosedError] == outcome


async def test_async_with_runner_closes_on_exit(autojump_clock: Any) -> None:
    """Leaving ``async with runner:`` closes it: the run in flight is cancelled and its
    cleanup awaited, toolsets and plugins are closed, new runs are refused."""
    probe = Probe()
    plugin = RunLog()
    toolset = CountingToolset()
    helper = Agent(name="helper", model=ScriptedModel(replies=[]), tools=[toolset])
    agent = Worker(name="worker", probe=probe, count=1, tail=1000.0, cleanup=2.0,
                   sub_agents=[helper])
    runner = await make_runner(agent, plugins=[plugin])
    outcome: list[type[BaseException]] = []

    async def consumer() -> None:
        try:
            await consume(runner, [])
        except RunnerClosedError as exc:
            outcome.append(type(exc))

    async with trio.open_nursery() as nursery:
        async with runner as entered:
            assert runner is entered
            nursery.start_soon(consumer)
            await trio.testing.wait_all_tasks_blocked()
        assert runner.closed
        assert ["s1"] == probe.cleaned
        assert 2 == trio.current_time()
    assert [RunnerClosedError] == outcome
    assert 1 == toolset.closes
    assert 1 == plugin.closes


# ---- context and scopes -------------------------------------------------------------------

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID")


class ReadsContextVar(BaseAgent):
    """Records the value of REQUEST_ID it sees."""

    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        self.probe.seen.append(("agent", REQUEST_ID.get("<unset>")))
        yield Event(author=self.name, invocation_id=ctx.invocation_id,
                    content=model_text("seen"))


async def read_async(tool_context: ToolContext) -> str:
    """Report the request id (async tool)."""
    return REQUEST_ID.get("<unset>")


def read_sync() -> str:
    """Report the request id (sync tool, runs in a worker thread)."""
    return REQUEST_ID.get("<unset>")


class Relay(BaseAgent):
    """Runs each sub-agent with ``sub.run_async(ctx)`` and re-yields its events."""

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        for sub in self.sub_agents:
            async with aclosing(sub.run_async(ctx)) as events:
                async for event in events:
                    yield event


async def run_with_request_id(runner: Runner) -> list[Event]:
    """One turn run while the caller's REQUEST_ID is ``req-42``."""
    token = REQUEST_ID.set("req-42")
    try:
        return await run_text(runner, "go")
    finally:
        REQUEST_ID.reset(token)


async def test_caller_contextvars_are_visible_in_the_root_agent() -> None:
    """A contextvar set by the caller is seen inside a custom root agent."""
    probe = Probe()
    runner = await make_runner(ReadsContextVar(name="reader", probe=probe))
    await run_with_request_id(runner)
    assert [("agent", "req-42")] == probe.seen


async def test_caller_contextvars_are_visible_in_tools() -> None:
    """A contextvar set by the caller is seen inside async tools and inside sync tools
    (which run in worker threads)."""
    model = ScriptedModel(replies=[function_calls(("read_async", {}), ("read_sync", {})),
                                   "done"])
    runner = await make_runner(Agent(name="llm", model=model,
                                     tools=[read_async, read_sync]))
    events = await run_with_request_id(runner)
    responses = [r for e in events for r in e.get_function_responses()]
    assert {"read_async": {"result": "req-42"}, "read_sync": {"result": "req-42"}} == \
        {r.name: r.response for r in responses}


async def test_caller_contextvars_are_visible_in_sub_agents_run_by_a_custom_agent() -> None:
    """A sub-agent that a custom agent runs with ``sub_agent.run_async(ctx)`` (ADK
    style) still sees the caller's contextvars, in its own body and in its tools."""
    probe = Probe()
    model = ScriptedModel(replies=[function_calls(("read_async", {})), "done"])
    llm = Agent(name="llm", model=model, tools=[read_async])
    runner = await make_runner(Relay(name="relay", sub_agents=[
        ReadsContextVar(name="reader", probe=probe), llm]))
    events = await run_with_request_id(runner)
    assert [("agent", "req-42")] == probe.seen
    responses = [r for e in events for r in e.get_function_responses()]
    assert {"read_async": {"result": "req-42"}} == {r.name: r.response for r in responses}


async def test_consumer_scope_around_part_of_its_body_does_not_touch_the_run(
    autojump_clock: Any,
) -> None:
    """A cancel scope the consumer opens around part of its loop body
    (``move_on_after(1)`` around ``sleep(5)``) fires every time but never affects the
    run: all events arrive, the run completes and after_run runs."""
    probe = Probe()
    plugin = RunLog()
    runner = await make_runner(Worker(name="worker", probe=probe, count=5, gap=0.5),
                               plugins=[plugin])
    got: list[Event] = []
    caught: list[bool] = []
    async with aclosing(start(runner)) as events:
        async for event in events:
            got.append(event)
            with trio.move_on_after(1) as scope:
                await trio.sleep(5)
            caught.append(scope.cancelled_caught)
    assert ["e0", "e1", "e2", "e3", "e4"] == texts(got)
    assert [True] * 5 == caught
    assert [] == probe.cancelled
    assert 1 == plugin.after_runs
    assert got == (await stored_events(runner))[1:]
    # Pull semantics: the agent's 0.5 s gaps start only when the consumer asks for the
    # next event, after its 1 s body: 5 bodies and the 4 gaps between events.
    assert 7 == trio.current_time()


async def test_run_internal_timeouts_never_cancel_the_consumer(autojump_clock: Any) -> None:
    """Timeouts inside the run (a model reply slower than the consumer's own deadline is
    irrelevant here: the agent's own ``move_on_after`` fires while the consumer sleeps)
    never cancel the consumer's code."""

    class Impatient(BaseAgent):
        async def _run_async_impl(  # type: ignore[override]
            self, ctx: InvocationContext
        ) -> AsyncGenerator[Event, None]:
            for i in range(3):
                with trio.move_on_after(0.5):
                    await trio.sleep(10)
                yield Event(author=self.name, invocation_id=ctx.invocation_id,
                            content=model_text(f"e{i}"))

    runner = await make_runner(Impatient(name="impatient"))
    slept: list[float] = []
    got: list[Event] = []
    async with aclosing(start(runner)) as events:
        async for event in events:
            got.append(event)
            before = trio.current_time()
            await trio.sleep(2)
            slept.append(trio.current_time() - before)
    assert ["e0", "e1", "e2"] == texts(got)
    assert [2.0, 2.0, 2.0] == slept


# ---- many runs ----------------------------------------------------------------------------


async def test_hundred_concurrent_runs_complete(autojump_clock: Any) -> None:
    """100 concurrent runs on 100 sessions of one runner all complete, concurrently,
    each with its own reply stored in its own session."""
    model = ScriptedModel(replies=[text("pong", delay=1)], repeat=True)
    runner = await make_runner(Agent(name="bot", model=model))
    ids = [f"s{i}" for i in range(1, 101)]
    await create_sessions(runner, ids[1:])
    results: dict[str, list[str]] = {}

    async def one(session_id: str) -> None:
        got: list[Event] = []
        await consume(runner, got, session_id)
        results[session_id] = texts(got)

    async with trio.open_nursery() as nursery:
        for sid in ids:
            nursery.start_soon(one, sid)
    assert {sid: ["pong"] for sid in ids} == results
    assert 1 == trio.current_time()
    assert 100 == model.calls
    for sid in ("s1", "s50", "s100"):
        assert ["go", "pong"] == texts(await stored_events(runner, sid))
    assert [] == list(ACTIVE_RUNS)


async def test_close_with_hundred_runs_in_flight_cancels_and_waits_for_all(
    autojump_clock: Any,
) -> None:
    """``close()`` with 100 runs in flight cancels every one and returns only after all
    100 cleanups finished; every consumer ends with RunnerClosedError."""
    probe = Probe()
    runner = await make_runner(Worker(name="worker", probe=probe, count=1, tail=1000.0,
                                      cleanup=1.0))
    ids = [f"s{i}" for i in range(1, 101)]
    await create_sessions(runner, ids[1:])
    outcomes: dict[str, type[BaseException] | None] = {}

    async def one(session_id: str) -> None:
        try:
            await consume(runner, [], session_id)
        except RunnerClosedError as exc:
            outcomes[session_id] = type(exc)
        else:
            outcomes[session_id] = None

    async with trio.open_nursery() as nursery:
        for sid in ids:
            nursery.start_soon(one, sid)
        await trio.testing.wait_all_tasks_blocked()
        started = trio.current_time()
        await runner.close()
        assert 1 == trio.current_time() - started
        assert sorted(ids) == sorted(probe.cleaned)
        assert [] == list(ACTIVE_RUNS)
    assert {sid: RunnerClosedError for sid in ids} == outcomes
