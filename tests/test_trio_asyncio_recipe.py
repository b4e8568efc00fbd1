"""The documented recipe for a trio app whose tools must call asyncio-only libraries:
trio-asyncio's loop around the runner, ``aio_as_trio`` inside the tool."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import trio_asyncio

from helpers import APP, USER
from trio_adk import Agent, InMemoryRunner
from trio_adk.testing import ScriptedModel, function_call


async def asyncio_only_client(city: str) -> str:
    """Stands for an asyncio-only library (aiohttp, asyncpg, ...)."""
    await asyncio.sleep(0.001)
    loop = asyncio.get_running_loop()
    return f"{city}: sunny (asyncio loop {type(loop).__name__})"


async def weather(city: str) -> dict[str, Any]:
    """The weather in a city."""
    report = await trio_asyncio.aio_as_trio(asyncio_only_client)(city)
    return {"report": report}


async def test_a_trio_app_calls_an_asyncio_library_from_a_tool() -> None:
    agent = Agent(name="bot", model=ScriptedModel(
        replies=[function_call("weather", {"city": "Oslo"}), "ok"]), tools=[weather])
    async with (
        trio_asyncio.open_loop(),
        InMemoryRunner(agent, app_name=APP) as runner,
        aclosing(runner.run_async(user_id=USER, session_id="s1",
                                  new_message="weather?")) as events,
    ):
        responses = [r.response async for e in events for r in e.get_function_responses()]
    assert [{"report": "Oslo: sunny (asyncio loop TrioEventLoop)"}] == responses
