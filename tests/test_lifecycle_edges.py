"""Lifecycle edges: close() from inside a run it cancels, close() under asyncio.run(),
and a tree changed after construction checked when a run starts."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
import trio
import trio.testing

from helpers import APP, USER, collect, stored_events, user_text
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk._utils._cancel import CLEANUP_GRACE
from trio_adk.errors import AgentTreeError, RunnerClosedError
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, function_call, text


def closing_agent(tool: Any) -> Agent:
    return Agent(name="bot", model=ScriptedModel(replies=[function_call("shut", {}), "never"]),
                 tools=[tool])


async def test_close_from_a_tool_ends_its_own_run_promptly(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture,
) -> None:
    """A tool awaiting ``runner.close()`` used to wait the whole grace period for the run
    it is part of (which could not end before close() returned).  Now close() cancels
    that run, closes everything else, returns at once, and the run ends with
    ``RunnerClosedError`` at its next checkpoint."""
    holder: dict[str, Runner] = {}
    seen: list[str] = []

    async def shut() -> str:
        """Shut the runner down."""
        await holder["runner"].close()
        seen.append("close returned")
        await trio.lowlevel.checkpoint()
        seen.append("not reached")
        return "done"

    runner = InMemoryRunner(closing_agent(shut), app_name=APP)
    holder["runner"] = runner
    start = trio.current_time()
    with pytest.raises(RunnerClosedError):
        await collect(runner.run_async(user_id=USER, session_id="s1",
                                       new_message="bye"))
    assert trio.current_time() - start < CLEANUP_GRACE  # virtual time: no stall
    assert ["close returned"] == seen
    assert runner.closed
    assert not runner._runs
    assert not [r for r in caplog.records if "did not finish" in r.getMessage()]


def test_close_from_a_sync_tool_thread_does_not_wait_for_its_own_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sync tool (a worker thread) calling plain ``runner.close()``: the close runs in
    a private trio run on its own thread, which must not wait for the run the tool is
    part of (that run waits for the tool)."""
    holder: dict[str, Runner] = {}
    closed_in: list[str] = []

    def shut() -> str:
        """Shut the runner down."""
        holder["runner"].close()
        closed_in.append(threading.current_thread().name)
        return "done"

    runner = InMemoryRunner(closing_agent(shut), app_name=APP)
    holder["runner"] = runner
    caplog.set_level(logging.WARNING, logger="trio_adk")
    with pytest.raises(RunnerClosedError):
        list(runner.run(user_id=USER, session_id="s1", new_message="bye"))
    assert 1 == len(closed_in)
    assert not [r for r in caplog.records if "did not finish" in r.getMessage()]
    assert runner.closed


async def test_close_from_a_callback_closes_the_other_runs_too(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The other runs of the runner are cancelled and awaited as usual."""
    holder: dict[str, Runner] = {}
    ended: list[str] = []

    async def before_model(callback_context: Any, llm_request: Any) -> None:
        if callback_context.session.id == "closer":
            await trio.sleep(1)  # the slow run is in flight by now
            await holder["runner"].close()
        return None

    model = ScriptedModel(replies=[text("never", delay=60) for _ in range(4)])
    runner = InMemoryRunner(Agent(name="bot", model=model,
                                  before_model_callback=before_model), app_name=APP)
    holder["runner"] = runner

    async def one(session_id: str) -> None:
        try:
            await collect(runner.run_async(user_id=USER, session_id=session_id,
                                           new_message="hi"))
        except RunnerClosedError:
            ended.append(session_id)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(one, "slow")
        nursery.start_soon(one, "closer")
    assert ["closer", "slow"] == sorted(ended)
    assert not runner._runs


def test_asyncio_run_of_close_works() -> None:
    """``asyncio.run(runner.close())``, the natural port of ADK sync code, closes the
    runner (it used to raise ``ValueError: a coroutine was expected``)."""
    runner = InMemoryRunner(Agent(name="bot"), app_name=APP)
    asyncio.run(runner.close())  # type: ignore[arg-type]
    assert runner.closed
    again = InMemoryRunner(Agent(name="bot"), app_name=APP)
    trio.run(again.close)
    assert again.closed


def test_sync_close_returns_a_coroutine_that_is_already_finished() -> None:
    runner = InMemoryRunner(Agent(name="bot"), app_name=APP)
    result = runner.close()
    assert runner.closed  # closed before close() returned
    assert asyncio.iscoroutine(result)

    async def await_it() -> None:
        await result

    asyncio.run(await_it())


async def test_a_sub_agent_appended_with_a_duplicate_name_fails_before_anything_is_stored(
) -> None:
    """A tree changed after it was built is checked when a run starts: no session
    event, no model call."""
    model = ScriptedModel(replies=["never"])
    root = Agent(name="root", model=model, sub_agents=[Agent(name="helper", model=model)])
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    runner = Runner(app_name=APP, agent=root, session_service=service)
    root.sub_agents.append(Agent(name="helper", model=model))
    with pytest.raises(AgentTreeError, match="helper"):
        await collect(runner.run_async(user_id=USER, session_id="s1",
                                       new_message=user_text("hi")))
    assert [] == await stored_events(runner)
    assert 0 == model.calls


async def test_a_lambda_tool_appended_later_fails_before_anything_is_stored() -> None:
    model = ScriptedModel(replies=["never"])
    agent = Agent(name="bot", model=model)
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    runner = Runner(app_name=APP, agent=agent, session_service=service)
    agent.tools.append(lambda x: x)
    with pytest.raises(ValueError, match="lambda"):
        await collect(runner.run_async(user_id=USER, session_id="s1",
                                       new_message=user_text("hi")))
    assert [] == await stored_events(runner)
    assert 0 == model.calls


async def test_a_sync_tool_can_poll_is_aborted_to_stop_when_the_consumer_leaves() -> None:
    """A thread cannot be cancelled; a sync tool that polls ``tool_context.is_aborted``
    sees the run stop (here the consumer's deadline, real time: the tool runs in a real
    thread) and returns early; the run's cleanup waited for it."""
    import time

    from trio_adk.tools import ToolContext

    seen: list[bool] = []

    def crunch(tool_context: ToolContext) -> str:
        """Crunch numbers for a long time."""
        seen.append(tool_context.is_aborted)
        for _ in range(500):  # at most 5 s of real time if the flag never turned
            if tool_context.is_aborted:
                seen.append(True)
                return "stopped"
            time.sleep(0.01)
        return "finished"

    agent = Agent(name="bot", model=ScriptedModel(replies=[function_call("crunch"), "x"]),
                  tools=[crunch])
    runner = InMemoryRunner(agent, app_name=APP)
    with trio.move_on_after(0.5):
        await collect(runner.run_async(user_id=USER, session_id="s1", new_message="go"))
    assert [False, True] == seen
    await runner.close()
