"""The sync bridge's hand-over between the calling thread and the worker's trio run.

The worker waits for the caller's next request in one of two ways: blocking its thread
for up to ``_BLOCK`` seconds (while the caller keeps coming back within that), or in
trio, woken through the trio token.  ``_BLOCK`` is set to 0 (always in trio) or to a
minute (always blocking) so each way is covered whatever the machine's speed; with the
real value, a consumer alternating between quick and slow steps switches between them.
Sleeps in the loop bodies only make the consumer slow; nothing is timed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, Generator

import pytest
import trio
from pydantic import Field

from helpers import APP, USER, model_text, stored_events, texts, user_text
from trio_adk import Runner
from trio_adk._bridges import _sync_thread
from trio_adk._run import ACTIVE_RUNS
from trio_adk.agents import BaseAgent, InvocationContext
from trio_adk.errors import RunnerClosedError
from trio_adk.events import Event
from trio_adk.sessions import InMemorySessionService


class Tally:
    """How far the agent got, shared across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.produced = 0
        self.cleaned = False


class Counter(BaseAgent):
    """Yields ``count`` events, counting each before it is yielded; raises
    ``ValueError`` after them when ``fail``; records its cleanup."""

    count: int = 3
    fail: bool = False
    tally: Tally = Field(default_factory=Tally)

    async def _run_async_impl(
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        try:
            for i in range(self.count):
                with self.tally.lock:
                    self.tally.produced += 1
                yield Event(author=self.name, invocation_id=ctx.invocation_id,
                            content=model_text(f"e{i}"))
            if self.fail:
                raise ValueError("after the events")
        finally:
            self.tally.cleaned = True


def runner_for(agent: BaseAgent) -> Runner:
    service = InMemorySessionService()

    async def create() -> None:
        await service.create_session(app_name=APP, user_id=USER, session_id="s1")

    trio.run(create)
    return Runner(app_name=APP, agent=agent, session_service=service)


def run(runner: Runner) -> Generator[Event, None, None]:
    return runner.run(user_id=USER, session_id="s1", new_message=user_text("go"))


def stored(runner: Runner) -> list[str]:
    return texts(trio.run(stored_events, runner, "s1"))


def no_run_thread_left() -> bool:
    return not [t for t in threading.enumerate() if t.name == "trio_adk.run-thread"]


@pytest.fixture(params=["in_trio", "blocking"])
def wait_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the worker waits for requests: always in trio, or always blocking."""
    monkeypatch.setattr(_sync_thread, "_BLOCK", 0.0 if request.param == "in_trio" else 60.0)
    return str(request.param)


def test_each_event_is_pulled_one_at_a_time(wait_mode: str) -> None:
    """While the caller holds event i, the agent has produced exactly i + 1 events (it
    does not run ahead), whether the caller comes back quickly or slowly; all events
    arrive in order and are stored."""
    tally = Tally()
    runner = runner_for(Counter(name="counter", count=6, tally=tally))
    got: list[Event] = []
    produced_when_held: list[int] = []
    for i, event in enumerate(run(runner)):
        got.append(event)
        if i % 2:
            time.sleep(0.002)  # a slow step between quick ones
        with tally.lock:
            produced_when_held.append(tally.produced)
    assert [1, 2, 3, 4, 5, 6] == produced_when_held
    assert ["e0", "e1", "e2", "e3", "e4", "e5"] == texts(got)
    assert ["go", "e0", "e1", "e2", "e3", "e4", "e5"] == stored(runner)
    assert [] == list(ACTIVE_RUNS)
    assert no_run_thread_left()


def test_break_cancels_the_run_in_either_wait(wait_mode: str) -> None:
    """``break`` after two events ends the run (its cleanup ran) whichever way the worker
    was waiting; the agent never produced a third event; nothing is left behind."""
    tally = Tally()
    runner = runner_for(Counter(name="counter", count=100, tally=tally))
    got: list[Event] = []
    for event in run(runner):
        got.append(event)
        if len(got) == 2:
            break
    assert tally.cleaned
    assert 2 == tally.produced
    assert ["go", "e0", "e1"] == stored(runner)
    assert [] == list(ACTIVE_RUNS)
    assert no_run_thread_left()


def test_agent_error_arrives_after_its_events_in_either_wait(wait_mode: str) -> None:
    """The agent's error is raised after the events produced before it."""
    runner = runner_for(Counter(name="counter", count=2, fail=True))
    got: list[Event] = []

    def consume() -> None:
        for event in run(runner):
            got.append(event)

    with pytest.raises(ValueError, match="after the events"):
        consume()
    assert ["e0", "e1"] == texts(got)
    assert no_run_thread_left()


def test_a_consumer_switching_between_quick_and_slow_steps() -> None:
    """With the real ``_BLOCK``, a consumer that is sometimes slower than it makes the
    worker switch between its two ways of waiting: every event still arrives once, in
    order, pulled one at a time."""
    tally = Tally()
    runner = runner_for(Counter(name="counter", count=40, tally=tally))
    got: list[str] = []
    for i, event in enumerate(run(runner)):
        got.extend(texts([event]))
        with tally.lock:
            assert i + 1 == tally.produced
        if i % 7 == 3:
            time.sleep(_sync_thread._BLOCK * 4)
    assert [f"e{i}" for i in range(40)] == got
    assert [] == list(ACTIVE_RUNS)
    assert no_run_thread_left()


def test_close_from_the_loop_body_ends_the_run() -> None:
    """``runner.close()`` called in the loop body (the worker may be blocked waiting for
    the caller's next request) cancels the run; the loop ends with RunnerClosedError."""
    tally = Tally()
    runner = runner_for(Counter(name="counter", count=100, tally=tally))
    got: list[Event] = []

    def consume() -> None:
        for event in run(runner):
            got.append(event)
            if len(got) == 2:
                runner.close()

    with pytest.raises(RunnerClosedError):
        consume()
    assert tally.cleaned
    assert 2 == len(got)
    assert [] == list(ACTIVE_RUNS)
    assert no_run_thread_left()
