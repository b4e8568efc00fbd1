"""SequentialAgent, ParallelAgent and LoopAgent: agents that run other agents."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

from trio_adk._utils._groups import run_all
from trio_adk.agents._base_agent import BaseAgent, _native, _stream, _stream_body
from trio_adk.events._event import Event

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext


def resume_index(agent: BaseAgent, ctx: InvocationContext) -> int:
    """Where a workflow agent starts: its first sub-agent, or, in a run resuming an
    invocation, the sub-agent that was running when the invocation stopped."""
    path = ctx._shared.resume_path
    if agent.name not in path:
        return 0
    at = path.index(agent.name) + 1
    if at >= len(path):
        return 0
    for index, sub in enumerate(agent.sub_agents):
        if sub.name == path[at]:
            return index
    return 0


class _WorkflowAgent(BaseAgent):
    @_native
    async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        """Events of this agent's body (its sub-agents' events)."""
        async for event in _stream_body(self, ctx):
            yield event


class SequentialAgent(_WorkflowAgent):
    """Runs its sub-agents one after another, in order, on the same invocation.

    A sub-agent that ends its own run (``end_invocation``) does not stop the next one.
    In a resumable App, a sub-agent left waiting on a long-running call or a
    confirmation pauses the invocation: later sub-agents start only once it resumed and
    finished, and the resumed run starts at that sub-agent (earlier ones do not run
    again).
    Cancellation stops the sub-agent in flight; later ones do not start.

    Live mode (``Runner.run_live``): the sub-agents take turns on the same
    ``LiveRequestQueue``.  Each LLM sub-agent is offered a ``task_completed`` tool (and an
    instruction saying when to call it); its call closes that sub-agent's connection (1000)
    and the next sub-agent connects.  Unlike ADK, the sub-agents themselves are not
    modified: the tool and the instruction are added to their live requests only.  A
    sub-agent with a tool of its own named ``task_completed`` keeps it and is not offered
    ours, so it cannot hand over.  Once the queue is closed, the remaining sub-agents do
    not start.
    """

    async def _run_impl(self, ctx: InvocationContext) -> None:
        for sub in self.sub_agents[resume_index(self, ctx):]:
            await sub._execute(ctx)
            if ctx._shared.paused:
                return  # a resumable invocation waits for an answer

    @_native
    async def _run_live_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        """Events of this agent's live body (its sub-agents' live events)."""
        async for event in _stream(ctx, self._run_live, self.name):
            yield event

    async def _run_live(self, ctx: InvocationContext) -> None:
        queue = ctx.live_request_queue
        for sub in self.sub_agents:
            if queue is not None and queue.closed:
                return  # the input is over: nobody is left to talk to
            await sub._execute(ctx._replace(_live_task_agent=sub.name), live=True)


class ParallelAgent(_WorkflowAgent):
    """Runs its sub-agents concurrently, each in its own branch (``parallel.child``).

    Each sub-agent runs in a task of one nursery and sees only its own branch's history.
    Events interleave in arrival order; each sub-agent waits until its previous event
    was taken by the consumer (one outstanding event per branch).  If one sub-agent
    raises, the others are cancelled and the error propagates unwrapped.
    """

    async def _run_impl(self, ctx: InvocationContext) -> None:
        if not self.sub_agents:
            return
        jobs = []
        for sub in self.sub_agents:
            branch = f"{ctx.branch}.{self.name}.{sub.name}" if ctx.branch \
                else f"{self.name}.{sub.name}"
            sub_ctx = ctx.model_copy(update={"branch": branch})
            jobs.append((f"trio_adk.parallel:{branch}", functools.partial(sub._execute, sub_ctx)))
        await run_all(jobs)


class LoopAgent(_WorkflowAgent):
    """Runs its sub-agents in order, again and again.

    In a resumable App a waiting sub-agent pauses the loop, and the resumed run goes on
    from that sub-agent (the pass count starts again from zero).

    Stops after ``max_iterations`` full passes (``None`` or 0: no limit), or when a sub-agent
    emits an event with ``actions.escalate`` (that sub-agent finishes first).
    """

    max_iterations: int | None = None

    async def _run_impl(self, ctx: InvocationContext) -> None:
        escalated = False

        async def watch(event: Event) -> None:
            nonlocal escalated
            if event.actions.escalate:
                escalated = True
            await ctx.emit(event)

        watched = ctx._with_emit(watch)
        passes = 0
        start = resume_index(self, ctx)
        while not self.max_iterations or passes < self.max_iterations:
            for sub in self.sub_agents[start:]:
                await sub._execute(watched)
                if escalated or ctx._shared.paused:
                    return
            start = 0
            passes += 1
            if not self.sub_agents:
                return
