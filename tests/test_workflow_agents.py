"""Workflow agents (Sequential, Parallel, Loop), custom agents and the agent tree."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest
import trio
import trio.testing
from google.genai import types
from pydantic import Field

from helpers import USER, collect, make_runner, run_text, stored_events, texts, user_text
from trio_adk import Agent, Runner
from trio_adk.agents import (
    BaseAgent,
    InvocationContext,
    LoopAgent,
    ParallelAgent,
    SequentialAgent,
)
from trio_adk.events import Event, EventActions
from trio_adk.models import LlmRequest
from trio_adk.testing import ScriptedModel, error, function_call, text
from trio_adk.tools import ToolContext

# ---- helpers ------------------------------------------------------------------------------


class Probe:
    """Mutable record shared between a test and the agents it builds."""

    def __init__(self) -> None:
        self.produced = 0
        self.cleaned = False
        self.ticker_cancelled = False
        self.calls: list[str] = []
        self.runs = 0


def model_text(value: str) -> types.Content:
    """Agent-side content with one text part."""
    return types.Content(role="model", parts=[types.Part(text=value)])


def make_event(agent: BaseAgent, ctx: InvocationContext, value: str | None = None,
               **kwargs: Any) -> Event:
    """An event authored by ``agent`` in the current invocation and branch."""
    content = model_text(value) if value is not None else None
    return Event(author=agent.name, invocation_id=ctx.invocation_id, branch=ctx.branch,
                 content=content, **kwargs)


def describe(event: Event) -> tuple[str, str]:
    """(author, what the event says): text, ``call:<name>`` or ``resp:<name>``."""
    calls = event.get_function_calls()
    if calls:
        return event.author, "call:" + ",".join(c.name or "" for c in calls)
    responses = event.get_function_responses()
    if responses:
        return event.author, "resp:" + ",".join(r.name or "" for r in responses)
    joined = ""
    if event.content and event.content.parts:
        joined = "".join(p.text or "" for p in event.content.parts)
    return event.author, joined


def request_texts(request: LlmRequest) -> list[str]:
    """Every text part of a model request's history, in order."""
    return [p.text for c in request.contents for p in (c.parts or []) if p.text]


class Say(BaseAgent):
    """Yields one text event per entry of ``lines``."""

    lines: list[str] = []
    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        self.probe.runs += 1
        for line in self.lines:
            yield make_event(self, ctx, line)


class Counting(BaseAgent):
    """Yields ``count`` events, counting each one in ``probe.produced`` before yielding."""

    count: int = 10
    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        for i in range(self.count):
            self.probe.produced += 1
            yield make_event(self, ctx, f"{self.name}{i}")


class Boom(BaseAgent):
    """Yields one event, works for ``delay`` seconds, then raises ValueError."""

    delay: float = 1.0

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        yield make_event(self, ctx, "boom-1")
        await trio.sleep(self.delay)
        raise ValueError("boom")


class Waiter(BaseAgent):
    """Yields one event, then waits a long time; records its cleanup in ``probe``."""

    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        try:
            yield make_event(self, ctx, f"{self.name}-1")
            await trio.sleep(100)
            yield make_event(self, ctx, f"{self.name}-never")
        finally:
            self.probe.cleaned = True


class Escalator(BaseAgent):
    """On its ``escalate_on``-th run yields an escalating event and one more event;
    otherwise yields one plain event."""

    escalate_on: int = 2
    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        self.probe.runs += 1
        if self.probe.runs == self.escalate_on:
            yield make_event(self, ctx, "escalate", actions=EventActions(escalate=True))
            yield make_event(self, ctx, "after-escalate")
        else:
            yield make_event(self, ctx, f"pass-{self.probe.runs}")


async def consume_all(runner: Runner, message: str, got: list[Event]) -> None:
    """Run one turn, appending each event to ``got`` as it arrives."""
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text(message))
    async with aclosing(gen) as events:
        async for event in events:
            got.append(event)


# ---- SequentialAgent ----------------------------------------------------------------------


async def test_sequential_runs_sub_agents_in_order() -> None:
    """Sub-agents run one after another; their events arrive and are stored in order."""
    seq = SequentialAgent(name="seq", sub_agents=[
        Say(name="a", lines=["a1", "a2"]),
        Say(name="b", lines=["b1"]),
        Agent(name="c", model=ScriptedModel(replies=["c1"])),
    ])
    runner = await make_runner(seq)
    events = await run_text(runner, "go")
    assert [("a", "a1"), ("a", "a2"), ("b", "b1"), ("c", "c1")] == [describe(e) for e in events]
    stored = await stored_events(runner)
    assert events == stored[1:]
    assert [None] * 4 == [e.branch for e in events]


async def test_sequential_without_sub_agents_yields_nothing() -> None:
    """An empty SequentialAgent produces no events; only the user event is stored."""
    runner = await make_runner(SequentialAgent(name="seq"))
    events = await run_text(runner, "go")
    assert [] == events
    assert ["user"] == [e.author for e in await stored_events(runner)]


async def test_sequential_before_agent_content_ends_only_that_sub_agent() -> None:
    """A before_agent_callback returning content replaces that sub-agent's run (its body
    and after-callback are skipped); the next sibling still runs."""
    probe = Probe()

    def before(callback_context: Any) -> types.Content:
        return model_text("skipped")

    def after(callback_context: Any) -> None:
        probe.calls.append("after_a")

    a = Say(name="a", lines=["never"], probe=probe, before_agent_callback=before,
            after_agent_callback=after)
    b = Say(name="b", lines=["b1"])
    runner = await make_runner(SequentialAgent(name="seq", sub_agents=[a, b]))
    events = await run_text(runner, "go")
    assert [("a", "skipped"), ("b", "b1")] == [describe(e) for e in events]
    assert 0 == probe.runs
    assert [] == probe.calls


async def finish(tool_context: ToolContext) -> str:
    """End the current agent's run."""
    tool_context._invocation_context.end_invocation = True
    return "finished"


async def test_sequential_end_invocation_from_a_tool_ends_only_that_agent() -> None:
    """A tool setting end_invocation stops its own agent's LLM loop (no further model
    call, no after-agent callback); the next sibling still runs."""
    calls: list[str] = []
    a_model = ScriptedModel(replies=[function_call("finish"), "unreachable"])
    a = Agent(name="a", model=a_model, tools=[finish],
              after_agent_callback=lambda callback_context: calls.append("after_a"))
    b_model = ScriptedModel(replies=["b1"])
    b = Agent(name="b", model=b_model)
    runner = await make_runner(SequentialAgent(name="seq", sub_agents=[a, b]))
    events = await run_text(runner, "go")
    assert [("a", "call:finish"), ("a", "resp:finish"), ("b", "b1")] == \
        [describe(e) for e in events]
    assert 1 == a_model.calls
    assert 1 == b_model.calls
    assert [] == calls


# ---- ParallelAgent ------------------------------------------------------------------------


async def test_parallel_sub_agents_run_in_their_own_branches() -> None:
    """Each sub-agent's events carry the branch ``<parallel>.<sub>``, also when stored."""
    par = ParallelAgent(name="par", sub_agents=[Say(name="a", lines=["a1"]),
                                                Say(name="b", lines=["b1"])])
    runner = await make_runner(par)
    events = await run_text(runner, "go")
    assert {"a": "par.a", "b": "par.b"} == {e.author: e.branch for e in events}
    stored = await stored_events(runner)
    assert {"a": "par.a", "b": "par.b"} == {e.author: e.branch for e in stored[1:]}


async def test_nested_parallel_branches_extend_the_enclosing_branch() -> None:
    """A branch created inside a branch is ``<enclosing branch>.<parallel>.<sub>``
    (adk-semantics 11.6 and ADK's ``_create_branch_ctx_for_sub_agent``), so a parallel
    agent ``par`` run as branch ``outer.par`` gives its child ``a`` the branch
    ``outer.par.par.a``; a SequentialAgent adds no branch segment."""
    inner = ParallelAgent(name="par", sub_agents=[Say(name="a", lines=["a1"]),
                                                  Say(name="b", lines=["b1"])])
    seq = SequentialAgent(name="seq", sub_agents=[
        ParallelAgent(name="par2", sub_agents=[Say(name="d", lines=["d1"])])])
    outer = ParallelAgent(name="outer", sub_agents=[inner, Say(name="c", lines=["c1"]), seq])
    runner = await make_runner(outer)
    events = await run_text(runner, "go")
    assert {
        "a": "outer.par.par.a",
        "b": "outer.par.par.b",
        "c": "outer.c",
        "d": "outer.seq.par2.d",
    } == {e.author: e.branch for e in events}


async def test_parallel_inside_sequential_root_uses_plain_branches() -> None:
    """Under a SequentialAgent root (no branch), parallel children get ``par.<sub>``."""
    par = ParallelAgent(name="par", sub_agents=[Say(name="a", lines=["a1"]),
                                                Say(name="b", lines=["b1"])])
    runner = await make_runner(SequentialAgent(name="seq", sub_agents=[par]))
    events = await run_text(runner, "go")
    assert {"a": "par.a", "b": "par.b"} == {e.author: e.branch for e in events}


async def noop() -> str:
    """Do nothing."""
    return "ok"


async def test_parallel_siblings_never_see_each_others_history(autojump_clock: Any) -> None:
    """Model requests of one parallel branch contain the user's messages and the
    branch's own turns, never the sibling branch's events (same turn or later turns)."""
    a_model = ScriptedModel(replies=["alpha-1", "alpha-2"])
    # b answers after a tool round trip, so a's reply is already stored by then.
    b_model = ScriptedModel(replies=[function_call("noop", delay=1), "beta-1", "beta-2"])
    par = ParallelAgent(name="par", sub_agents=[
        Agent(name="a", model=a_model),
        Agent(name="b", model=b_model, tools=[noop]),
    ])
    runner = await make_runner(par)
    first = await run_text(runner, "go")
    assert {("a", "alpha-1"), ("b", "call:noop"), ("b", "resp:noop"), ("b", "beta-1")} == \
        {describe(e) for e in first}
    second = await run_text(runner, "again")
    assert {("a", "alpha-2"), ("b", "beta-2")} == {describe(e) for e in second}

    assert [["go"], ["go", "alpha-1", "again"]] == [request_texts(r) for r in a_model.requests]
    assert [["go"], ["go"], ["go", "beta-1", "again"]] == \
        [request_texts(r) for r in b_model.requests]
    # b's second request (after a's reply was stored) has its own call and response only.
    assert 3 == len(b_model.requests[1].contents)


async def test_parallel_holds_each_branch_to_one_outstanding_event(
    autojump_clock: Any,
) -> None:
    """With a slow consumer, no branch has produced more than one event beyond what the
    consumer has taken, and the session never holds an event the consumer has not
    received; the branches' events interleave."""
    a = Counting(name="a", count=10)
    b = Counting(name="b", count=10)
    runner = await make_runner(ParallelAgent(name="par", sub_agents=[a, b]))
    got: list[Event] = []
    taken: Counter[str] = Counter()
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("go"))
    async with aclosing(gen) as events:
        async for event in events:
            got.append(event)
            taken[event.author] += 1
            await trio.sleep(1)
            await trio.testing.wait_all_tasks_blocked()
            for agent in (a, b):
                assert agent.probe.produced - taken[agent.name] <= 1, (
                    agent.name, agent.probe.produced, taken[agent.name])
            assert got == (await stored_events(runner))[1:]
    assert {"a": 10, "b": 10} == dict(taken)
    assert {"a", "b"} == {e.author for e in got[:4]}


async def test_parallel_error_cancels_siblings_and_reaches_consumer_unwrapped(
    autojump_clock: Any,
) -> None:
    """One branch raising cancels the other (its ``finally`` ran) and the consumer gets
    that exact exception, not an ExceptionGroup, after the events already taken."""
    waiter = Waiter(name="w")
    par = ParallelAgent(name="par", sub_agents=[Boom(name="boom", delay=1), waiter])
    runner = await make_runner(par)
    got: list[Event] = []
    with pytest.raises(ValueError, match=r"^boom$") as info:
        await consume_all(runner, "go", got)
    assert ValueError is type(info.value)
    assert waiter.probe.cleaned
    assert 1 == trio.current_time()
    assert {("boom", "boom-1"), ("w", "w-1")} == {describe(e) for e in got}
    assert got == (await stored_events(runner))[1:]


class Recovering(BaseAgent):
    """Runs its sub-agents with ``run_async``; a ValueError from one becomes an event."""

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        for sub in self.sub_agents:
            try:
                async with aclosing(sub.run_async(ctx)) as events:
                    async for event in events:
                        yield event
            except ValueError as exc:
                yield make_event(self, ctx, f"recovered: {exc}")


async def test_parallel_error_is_unwrapped_for_an_enclosing_custom_agent(
    autojump_clock: Any,
) -> None:
    """A custom agent running a ParallelAgent can catch the failing branch's exception
    with a plain ``except ValueError`` (no ExceptionGroup) and carry on."""
    waiter = Waiter(name="w")
    par = ParallelAgent(name="par", sub_agents=[Boom(name="boom", delay=1), waiter])
    runner = await make_runner(Recovering(name="guard", sub_agents=[par]))
    events = await run_text(runner, "go")
    assert {("boom", "boom-1"), ("w", "w-1")} == {describe(e) for e in events[:2]}
    assert ("guard", "recovered: boom") == describe(events[2])
    assert 3 == len(events)
    assert waiter.probe.cleaned


async def test_parallel_model_error_in_one_branch_cancels_the_slow_sibling(
    autojump_clock: Any,
) -> None:
    """An LLM branch whose model fails ends the whole parallel agent at once: the slow
    sibling's model call is cancelled and the consumer sees the plain error."""
    slow_model = ScriptedModel(replies=[text("late", delay=50)])
    par = ParallelAgent(name="par", sub_agents=[
        Agent(name="bad", model=ScriptedModel(replies=[error(RuntimeError("model down"))])),
        Agent(name="slow", model=slow_model),
    ])
    runner = await make_runner(par)
    got: list[Event] = []
    with pytest.raises(RuntimeError, match="model down") as info:
        await consume_all(runner, "go", got)
    assert RuntimeError is type(info.value)
    assert [] == got
    assert 0 == trio.current_time()
    assert 1 == slow_model.calls


async def test_parallel_without_sub_agents_yields_nothing() -> None:
    """An empty ParallelAgent produces no events."""
    runner = await make_runner(ParallelAgent(name="par"))
    assert [] == await run_text(runner, "go")
    assert 1 == len(await stored_events(runner))


# ---- LoopAgent ----------------------------------------------------------------------------


async def test_loop_runs_max_iterations_passes() -> None:
    """max_iterations=3 runs the sub-agents, in order, three times."""
    loop = LoopAgent(name="loop", max_iterations=3,
                     sub_agents=[Say(name="x", lines=["x"]), Say(name="y", lines=["y"])])
    runner = await make_runner(loop)
    events = await run_text(runner, "go")
    assert ["x", "y"] * 3 == [e.author for e in events]


async def stop(tool_context: ToolContext) -> str:
    """Stop the loop."""
    tool_context.actions.escalate = True
    return "stopping"


async def test_loop_without_limit_stops_on_escalation_from_a_tool() -> None:
    """A tool setting ``actions.escalate`` stops the loop once the escalating agent has
    finished its turn (its final model call still happens); later siblings do not run."""
    judge_model = ScriptedModel(replies=["again", function_call("stop"), "stopped"])
    loop = LoopAgent(name="loop", sub_agents=[
        Say(name="work", lines=["working"]),
        Agent(name="judge", model=judge_model, tools=[stop]),
        Say(name="tail", lines=["tail"]),
    ])
    runner = await make_runner(loop)
    events = await run_text(runner, "go")
    assert [
        ("work", "working"), ("judge", "again"), ("tail", "tail"),
        ("work", "working"), ("judge", "call:stop"), ("judge", "resp:stop"),
        ("judge", "stopped"),
    ] == [describe(e) for e in events]
    assert events[5].actions.escalate
    judge_model.assert_complete()


@pytest.mark.parametrize("max_iterations", [None, 5])
async def test_loop_stops_after_the_escalating_agent_finishes(
    max_iterations: int | None,
) -> None:
    """A custom agent yielding ``EventActions(escalate=True)`` still delivers its later
    events; then the loop ends (no next sibling, no next pass), with or without a limit."""
    esc = Escalator(name="esc", escalate_on=2)
    after = Say(name="after", lines=["after"])
    loop = LoopAgent(name="loop", max_iterations=max_iterations,
                     sub_agents=[Say(name="w", lines=["w"]), esc, after])
    runner = await make_runner(loop)
    events = await run_text(runner, "go")
    assert [
        ("w", "w"), ("esc", "pass-1"), ("after", "after"),
        ("w", "w"), ("esc", "escalate"), ("esc", "after-escalate"),
    ] == [describe(e) for e in events]
    assert 1 == after.probe.runs


async def test_loop_without_sub_agents_yields_nothing() -> None:
    """An empty LoopAgent without a limit ends at once instead of spinning."""
    runner = await make_runner(LoopAgent(name="loop"))
    assert [] == await run_text(runner, "go")


# ---- custom agents that drive sub-agents (ADK style) ---------------------------------------


class Wrapper(BaseAgent):
    """Runs each sub-agent with ``sub.run_async(ctx)`` and re-yields its events."""

    use_aclosing: bool = True

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        yield make_event(self, ctx, "wrapper-start")
        for sub in self.sub_agents:
            if self.use_aclosing:
                async with aclosing(sub.run_async(ctx)) as events:
                    async for event in events:
                        yield event
            else:
                async for event in sub.run_async(ctx):
                    yield event
        yield make_event(self, ctx, "wrapper-end")


@pytest.mark.parametrize("use_aclosing", [True, False])
async def test_custom_agent_rerunning_sub_agents_yields_their_events_and_callbacks(
    use_aclosing: bool,
) -> None:
    """A generator agent that re-yields ``sub_agent.run_async(ctx)`` gets the sub-agent's
    events, including those of its before/after callbacks, in order."""
    calls: list[str] = []

    def before(callback_context: Any) -> None:
        calls.append(f"before:{callback_context.agent_name}")

    def after(callback_context: Any) -> types.Content:
        calls.append(f"after:{callback_context.agent_name}")
        return model_text("inner-after")

    inner = Agent(name="inner", model=ScriptedModel(replies=["inner-reply"]),
                  before_agent_callback=before, after_agent_callback=after)
    wrapper = Wrapper(name="wrapper", use_aclosing=use_aclosing,
                      sub_agents=[inner, Say(name="plain", lines=["plain-1"])],
                      before_agent_callback=before)
    runner = await make_runner(wrapper)
    events = await run_text(runner, "go")
    assert [
        ("wrapper", "wrapper-start"), ("inner", "inner-reply"), ("inner", "inner-after"),
        ("plain", "plain-1"), ("wrapper", "wrapper-end"),
    ] == [describe(e) for e in events]
    assert ["before:wrapper", "before:inner", "after:inner"] == calls
    assert events == (await stored_events(runner))[1:]


async def test_custom_agent_rerunning_sub_agent_is_cancelled_as_a_whole(
    autojump_clock: Any,
) -> None:
    """Leaving the consumer loop while a re-yielded sub-agent waits cancels the
    sub-agent too; its cleanup has run when ``aclose()`` returns."""
    waiter = Waiter(name="w")
    runner = await make_runner(Wrapper(name="wrapper", sub_agents=[waiter]))
    got: list[Event] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("go"))
    async with aclosing(gen) as events:
        async for event in events:
            got.append(event)
            if event.author == "w":
                await trio.testing.wait_all_tasks_blocked()
                break
    assert ["wrapper-start", "w-1"] == texts(got)
    assert waiter.probe.cleaned
    assert got == (await stored_events(runner))[1:]


# ---- the agent tree -----------------------------------------------------------------------


async def test_clone_gives_a_fresh_tree() -> None:
    """clone() copies the agent and (recursively) its sub-agents, with parent links to
    the copies; the original tree is untouched, and the clone runs on its own."""
    original = SequentialAgent(name="seq", sub_agents=[
        Say(name="a", lines=["a1"]),
        LoopAgent(name="loop", max_iterations=2, sub_agents=[Say(name="b", lines=["b1"])]),
    ])
    copy = original.clone(update={"name": "seq2"})
    assert "seq2" == copy.name
    assert copy.parent_agent is None
    assert ["a", "loop"] == [s.name for s in copy.sub_agents]
    for new, old in zip(copy.sub_agents, original.sub_agents, strict=True):
        assert new is not old
        assert new.parent_agent is copy
        assert old.parent_agent is original
    copied_loop = copy.sub_agents[1]
    assert isinstance(copied_loop, LoopAgent)
    assert 2 == copied_loop.max_iterations
    assert copied_loop.sub_agents[0] is not original.sub_agents[1].sub_agents[0]
    assert copied_loop.sub_agents[0].parent_agent is copied_loop
    assert "seq" == original.name

    # The clone can join another tree; the original's children cannot.
    SequentialAgent(name="holder", sub_agents=[copy])
    with pytest.raises(ValueError, match="already has a parent agent"):
        SequentialAgent(name="thief", sub_agents=[original.sub_agents[0]])

    runner = await make_runner(copy.sub_agents[1].clone())
    assert ["b1", "b1"] == texts(await run_text(runner, "go"))


def test_clone_rejects_parent_agent_and_unknown_fields() -> None:
    """clone(update=...) refuses ``parent_agent`` and fields the agent does not have."""
    agent = Say(name="a")
    with pytest.raises(ValueError, match="parent_agent"):
        agent.clone(update={"parent_agent": None})
    with pytest.raises(ValueError, match="nope"):
        agent.clone(update={"nope": 1})


def test_tree_lookup_helpers() -> None:
    """find_agent includes the agent itself, find_sub_agent only descendants; both are
    depth first; root_agent walks up to the root."""
    a, b, c = Say(name="a"), Say(name="b"), Say(name="c")
    par = ParallelAgent(name="par", sub_agents=[a, b])
    root = SequentialAgent(name="root", sub_agents=[par, c])
    assert root is root.find_agent("root")
    assert root.find_sub_agent("root") is None
    assert b is root.find_agent("b")
    assert b is root.find_sub_agent("b")
    assert c is root.find_sub_agent("c")
    assert par.find_agent("c") is None
    assert root.find_agent("zzz") is None
    assert root is b.root_agent
    assert root is root.root_agent
    assert par is a.parent_agent


def test_duplicate_names_in_different_subtrees_are_rejected() -> None:
    """Two agents named alike in one tree: rejected (ADK only warns and lets find_agent
    return the first in depth-first order), and neither is linked to the new parent."""
    deep = Say(name="dup")
    shallow = Say(name="dup")
    left = SequentialAgent(name="left", sub_agents=[deep])
    with pytest.raises(ValueError, match=r"`dup` is used 2 times .*root\.left\.dup and root\.dup"):
        SequentialAgent(name="root", sub_agents=[left, shallow])
    assert left.parent_agent is None
    assert shallow.parent_agent is None


# ---- a custom agent holding scopes across ``yield`` (the hazard) --------------------------


class Hazard(BaseAgent):
    """Holds a nursery (with a background ticker) and a cancel scope across ``yield``:
    the thing trio forbids in async generators.  The engine must isolate it."""

    count: int = 3
    deadline: float = 1000.0
    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        async def ticker() -> None:
            try:
                await trio.sleep_forever()
            finally:
                self.probe.ticker_cancelled = True

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ticker)
                with trio.move_on_after(self.deadline):
                    for i in range(self.count):
                        yield make_event(self, ctx, f"h{i}")
                nursery.cancel_scope.cancel()
            yield make_event(self, ctx, "h-end")
        finally:
            self.probe.cleaned = True


async def test_hazard_agent_events_arrive_and_the_consumer_is_not_disturbed(
    autojump_clock: Any,
) -> None:
    """Events of an agent holding a nursery and cancel scope across ``yield`` arrive in
    order; the consumer's own sleeps in its loop body run to completion."""
    agent = Hazard(name="hazard")
    runner = await make_runner(agent)
    got: list[Event] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("go"))
    async with aclosing(gen) as events:
        async for event in events:
            got.append(event)
            before = trio.current_time()
            await trio.sleep(1)
            assert 1 == trio.current_time() - before
    assert ["h0", "h1", "h2", "h-end"] == texts(got)
    assert agent.probe.ticker_cancelled
    assert agent.probe.cleaned


async def test_hazard_agent_own_deadline_does_not_cancel_the_consumer(
    autojump_clock: Any,
) -> None:
    """The agent's cancel scope expiring while it is suspended at ``yield`` (and the
    consumer sleeps in its loop body) never cancels the consumer's code, and the run
    does not end silently as if complete: either the agent gets to finish (``h-end``
    arrives) or the consumer gets an error.  A truncated run that looks finished would
    hide the agent's bug."""
    agent = Hazard(name="hazard", count=3, deadline=0.5)
    runner = await make_runner(agent)
    got: list[Event] = []
    slept: list[float] = []
    outcome: Exception | None = None
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("go"))
    try:
        async with aclosing(gen) as events:
            async for event in events:
                got.append(event)
                before = trio.current_time()
                await trio.sleep(1)
                slept.append(trio.current_time() - before)
    except Exception as exc:
        outcome = exc
    assert [1.0] * len(got) == slept
    assert "h0" == texts(got)[0]
    assert agent.probe.cleaned
    assert agent.probe.ticker_cancelled
    assert got == (await stored_events(runner))[1:]
    assert "h-end" == texts(got)[-1] or outcome is not None, (
        f"run ended silently after {texts(got)}")


async def test_hazard_agent_is_cancelled_cleanly_when_the_consumer_leaves(
    autojump_clock: Any,
) -> None:
    """Breaking out (under aclosing) while the hazard agent is suspended inside its
    nursery and scope cancels it: its background task and ``finally`` ran."""
    agent = Hazard(name="hazard")
    runner = await make_runner(agent)
    got: list[Event] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("go"))
    async with aclosing(gen) as events:
        async for event in events:
            got.append(event)
            break
    assert ["h0"] == texts(got)
    assert agent.probe.ticker_cancelled
    assert agent.probe.cleaned
    assert got == (await stored_events(runner))[1:]


async def test_hazard_agent_is_cancelled_by_a_consumer_deadline(autojump_clock: Any) -> None:
    """A deadline around the consumer loop cancels the hazard agent cleanly too."""
    agent = Hazard(name="hazard", count=100)
    runner = await make_runner(agent)
    got: list[Event] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("go"))
    with trio.move_on_after(2.5) as scope:
        async with aclosing(gen) as events:
            async for event in events:
                got.append(event)
                await trio.sleep(1)
    assert scope.cancelled_caught
    assert ["h0", "h1", "h2"] == texts(got)
    assert agent.probe.cleaned
    assert agent.probe.ticker_cancelled
    assert got == (await stored_events(runner))[1:]
    assert 2.5 == trio.current_time()


async def test_collect_helper_sees_hazard_agent_to_the_end() -> None:
    """Plain collection (no slow consumer) of a hazard agent gets every event."""
    runner = await make_runner(Hazard(name="hazard", count=5))
    events = await collect(runner.run_async(user_id=USER, session_id="s1",
                                            new_message=user_text("go")))
    assert ["h0", "h1", "h2", "h3", "h4", "h-end"] == texts(events)
