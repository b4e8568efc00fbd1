"""BaseAgent: the tree of agents and the life cycle of one agent run."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
import sniffio
import trio
from google.genai import types
from pydantic import BaseModel, ConfigDict, Field, field_validator

from trio_adk._usercode._host import current_host, is_native, native
from trio_adk._utils._callbacks import call_chain
from trio_adk._utils._cancel import CLEANUP_GRACE, cancelled_from_outside, leaked_cancel
from trio_adk.agents._callback_context import CallbackContext
from trio_adk.agents._tree import agent_name_problem, link_tree
from trio_adk.errors import AgentTreeError
from trio_adk.events._event import Event
from trio_adk.telemetry._spans import agent_span

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext

_log = logging.getLogger("trio_adk")

AgentCallback = Callable[..., Any]
_F = TypeVar("_F", bound=Callable[..., Any])



def _native(fn: _F) -> _F:
    """Mark a built-in ``_run_async_impl`` so the engine uses the push path on trio."""
    return native(fn)


class BaseAgent(BaseModel):
    """The base of every agent.

    Subclass it and implement ``_run_async_impl(ctx)`` as an async generator of events,
    as in ADK.  The engine runs that generator in a task of its own
    (``trio.as_safe_channel``), so a generator that holds a nursery or cancel scope
    across ``yield`` cannot corrupt the run.  Agents are pydantic models, so subclasses
    may declare fields.

    Names must be Python identifiers and not ``user``.  Building an agent checks the
    tree below it and rejects, naming the agents, a sub-agent listed twice, one that
    already belongs to another parent, a cycle, and two agents of the tree with one name
    (a sub-agent named like its parent included).  As in ADK the error reaches the
    caller as pydantic's ``ValidationError`` (a ``ValueError``) around an
    ``AgentTreeError``.  The check comes first: a failed build changes no agent's
    ``parent_agent``.  A tree changed later (``agent.sub_agents.append(...)``) is
    checked again when a run starts (``validate_tree``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    name: str
    description: str = ""
    parent_agent: BaseAgent | None = Field(default=None, exclude=True, repr=False)
    sub_agents: list[BaseAgent] = Field(default_factory=list, repr=False)
    before_agent_callback: AgentCallback | Sequence[AgentCallback] | None = None
    after_agent_callback: AgentCallback | Sequence[AgentCallback] | None = None

    # Agents are compared and hashed by identity: the tree has cycles (parent links).
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    _is_workflow: ClassVar[bool] = False

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        problem = agent_name_problem(value)
        if problem is not None:
            raise AgentTreeError(problem)
        return value

    def model_post_init(self, context: Any, /) -> None:
        link_tree(self)

    def _check_own_config(self) -> None:
        """Check this agent's own settings (not its sub-agents); raise to reject them.

        Called when the agent is built and, when ``_own_config_key()`` changed since, by
        ``validate_tree`` before a run.  Must not change the tree.  Default: nothing.
        """

    def _own_config_key(self) -> object:
        """A value that changes when settings checked by ``_check_own_config`` change
        (compared with ``==``).  Default: ``None``."""
        return None

    # ---- tree helpers -------------------------------------------------------------------

    @property
    def root_agent(self) -> BaseAgent:
        """The root of the tree this agent belongs to."""
        agent = self
        while agent.parent_agent is not None:
            agent = agent.parent_agent
        return agent

    def find_agent(self, name: str) -> BaseAgent | None:
        """This agent or a descendant named ``name`` (depth first), else ``None``."""
        if self.name == name:
            return self
        return self.find_sub_agent(name)

    def find_sub_agent(self, name: str) -> BaseAgent | None:
        """A descendant named ``name`` (depth first), else ``None``."""
        for sub in self.sub_agents:
            found = sub.find_agent(name)
            if found is not None:
                return found
        return None

    def clone(self, update: dict[str, Any] | None = None) -> BaseAgent:
        """A copy of this agent with fresh copies of its sub-agents and no parent."""
        update = dict(update or {})
        if "parent_agent" in update:
            raise ValueError("Cannot update `parent_agent` when cloning: it is set by the tree.")
        unknown = set(update) - set(type(self).model_fields)
        if unknown:
            raise ValueError(f"Cannot update nonexistent fields in {type(self).__name__}: "
                             f"{sorted(unknown)}")
        data = {k: getattr(self, k) for k in type(self).model_fields if k != "parent_agent"}
        if "sub_agents" not in update:
            data["sub_agents"] = [sub.clone() for sub in self.sub_agents]
        data.update(update)
        return type(self)(**data)

    # ---- running ------------------------------------------------------------------------

    def run_async(self, parent_context: InvocationContext) -> AsyncGenerator[Event, None]:
        """Run this agent and yield its events (the ADK entry point for agent authors).

        Iterate from trio, or from asyncio (a custom agent's ``_run_async_impl`` under
        an asyncio caller, or a test): the library is detected when this is called.
        The agent runs in a separate task owned by the invocation; this generator only
        hands its events over, each once the consumer asks for it.  Closing the
        generator early (``break`` inside ``aclosing``) cancels the agent and waits,
        shielded and bounded, for its cleanup.  Use it from inside another agent's
        ``_run_async_impl``.
        """
        return _stream_anywhere(parent_context, lambda ctx: self._execute(ctx), self.name)

    def run_live(self, parent_context: InvocationContext) -> AsyncGenerator[Event, None]:
        """Run this agent in live mode and yield its events (see :meth:`run_async`)."""
        return _stream_anywhere(parent_context, lambda ctx: self._execute(ctx, live=True),
                                self.name)

    @_native
    async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        """Produce this agent's events.  Override in subclasses (async generator)."""
        raise NotImplementedError(
            f"_run_async_impl for {type(self).__name__} is not implemented."
        )
        yield  # type: ignore[unreachable]  # pragma: no cover

    @_native
    async def _run_live_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        """Produce this agent's events in live mode.  Override in subclasses."""
        raise NotImplementedError(
            f"_run_live_impl for {type(self).__name__} is not implemented."
        )
        yield  # type: ignore[unreachable]  # pragma: no cover

    async def _run_impl(self, ctx: InvocationContext) -> None:
        """Push-style body used by built-in agents: emit events with ``ctx.emit``."""
        await _drive_generator(self._run_async_impl(ctx), ctx)

    async def _run_live(self, ctx: InvocationContext) -> None:
        """Push-style live body used by built-in agents (see :meth:`_run_impl`)."""
        await _drive_generator(self._run_live_impl(ctx), ctx)

    async def _execute(self, parent_context: InvocationContext, *, live: bool = False) -> None:
        """Run this agent: before-agent callbacks, the body, after-agent callbacks.

        Every event goes through ``ctx.emit``; returns when the agent is done.
        """
        ctx = parent_context._for_agent(self)
        with agent_span(self, ctx):
            if await self._before_agent(ctx):
                return
            if ctx.end_invocation:
                return
            if live:
                if is_native(type(self)._run_live_impl):
                    await self._run_live(ctx)
                else:  # user code: on the caller's library
                    await _drive_user_generator(self._run_live_impl(ctx), ctx)
            elif is_native(type(self)._run_async_impl):
                await self._run_impl(ctx)
            else:
                await _drive_user_generator(self._run_async_impl(ctx), ctx)
            if _ended(ctx):
                return
            await self._after_agent(ctx)

    async def _before_agent(self, ctx: InvocationContext) -> bool:
        """Run before-agent callbacks; True when they ended this agent's run."""
        plugins = ctx.plugin_manager
        if not plugins.plugins and not self.before_agent_callback:
            return False
        callback_context = CallbackContext(ctx)
        content: types.Content | None = await plugins.run_before_agent_callback(
            agent=self, callback_context=callback_context
        )
        if content is None and self.before_agent_callback:
            content = await call_chain(
                self.before_agent_callback, callback_context=callback_context
            )
        if content:
            event = Event(invocation_id=ctx.invocation_id, author=self.name,
                          branch=ctx.branch, content=content, actions=callback_context.actions)
            self._note_early_reply(event)
            await ctx.emit(event)
            ctx.end_invocation = True
            return True
        if callback_context.state.has_delta():
            await ctx.emit(Event(invocation_id=ctx.invocation_id, author=self.name,
                                 branch=ctx.branch, actions=callback_context.actions))
        return False

    def _note_early_reply(self, event: Event) -> None:
        """Hook: a before-agent callback answered for this agent with ``event`` (not yet
        emitted).  Default: nothing; ``LlmAgent`` saves it under ``output_key``."""

    async def _after_agent(self, ctx: InvocationContext) -> None:
        plugins = ctx.plugin_manager
        if not plugins.plugins and not self.after_agent_callback:
            return
        callback_context = CallbackContext(ctx)
        content: types.Content | None = await plugins.run_after_agent_callback(
            agent=self, callback_context=callback_context
        )
        if content is None and self.after_agent_callback:
            content = await call_chain(
                self.after_agent_callback, callback_context=callback_context
            )
        if content or callback_context.state.has_delta():
            await ctx.emit(Event(invocation_id=ctx.invocation_id, author=self.name,
                                 branch=ctx.branch, content=content or None,
                                 actions=callback_context.actions))


def _ended(ctx: InvocationContext) -> bool:
    # A function, so type checkers do not carry the earlier check across awaits.
    return ctx.end_invocation


async def _drive_user_generator(agen: AsyncGenerator[Event, None],
                                ctx: InvocationContext) -> None:
    """Emit every event of a user-written agent generator, on the caller's library.

    On trio, the generator is isolated in a task (:func:`_drive_generator`).  On an
    asyncio host each of its steps already runs in an asyncio task of its own, so none
    of its code can hold a trio cancel scope across a yield: the run's task iterates it
    directly, which saves the isolating task's hand-overs (two scheduler passes per
    event).  Cancellation: the step in flight is cancelled on the host and the generator
    closed there.
    """
    host = current_host()
    if host is None:
        await _drive_generator(agen, ctx)
        return
    async with aclosing(host.iterate(agen)) as events:
        async for event in events:
            await ctx.emit(event)


async def _drive_generator(agen: AsyncGenerator[Event, None], ctx: InvocationContext) -> None:
    """Emit every event of a user-written generator, the generator isolated in a task."""

    exhausted = False

    @trio.as_safe_channel
    async def isolated() -> AsyncGenerator[tuple[Event, trio.Event], None]:
        nonlocal exhausted
        async with aclosing(agen):
            async for event in agen:
                # Pull semantics: the generator resumes only once the event was handed
                # on and the consumer came back for the next one.
                handed_on = trio.Event()
                yield event, handed_on
                await handed_on.wait()
            exhausted = True

    leaked: BaseException | None = None
    try:
        async with isolated() as events:
            async for event, handed_on in events:
                await ctx.emit(event)
                handed_on.set()
    except trio.Cancelled as exc:
        if cancelled_from_outside():
            raise
        leaked = exc
    if leaked is not None or not exhausted:
        raise leaked_cancel(f"Agent {ctx.agent.name}", leaked)


@attrs.define(eq=False)
class _Child:
    """An agent task started by ``BaseAgent.run_async``: its scope and completion."""

    name: str
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    done: trio.Event = attrs.field(factory=trio.Event)


async def reap_children(shared: Any) -> None:
    """Cancel agent tasks that are still running and wait (shielded, bounded) for them."""
    children: set[_Child] = shared.children
    if not children:
        return
    for child in list(children):
        child.scope.cancel()
    with trio.move_on_after(CLEANUP_GRACE) as cleanup:
        cleanup.shield = True
        for child in list(children):
            await child.done.wait()
    if cleanup.cancelled_caught:
        _log.warning("Agent tasks %s did not finish their cleanup within %.1f s.",
                     sorted(c.name for c in children), CLEANUP_GRACE)


def _stream_anywhere(
    parent_context: InvocationContext,
    body: Callable[[InvocationContext], Awaitable[None]],
    name: str,
) -> AsyncGenerator[Event, None]:
    """:func:`_stream` for a trio consumer, or bridged to an asyncio one."""
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        library = None
    if library == "asyncio":
        from trio_adk._bridges._asyncio_guest import stream_from_trio

        return stream_from_trio(lambda: _stream(parent_context, body, name), name=name)
    return _stream(parent_context, body, name)


def _stream_body(agent: BaseAgent, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
    """Stream the events of ``agent``'s push-style body (no before/after callbacks)."""
    return _stream(ctx, agent._run_impl, agent.name)


async def _stream(
    parent_context: InvocationContext,
    body: Callable[[InvocationContext], Awaitable[None]],
    name: str,
) -> AsyncGenerator[Event, None]:
    """The run-task pattern: ``body`` runs in a task and emits; this only relays.

    The task is registered with the invocation, which cancels and awaits it if it is
    still running when the run ends (for example when the generator was abandoned
    without ``aclose()``).  It inherits the caller's contextvars.  Nothing here holds a
    cancel scope across ``yield``.
    """
    send, receive = trio.open_memory_channel[tuple[Event, trio.Event]](0)
    child = _Child(name=name)
    children: set[_Child] = parent_context._shared.children
    failure: list[BaseException] = []
    consumer_left = False

    async def emit(event: Event) -> None:
        # Return only when the consumer came back for the next event, i.e. after whoever
        # relays this generator handed the event on (and the runner persisted it).
        processed = trio.Event()
        await send.send((event, processed))
        await processed.wait()

    async def drive() -> None:
        try:
            with child.scope, send:
                await body(parent_context._with_emit(emit))
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            if not consumer_left:  # the body's own error, not our closed channel
                failure.append(exc)
        except trio.Cancelled as exc:
            if cancelled_from_outside():
                raise
            failure.append(leaked_cancel(f"Agent {name}", exc))
        except BaseException as exc:
            failure.append(exc)
        finally:
            children.discard(child)
            child.done.set()

    children.add(child)
    trio.lowlevel.spawn_system_task(drive, name=f"trio_adk.agent:{name}",
                                    context=contextvars.copy_context())
    finished = False
    try:
        with receive:
            async for event, processed in receive:
                yield event
                processed.set()
        finished = True
    finally:
        if not finished:
            consumer_left = True
            child.scope.cancel()
        with trio.move_on_after(CLEANUP_GRACE) as cleanup:
            cleanup.shield = True
            await child.done.wait()
        if cleanup.cancelled_caught:
            _log.warning("Agent %s did not finish its cleanup within %.1f s.",
                         name, CLEANUP_GRACE)
    if failure:
        raise failure[0]
