"""Regressions found by reviewing the whole engine as its next maintainer."""

from __future__ import annotations

import asyncio
import contextvars
from contextlib import aclosing
from typing import Any

import trio
from google.genai import types

from helpers import APP, USER, user_text
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk.agents import BaseAgent, InvocationContext
from trio_adk.events import Event
from trio_adk.sessions import InMemorySessionService, Session
from trio_adk.testing import FunctionModel, ScriptedModel, function_call


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


class Relay(BaseAgent):
    """The ADK pattern: a custom agent re-yielding its sub-agent's events."""

    async def _run_async_impl(self, ctx: InvocationContext):  # type: ignore[no-untyped-def,override]
        async for event in self.sub_agents[0].run_async(ctx):
            yield event


async def test_sub_agent_behind_a_relay_does_not_run_ahead_of_the_session() -> None:
    """A sub-agent run through ``run_async`` by a custom agent waits until each event was
    relayed and persisted: its next model request already holds the function response."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "3"])
    runner = InMemoryRunner(Relay(name="relay", sub_agents=[Agent(name="inner", model=model,
                                                                  tools=[add])]))
    async with aclosing(runner.run_async(user_id=USER, session_id="s",
                                         new_message=user_text("1+2?"))) as events:
        async for _ in events:
            pass
    kinds = ["call" if p.function_call else "resp" if p.function_response else "text"
             for c in model.requests[1].contents for p in c.parts or ()]
    assert ["text", "call", "resp"] == kinds
    await runner.close()


class _SlowStore(InMemorySessionService):
    """A store whose append awaits (like a database round trip), shielded from cancel."""

    async def append_event(self, session: Session, event: Event) -> Event:
        if event.author != "user":
            with trio.CancelScope(shield=True):
                await trio.sleep(1.0)
        return await super().append_event(session, event)


async def test_consumer_cancelled_while_its_event_is_committed_still_receives_it(
    autojump_clock: Any,
) -> None:
    """With a store whose append awaits, a consumer cancelled during that append is handed
    the event first (receiving is atomic with respect to cancellation), so stored ==
    received."""
    store = _SlowStore()
    await store.create_session(app_name=APP, user_id=USER, session_id="s")
    runner = Runner(app_name=APP, agent=Agent(name="bot", model=ScriptedModel(replies=["hi"])),
                    session_service=store)
    received: list[Event] = []
    with trio.move_on_after(0.5):
        async with aclosing(runner.run_async(user_id=USER, session_id="s",
                                             new_message=user_text("hello"))) as events:
            async for event in events:
                received.append(event)
    session = await store.get_session(app_name=APP, user_id=USER, session_id="s")
    assert session is not None
    assert [e.id for e in received] == [e.id for e in session.events[1:]]
    await runner.close()


def test_asyncio_calls_through_the_guest_keep_the_callers_contextvars() -> None:
    """Coroutines awaited from asyncio through the trio guest (run_batch_async here) see the
    contextvars of the task that awaits them, not of the task that started the guest."""
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("rid", default="unset")
    seen: list[str] = []

    def reply(request: Any) -> str:
        seen.append(request_id.get())
        return "ok"

    async def main() -> None:
        request_id.set("first")
        runner = InMemoryRunner(Agent(name="a", model=FunctionModel(function=reply)))
        async for _ in runner.run_async(user_id=USER, session_id="s0",
                                        new_message=user_text("hi")):
            pass

        async def second() -> None:
            request_id.set("second")
            await runner.run_batch_async([(USER, "s1", "hi")])

        await asyncio.create_task(second())
        await runner.close()

    asyncio.run(main())
    assert ["first", "second"] == seen


def test_sync_run_works_right_after_asyncio_use_of_the_runner() -> None:
    """Sync code called from an asyncio program may call ``run()`` right after the program
    awaited the runner's services (the lingering trio guest does not block it)."""

    def sync_helper(runner: Runner) -> list[str]:
        message = types.Content(role="user", parts=[types.Part(text="hi")])
        return [e.author for e in runner.run(user_id=USER, session_id="s",
                                             new_message=message)]

    async def main() -> list[str]:
        runner = Runner(app_name=APP,
                        agent=Agent(name="bot", model=ScriptedModel(replies=["ok"])),
                        session_service=InMemorySessionService())
        await runner.session_service.create_session(app_name=APP, user_id=USER,
                                                    session_id="s")
        authors = sync_helper(runner)
        await runner.close()
        return authors

    assert ["bot"] == asyncio.run(main())
