"""A trio app whose tools call asyncio-only libraries: the trio-asyncio recipe.

Under trio, tools run on trio.  A tool that must call a library written only for
asyncio (aiohttp, asyncpg, ...) wraps that call in ``trio_asyncio.aio_as_trio``, with
``trio_asyncio.open_loop()`` around the code that runs the agent.  (Under an asyncio
caller, or sync ``run()``, nothing is needed: tools run on asyncio there.)
Needs ``pip install trio-asyncio``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import trio
import trio_asyncio

from trio_adk import Agent, InMemoryRunner
from trio_adk.testing import ScriptedModel, function_call


async def asyncio_only_client(city: str) -> str:
    """Stands for an asyncio-only library call."""
    await asyncio.sleep(0.01)
    return f"{city}: sunny, read on asyncio's {type(asyncio.get_running_loop()).__name__}"


async def weather(city: str) -> dict[str, Any]:
    """The weather in a city."""
    return {"report": await trio_asyncio.aio_as_trio(asyncio_only_client)(city)}


agent = Agent(name="weather_agent", tools=[weather], model=ScriptedModel(
    replies=[function_call("weather", {"city": "Oslo"}), "It is sunny in Oslo."]))


async def main() -> None:
    async with trio_asyncio.open_loop(), InMemoryRunner(agent) as runner:
        async for event in runner.run_async(user_id="u1", session_id="s1",
                                            new_message="Weather in Oslo?"):
            for response in event.get_function_responses():
                print("tool:", response.response["report"])
            if event.is_final_response() and event.content and event.content.parts:
                print("agent:", event.content.parts[0].text)


if __name__ == "__main__":
    trio.run(main)
