"""Pull semantics: after an event is handed over, nothing happens until the consumer asks
for the next one, for every caller kind, partial events and generator agents included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest
import trio
import trio.testing
from google.genai import types

from helpers import APP, USER, model_text, stored_events
from trio_adk import Agent, InMemoryRunner
from trio_adk.agents import BaseAgent, InvocationContext, RunConfig
from trio_adk.agents.run_config import StreamingMode
from trio_adk.events import Event
from trio_adk.models import BaseLlm, LlmRequest, LlmResponse
from trio_adk.testing import ScriptedModel, function_call


def gated_runner(log: list[str]) -> InMemoryRunner:
    """An agent whose model asks for a tool that logs when it runs."""

    def delete_everything(target: str) -> str:
        """Delete everything under target."""
        log.append("tool ran")
        return "deleted"

    model = ScriptedModel(replies=[function_call("delete_everything", {"target": "/"}),
                                   "done"])
    return InMemoryRunner(Agent(name="bot", model=model, tools=[delete_everything]),
                          app_name=APP)


def is_gate(event: Event) -> bool:
    return bool(event.get_function_calls())


async def assert_gate_held(runner: InMemoryRunner, log: list[str], got: list[Event]) -> None:
    assert [] == log  # the tool never ran
    assert [True] == [is_gate(e) for e in got]
    stored = await stored_events(runner)
    assert ["user", "bot"] == [e.author for e in stored]
    assert not stored[-1].get_function_responses()


async def test_trio_consumer_breaking_on_a_function_call_leaves_the_tool_unrun() -> None:
    log: list[str] = []
    runner = gated_runner(log)
    got: list[Event] = []
    async with aclosing(runner.run_async(user_id=USER, session_id="s1",
                                         new_message="clean up")) as events:
        async for event in events:
            got.append(event)
            await trio.testing.wait_all_tasks_blocked()  # give a push engine every chance
            if is_gate(event):
                break
    await assert_gate_held(runner, log, got)
    await runner.close()


def test_asyncio_consumer_breaking_on_a_function_call_leaves_the_tool_unrun() -> None:
    log: list[str] = []
    runner = gated_runner(log)
    got: list[Event] = []

    async def main() -> None:
        async with aclosing(runner.run_async(user_id=USER, session_id="s1",
                                             new_message="clean up")) as events:
            async for event in events:
                got.append(event)
                for _ in range(20):
                    await asyncio.sleep(0)  # many loop steps: the guest gets to run
                if is_gate(event):
                    break
        await runner.close()

    asyncio.run(main())
    trio.run(assert_gate_held, runner, log, got)


def test_sync_consumer_breaking_on_a_function_call_leaves_the_tool_unrun() -> None:
    log: list[str] = []
    runner = gated_runner(log)
    got: list[Event] = []
    for event in runner.run(user_id=USER, session_id="s1", new_message="clean up"):
        got.append(event)
        threading_pause()
        if is_gate(event):
            break
    trio.run(assert_gate_held, runner, log, got)
    runner.close()


def threading_pause() -> None:
    import time

    time.sleep(0.05)  # real time: a push engine's worker thread would run the tool now


async def test_the_tool_runs_after_the_consumer_asks_for_the_next_event() -> None:
    """Print order matches ADK: the call event, then the tool, then its response."""
    log: list[str] = []
    runner = gated_runner(log)
    async with aclosing(runner.run_async(user_id=USER, session_id="s1",
                                         new_message="clean up")) as events:
        async for event in events:
            await trio.testing.wait_all_tasks_blocked()
            if is_gate(event):
                log.append("got call")
            elif event.get_function_responses():
                log.append("got response")
            else:
                log.append("got text")
    assert ["got call", "tool ran", "got response", "got text"] == log
    await runner.close()


class _CountingStream(BaseLlm):
    """Streams three partial chunks, logging each as it produces it."""

    model: str = "counting"
    log: Any

    async def generate_content_async(self, llm_request: LlmRequest, stream: bool = False
                                     ) -> AsyncGenerator[LlmResponse, None]:
        text = ""
        for i in range(3):
            self.log.append(f"made {i}")
            text += str(i)
            yield LlmResponse(content=model_text(text), partial=True)
        yield LlmResponse(content=model_text(text))


async def test_partial_events_follow_the_same_rule() -> None:
    log: list[str] = []
    runner = InMemoryRunner(Agent(name="bot", model=_CountingStream(log=log)), app_name=APP)
    config = RunConfig(streaming_mode=StreamingMode.SSE)
    async with aclosing(runner.run_async(user_id=USER, session_id="s1", new_message="go",
                                         run_config=config)) as events:
        async for event in events:
            await trio.testing.wait_all_tasks_blocked()
            log.append(f"got {'partial' if event.partial else 'final'}")
    assert ["made 0", "got partial", "made 1", "got partial", "made 2", "got partial",
            "got final"] == log
    await runner.close()


class _Yielder(BaseAgent):
    """An ADK-style generator agent that logs around each yield."""

    log: Any

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        for i in range(2):
            self.log.append(f"yield {i}")
            yield Event(author=self.name, invocation_id=ctx.invocation_id,
                        content=types.Content(role="model", parts=[types.Part(text=str(i))]))
            self.log.append(f"resumed {i}")


@pytest.mark.parametrize("leave", [False, True])
async def test_a_generator_agent_resumes_only_when_the_consumer_asks(leave: bool) -> None:
    log: list[str] = []
    runner = InMemoryRunner(_Yielder(name="gen", log=log), app_name=APP)
    async with aclosing(runner.run_async(user_id=USER, session_id="s1",
                                         new_message="go")) as events:
        async for _ in events:
            await trio.testing.wait_all_tasks_blocked()
            log.append("consumer")
            if leave:
                break
    if leave:
        assert ["yield 0", "consumer"] == log
    else:
        assert ["yield 0", "consumer", "resumed 0", "yield 1", "consumer", "resumed 1"] == log
    await runner.close()


async def test_a_sub_agent_relayed_by_a_custom_agent_waits_too() -> None:
    """A custom agent relaying ``sub.run_async(ctx)``: the sub-agent's tool does not run
    while the consumer holds the call event."""
    log: list[str] = []

    def probe() -> str:
        """Probe."""
        log.append("tool ran")
        return "ok"

    inner = Agent(name="inner", model=ScriptedModel(replies=[function_call("probe"), "fine"]),
                  tools=[probe])

    class Relay(BaseAgent):
        async def _run_async_impl(  # type: ignore[override]
            self, ctx: InvocationContext
        ) -> AsyncGenerator[Event, None]:
            async with aclosing(self.sub_agents[0].run_async(ctx)) as events:
                async for event in events:
                    yield event

    runner = InMemoryRunner(Relay(name="relay", sub_agents=[inner]), app_name=APP)
    seen: list[Any] = []
    async with aclosing(runner.run_async(user_id=USER, session_id="s1",
                                         new_message="go")) as events:
        async for event in events:
            await trio.testing.wait_all_tasks_blocked()
            seen.append(list(log))
            if event.get_function_calls():
                break
    assert [[]] == seen
    assert [] == log
    await runner.close()
