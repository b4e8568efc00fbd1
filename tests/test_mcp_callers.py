"""An ADK MCP sample (tests/data/mcp_sample, ported by renaming imports) runs unchanged
against the tiny MCP server over stdio under trio, asyncio and sync callers; each caller's
trio run gets its own session, and every server process is reaped."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import APP, USER, collect, user_text
from mcp_support import assert_reaped
from trio_adk import Runner
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, function_call

DATA = Path(__file__).parent / "data"


@pytest.fixture
def sample() -> Any:
    sys.path.insert(0, str(DATA))
    try:
        module = importlib.import_module("mcp_sample.agent")
        yield importlib.reload(module).root_agent  # a fresh toolset per test
    finally:
        sys.path.remove(str(DATA))


def scripted(agent: Any) -> ScriptedModel:
    model = ScriptedModel(replies=[function_call("add", {"a": 20, "b": 22}),
                                   function_call("pid", {}), "20 + 22 = 42"])
    agent.model = model
    return model


def check(events: list[Any]) -> int:
    """The run's answer, and the pid of the server that served it."""
    responses = [part.function_response.response for event in events if event.content
                 for part in event.content.parts or [] if part.function_response]
    assert 42 == responses[0]["structuredContent"]["result"]
    assert "20 + 22 = 42" == events[-1].content.parts[0].text
    pid: int = responses[1]["structuredContent"]["result"]
    return pid


async def make(agent: Any) -> Runner:
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    return Runner(app_name=APP, agent=agent, session_service=service)


async def test_the_sample_under_trio(sample: Any) -> None:
    model = scripted(sample)
    runner = await make(sample)
    try:
        pid = check(await collect(runner.run_async(user_id=USER, session_id="s1",
                                                   new_message=user_text("20 + 22?"))))
    finally:
        await runner.close()
    model.assert_complete()
    assert_reaped(pid)


def test_the_sample_under_asyncio(sample: Any) -> None:
    model = scripted(sample)

    async def main() -> int:
        runner = await make(sample)
        try:
            return check([event async for event in runner.run_async(
                user_id=USER, session_id="s1", new_message=user_text("20 + 22?"))])
        finally:
            await runner.close()

    pid = asyncio.run(main())
    model.assert_complete()
    assert_reaped(pid)


def test_the_sample_under_a_sync_caller(sample: Any) -> None:
    model = scripted(sample)
    runner = asyncio.run(_make_from_asyncio(sample))
    try:
        events = list(runner.run(user_id=USER, session_id="s1",
                                 new_message=user_text("20 + 22?")))
        pid = check(events)
        # The sync run's private trio run ended, and its session with it:
        assert_reaped(pid)
    finally:
        runner.close()
    model.assert_complete()


async def _make_from_asyncio(agent: Any) -> Runner:
    return await make(agent)
