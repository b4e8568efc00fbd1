"""A client that goes away cancels its run: the run's cleanup runs before the handler returns,
and the session keeps exactly the events the run handed over before the cut."""

from __future__ import annotations

import json

import attrs
import trio

from test_server_support import running, user_message
from trio_adk import Agent
from trio_adk._run import ACTIVE_RUNS
from trio_adk.testing import ScriptedModel, function_call


@attrs.define
class Blocker:
    """A tool that blocks until cancelled, and says when it started and when it cleaned up."""

    started: trio.Event = attrs.Factory(trio.Event)
    cleaned_up: trio.Event = attrs.Factory(trio.Event)

    async def wait_forever(self) -> dict[str, str]:
        """Wait for something that never comes."""
        self.started.set()
        try:
            await trio.sleep_forever()
        finally:
            self.cleaned_up.set()
        return {}


def slow_agent(blocker: Blocker) -> Agent:
    return Agent(name="slow", model=ScriptedModel(replies=[function_call("wait_forever")]),
                 tools=[blocker.wait_forever])


async def _no_runs_left() -> None:
    while list(ACTIVE_RUNS):
        await trio.sleep(0.01)


async def test_run_sse_client_disconnect_cancels_the_run() -> None:
    """The client reads the function call frame and leaves: the tool is cancelled (its
    cleanup ran), no run is left, and the session holds the user message and the call, not
    the response that never came."""
    blocker = Blocker()
    async with running({"slow": slow_agent(blocker)}) as served:
        async with served.client() as client:
            await client.post("/apps/slow/users/u/sessions", json={"sessionId": "s1"})
            body = {"appName": "slow", "userId": "u", "sessionId": "s1",
                    "newMessage": user_message("go")}
            async with client.stream("POST", "/run_sse", json=body) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        frame = json.loads(line[len("data: "):])
                        assert "wait_forever" == frame["content"]["parts"][0][
                            "functionCall"]["name"]
                        break
                await blocker.started.wait()
        with trio.fail_after(10):
            await blocker.cleaned_up.wait()
            await _no_runs_left()
        session = await served.server.session_service.get_session(
            app_name="slow", user_id="u", session_id="s1")
        assert ["user", "slow"] == [e.author for e in session.events]
        assert session.events[1].get_function_calls()[0].name == "wait_forever"
        assert not any(e.get_function_responses() for e in session.events)


async def test_run_client_disconnect_cancels_the_run() -> None:
    """A /run client that gives up cancels the run the same way (ADK answers 499)."""
    blocker = Blocker()
    async with running({"slow": slow_agent(blocker)}) as served:
        async with served.client() as client:
            await client.post("/apps/slow/users/u/sessions", json={"sessionId": "s1"})
            body = {"appName": "slow", "userId": "u", "sessionId": "s1",
                    "newMessage": user_message("go")}
            async with trio.open_nursery() as nursery:
                async def call() -> None:
                    await client.post("/run", json=body)

                nursery.start_soon(call)
                await blocker.started.wait()
                nursery.cancel_scope.cancel()
        with trio.fail_after(10):
            await blocker.cleaned_up.wait()
            await _no_runs_left()
        session = await served.server.session_service.get_session(
            app_name="slow", user_id="u", session_id="s1")
        assert ["user", "slow"] == [e.author for e in session.events]


async def test_shutdown_cancels_runs_in_flight() -> None:
    """Closing the server while a run is in flight cancels it and awaits its cleanup."""
    blocker = Blocker()
    async with running({"slow": slow_agent(blocker)}) as served, served.client() as client:
        await client.post("/apps/slow/users/u/sessions", json={"sessionId": "s1"})
        body = {"appName": "slow", "userId": "u", "sessionId": "s1",
                "newMessage": user_message("go")}
        async with trio.open_nursery() as nursery:
            async def call() -> None:
                try:
                    await client.post("/run_sse", json=body)
                except Exception:
                    pass

            nursery.start_soon(call)
            await blocker.started.wait()
            await served.server.runners.aclose()
            assert blocker.cleaned_up.is_set()
            nursery.cancel_scope.cancel()
    assert not list(ACTIVE_RUNS)
