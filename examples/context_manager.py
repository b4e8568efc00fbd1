"""The context-manager pattern: the runner closes itself when the block ends.

``async with runner:`` (trio or asyncio) and ``with runner:`` (sync code) close the
runner on exit: runs still in flight are cancelled and their cleanup awaited, then
toolsets, plugins and the session service are closed.  A closed runner refuses new
runs with ``RunnerClosedError``.  Runs offline with a ScriptedModel.
"""

from __future__ import annotations

import trio
from google.genai import types

from trio_adk import Agent, InMemoryRunner
from trio_adk.errors import RunnerClosedError
from trio_adk.events import Event
from trio_adk.plugins import BasePlugin
from trio_adk.testing import ScriptedModel


class AnnounceClose(BasePlugin):
    """A plugin that says when the runner closes it."""

    async def close(self) -> None:
        print(f"plugin {self.name!r} closed")


def make_runner(label: str) -> InMemoryRunner:
    agent = Agent(name="echo_agent", model=ScriptedModel(replies=[f"Hi from the {label} block."]))
    return InMemoryRunner(agent, app_name="context_example",
                          plugins=[AnnounceClose(name=label)])


MESSAGE = types.Content(role="user", parts=[types.Part(text="Hello?")])


def final_text(event: Event) -> str | None:
    """The text of a final response, else None."""
    if event.is_final_response() and event.content and event.content.parts:
        return event.content.parts[0].text
    return None


async def async_block() -> None:
    runner = make_runner("async")
    async with runner:
        async for event in runner.run_async(user_id="u1", session_id="s1",
                                            new_message=MESSAGE):
            if (answer := final_text(event)) is not None:
                print(f"[{event.author}] {answer}")
    print(f"after `async with`: closed={runner.closed}")
    try:
        async for _event in runner.run_async(user_id="u1", session_id="s1",
                                             new_message=MESSAGE):
            pass
    except RunnerClosedError:
        print("a new run on the closed runner raised RunnerClosedError")


def sync_block() -> None:
    runner = make_runner("sync")
    with runner:
        for event in runner.run(user_id="u1", session_id="s1", new_message=MESSAGE):
            if (answer := final_text(event)) is not None:
                print(f"[{event.author}] {answer}")
    print(f"after `with`: closed={runner.closed}")


if __name__ == "__main__":
    trio.run(async_block)
    sync_block()
