"""Public coroutines awaited directly from asyncio, not through a runner, as ADK's own
unit tests (pytest-asyncio) use them: an agent's ``run_async`` iterated with a hand-made
InvocationContext, ``FunctionTool.run_async``, plugin manager hooks, services."""

from __future__ import annotations

import asyncio
import threading
from contextlib import aclosing
from typing import Any

import sniffio

from helpers import APP, USER, texts
from trio_adk import Agent
from trio_adk.agents import InvocationContext, SequentialAgent
from trio_adk.plugins import BasePlugin, PluginManager
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel
from trio_adk.tools import FunctionTool, ToolContext


async def _context(agent: Any) -> InvocationContext:
    service = InMemorySessionService()
    session = await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    return InvocationContext(session_service=service, agent=agent, session=session)


def two_steps() -> SequentialAgent:
    return SequentialAgent(name="steps", sub_agents=[
        Agent(name="first", model=ScriptedModel(replies=["one"])),
        Agent(name="second", model=ScriptedModel(replies=["two"]))])


def test_an_agent_iterated_from_asyncio_with_a_hand_made_context() -> None:
    root = two_steps()

    async def main() -> list[str]:
        ctx = await _context(root)
        async with aclosing(root.run_async(ctx)) as events:
            return texts([event async for event in events])

    assert ["one", "two"] == asyncio.run(main())


def test_leaving_an_agent_iterated_from_asyncio_early_cancels_it() -> None:
    agent = two_steps()

    async def main() -> list[str]:
        ctx = await _context(agent)
        got: list[Any] = []
        async with aclosing(agent.run_async(ctx)) as events:
            async for event in events:
                got.append(event)
                break
        return texts(got)

    assert ["one"] == asyncio.run(main())


def test_function_tool_run_async_awaited_from_asyncio() -> None:
    def add(a: int, b: int) -> int:
        """Add (a sync function: runs in a worker thread)."""
        return a + b

    async def where() -> str:
        """Report the library (an async function: runs on the caller's loop)."""
        await asyncio.sleep(0)
        return sniffio.current_async_library()

    async def main() -> tuple[Any, Any]:
        ctx = await _context(Agent(name="bot"))
        tool_context = ToolContext(ctx)
        total = await FunctionTool(add).run_async(args={"a": 2, "b": 3},
                                                  tool_context=tool_context)
        library = await FunctionTool(where).run_async(args={}, tool_context=tool_context)
        return total, library

    assert (5, "asyncio") == asyncio.run(main())


def test_plugin_manager_hooks_and_close_awaited_from_asyncio() -> None:
    calls: list[str] = []

    class Watch(BasePlugin):
        async def before_run_callback(self, *, invocation_context: Any) -> None:
            await asyncio.sleep(0)
            calls.append(sniffio.current_async_library())

        async def close(self) -> None:
            calls.append("closed")

    async def main() -> None:
        manager = PluginManager([Watch(name="watch")])
        ctx = await _context(Agent(name="bot"))
        assert await manager.run_before_run_callback(invocation_context=ctx) is None
        await manager.close()

    asyncio.run(main())
    assert ["asyncio", "closed"] == calls


def test_services_awaited_from_asyncio_in_a_thread_of_its_own() -> None:
    out: list[Any] = []

    async def main() -> None:
        service = InMemorySessionService()
        await service.create_session(app_name=APP, user_id=USER, session_id="s1")
        session = await service.get_session(app_name=APP, user_id=USER, session_id="s1")
        out.append(session.id if session else None)

    thread = threading.Thread(target=lambda: asyncio.run(main()))
    thread.start()
    thread.join(10)
    assert ["s1"] == out
