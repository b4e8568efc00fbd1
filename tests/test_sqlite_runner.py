"""Runners on SqliteSessionService: history survives a restart, and runs on one session
never interleave, from two runners in one process or in two processes."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from helpers import APP, USER, collect, texts, user_text
from trio_adk import Agent, Runner
from trio_adk.events import Event
from trio_adk.models import Gemini
from trio_adk.sessions import SqliteSessionService
from trio_adk.testing import FakeGeminiServer

MODEL = "gemini-2.5-flash"


async def slow_add(a: int, b: int) -> int:
    """Add two numbers, slowly."""
    await trio.sleep(0.01)  # keeps the run in flight while others try to start
    return a + b


def _agent(base_url: str) -> Agent:
    return Agent(name="calc", model=Gemini(model=MODEL, base_url=base_url, api_key="k"),
                 instruction="Add numbers.", tools=[slow_add])


async def _turn(runner: Runner, text: str, session_id: str = "s") -> list[Event]:
    return await collect(runner.run_async(user_id=USER, session_id=session_id,
                                          new_message=user_text(text)))


class LineReader:
    """Lines from a trio receive stream."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = b""

    async def next(self) -> str:
        while b"\n" not in self._buffer:
            chunk = await self._stream.receive_some()
            if not chunk:
                return self._buffer.decode().strip()
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode().strip()


def _runs_are_contiguous(events: list[Event]) -> list[str]:
    """The invocation ids in stored order, each once; fails if two runs interleave."""
    order: list[str] = []
    for item in events:
        if not order or order[-1] != item.invocation_id:
            assert item.invocation_id not in order, "two runs interleaved"
            order.append(item.invocation_id)
    return order


async def test_history_survives_closing_and_reopening(tmp_path: Path) -> None:
    """A conversation (a tool call included) stored through one runner and service is
    there for a new service and runner over the same file, and the model sees it."""
    path = tmp_path / "sessions.db"
    async with FakeGeminiServer() as server:
        service = SqliteSessionService(path)
        try:
            await service.create_session(app_name=APP, user_id=USER, session_id="s")
            async with Runner(app_name=APP, agent=_agent(server.base_url),
                              session_service=service) as runner:
                first = await _turn(runner, "please slow_add a=2 b=3")
        finally:
            await service.close()
        assert "The slow_add tool returned 5." in texts(first)

        service = SqliteSessionService(f"sqlite:///{path}")
        try:
            stored = await service.get_session(app_name=APP, user_id=USER, session_id="s")
            assert stored is not None
            assert [e.id for e in first] == [e.id for e in stored.events[1:]]
            async with Runner(app_name=APP, agent=_agent(server.base_url),
                              session_service=service) as runner:
                second = await _turn(runner, "hello again")
        finally:
            await service.close()
    assert ["You said: hello again"] == texts(second)
    history = server.requests[-1].body["contents"]
    assert "please slow_add a=2 b=3" == history[0]["parts"][0]["text"]
    assert 5 == len(history)  # user, call, response, answer, then this turn's user


async def test_two_runners_in_one_process_take_turns(tmp_path: Path) -> None:
    """Two runners, each with its own service over one file, run turns on one session
    at once: every run sees the one before it, none is stale, none interleaves."""
    path = tmp_path / "sessions.db"
    services = [SqliteSessionService(path), SqliteSessionService(path)]
    try:
        await services[0].create_session(app_name=APP, user_id=USER, session_id="s")
        async with FakeGeminiServer() as server:
            runners = [Runner(app_name=APP, agent=_agent(server.base_url),
                              session_service=s) for s in services]
            try:
                async with trio.open_nursery() as nursery:
                    for index in range(6):
                        nursery.start_soon(_turn, runners[index % 2],
                                           f"slow_add a={index} b=1")
            finally:
                for runner in runners:
                    await runner.close()
        stored = await services[1].get_session(app_name=APP, user_id=USER, session_id="s")
        assert stored is not None
        assert 6 == len(_runs_are_contiguous(stored.events))
        assert 24 == len(stored.events)
    finally:
        for service in services:
            await service.close()


TURNS = 5

# A second process running TURNS turns on the session of the file in argv[1], against the
# fake server at argv[2]; prints "ready" before its first turn, "done" after its last.
CHILD = f"TURNS = {TURNS}\n" + r"""
import sys
import trio
from google.genai import types
from trio_adk import Agent, Runner
from trio_adk.models import Gemini
from trio_adk.sessions import SqliteSessionService

async def slow_add(a: int, b: int) -> int:
    '''Add two numbers, slowly.'''
    await trio.sleep(0.01)
    return a + b

async def main():
    service = SqliteSessionService(sys.argv[1])
    agent = Agent(name="calc", model=Gemini(model="gemini-2.5-flash", base_url=sys.argv[2],
                                            api_key="k"),
                  instruction="Add numbers.", tools=[slow_add])
    async with Runner(app_name="test_app", agent=agent, session_service=service) as runner:
        print("ready", flush=True)
        for index in range(TURNS):
            message = types.Content(role="user", parts=[types.Part(
                text=f"slow_add a={index} b=100")])
            async for _ in runner.run_async(user_id="user1", session_id="s",
                                            new_message=message):
                pass
    await service.close()
    print("done", flush=True)

trio.run(main)
"""


@pytest.mark.slow
async def test_runners_in_two_processes_take_turns(tmp_path: Path) -> None:
    """A runner in another process and one here run turns on one session at once: the
    session's runs never interleave and none is lost (the claim is an OS file lock)."""
    path = tmp_path / "sessions.db"
    service = SqliteSessionService(path)
    try:
        await service.create_session(app_name=APP, user_id=USER, session_id="s")
        async with FakeGeminiServer() as server:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
            async with Runner(app_name=APP, agent=_agent(server.base_url),
                              session_service=service) as runner:
                process = await trio.lowlevel.open_process(
                    [sys.executable, "-c", CHILD, str(path), server.base_url], env=env,
                    stdout=subprocess.PIPE)
                try:
                    assert process.stdout is not None
                    lines = LineReader(process.stdout)
                    assert "ready" == await lines.next()  # its runner is up: start ours
                    for index in range(TURNS):
                        await _turn(runner, f"slow_add a={index} b=1")
                    assert "done" == await lines.next()
                    assert 0 == await process.wait()
                finally:
                    with trio.CancelScope(shield=True):
                        if process.returncode is None:
                            process.kill()
                        await process.wait()
                        await process.stdout.aclose()  # type: ignore[union-attr]
        stored = await service.get_session(app_name=APP, user_id=USER, session_id="s")
        assert stored is not None
        assert 2 * TURNS == len(_runs_are_contiguous(stored.events))
        answers = [t for t in texts(stored.events) if t.startswith("The slow_add")]
        assert sorted(f"The slow_add tool returned {i + d}." for i in range(TURNS)
                      for d in (1, 100)) == sorted(answers)
    finally:
        await service.close()
