"""Runner.run_async on trio: the path of one run."""

from __future__ import annotations

import pytest
import trio

from helpers import APP, USER, collect, make_runner, run_text, stored_events, texts, user_text
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk.agents import BaseAgent, InvocationContext, RunConfig, StreamingMode
from trio_adk.errors import SessionNotFoundError
from trio_adk.events import Event
from trio_adk.plugins import BasePlugin
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, chunks, function_call


async def test_one_turn_yields_the_reply_and_persists_both_events() -> None:
    """A text reply is yielded once; the session holds the user event and the reply."""
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["hello"])))
    events = await run_text(runner, "hi")
    assert ["hello"] == texts(events)
    stored = await stored_events(runner)
    assert ["user", "bot"] == [e.author for e in stored]
    assert events[0] == stored[1]
    assert all(e.invocation_id == stored[0].invocation_id for e in stored)
    assert stored[0].invocation_id.startswith("e-")


async def test_user_event_carries_state_delta_and_is_not_yielded() -> None:
    """state_delta rides on the user event; temp: keys are not persisted."""
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["ok"])))
    events = await run_text(runner, "hi", state_delta={"x": 1, "temp:t": 2, "user:u": 3})
    assert all(e.author != "user" for e in events)
    session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                       session_id="s1")
    assert session is not None
    assert {"x": 1, "user:u": 3} == session.state
    assert {"x": 1, "user:u": 3} == session.events[0].actions.state_delta


async def test_missing_session_raises_before_any_event() -> None:
    """An unknown session is a SessionNotFoundError (a ValueError) on first iteration."""
    runner = Runner(app_name=APP, agent=Agent(name="bot", model=ScriptedModel(replies=["x"])),
                    session_service=InMemorySessionService())
    gen = runner.run_async(user_id=USER, session_id="nope", new_message=user_text("hi"))
    with pytest.raises(SessionNotFoundError, match=r"^Session not found: nope") as info:
        await collect(gen)
    assert isinstance(info.value, ValueError)


async def test_in_memory_runner_creates_missing_sessions() -> None:
    """InMemoryRunner is the development runner: auto_create_session defaults to True."""
    runner = InMemoryRunner(Agent(name="bot", model=ScriptedModel(replies=["made"])))
    events = await collect(runner.run_async(user_id=USER, session_id="fresh",
                                            new_message=user_text("hi")))
    assert ["made"] == texts(events)
    assert runner.credential_service is None
    assert "InMemoryRunner" == runner.app_name


async def test_sse_partials_are_streamed_but_not_persisted() -> None:
    """With StreamingMode.SSE the partial chunks are yielded, only the final is stored."""
    model = ScriptedModel(replies=[chunks(["Hel", "lo"])])
    runner = await make_runner(Agent(name="bot", model=model))
    events = await run_text(runner, "hi", run_config=RunConfig(streaming_mode=StreamingMode.SSE))
    assert [True, True, None] == [e.partial for e in events]
    assert ["Hel", "lo", "Hello"] == texts(events)
    stored = await stored_events(runner)
    assert ["Hello"] == texts(stored[1:])


class _Recorder(BasePlugin):
    def __init__(self) -> None:
        super().__init__(name="recorder")
        self.calls: list[str] = []

    async def on_user_message_callback(self, *, invocation_context, user_message):  # type: ignore[no-untyped-def]
        self.calls.append("on_user_message")

    async def before_run_callback(self, *, invocation_context):  # type: ignore[no-untyped-def]
        self.calls.append("before_run")

    async def before_agent_callback(self, *, agent, callback_context):  # type: ignore[no-untyped-def]
        self.calls.append("before_agent")

    async def before_model_callback(self, *, callback_context, llm_request):  # type: ignore[no-untyped-def]
        self.calls.append("before_model")

    async def after_model_callback(self, *, callback_context, llm_response):  # type: ignore[no-untyped-def]
        self.calls.append("after_model")

    async def on_event_callback(self, *, invocation_context, event):  # type: ignore[no-untyped-def]
        self.calls.append("on_event")

    async def before_tool_callback(self, *, tool, tool_args, tool_context):  # type: ignore[no-untyped-def]
        self.calls.append("before_tool")

    async def after_tool_callback(self, *, tool, tool_args, tool_context, result):  # type: ignore[no-untyped-def]
        self.calls.append("after_tool")

    async def after_agent_callback(self, *, agent, callback_context):  # type: ignore[no-untyped-def]
        self.calls.append("after_agent")

    async def after_run_callback(self, *, invocation_context):  # type: ignore[no-untyped-def]
        self.calls.append("after_run")


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def test_plugin_callbacks_run_in_the_documented_order() -> None:
    """One model+tool step calls plugins in ADK's order."""
    recorder = _Recorder()
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "3"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]), plugins=[recorder])
    await run_text(runner, "add")
    assert [
        "on_user_message", "before_run", "before_agent", "before_model", "after_model",
        "on_event", "before_tool", "after_tool", "on_event", "before_model", "after_model",
        "on_event", "after_agent", "after_run",
    ] == recorder.calls


class _EarlyExit(BasePlugin):
    async def before_run_callback(self, *, invocation_context):  # type: ignore[no-untyped-def]
        return user_text("blocked")

    async def after_run_callback(self, *, invocation_context):  # type: ignore[no-untyped-def]
        self.after_ran = True


async def test_before_run_content_short_circuits_the_agent() -> None:
    """A before_run Content becomes one author='model' event; the agent never runs."""
    model = ScriptedModel(replies=[])
    plugin = _EarlyExit(name="early")
    runner = await make_runner(Agent(name="bot", model=model), plugins=[plugin])
    events = await run_text(runner, "hi")
    assert ["model"] == [e.author for e in events]
    assert ["blocked"] == texts(events)
    assert 0 == model.calls
    assert plugin.after_ran
    stored = await stored_events(runner)
    assert events[0] == stored[-1]


class _Rewriter(BasePlugin):
    async def on_event_callback(self, *, invocation_context, event):  # type: ignore[no-untyped-def]
        return Event(author="", content=user_text("rewritten"), custom_metadata={"k": 1})


async def test_on_event_replacement_is_what_is_streamed_and_persisted() -> None:
    """The on_event replacement is merged onto the event; streamed == persisted."""
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["orig"])),
                               plugins=[_Rewriter(name="rw")])
    events = await run_text(runner, "hi")
    stored = await stored_events(runner)
    assert ["rewritten"] == texts(events)
    assert events[0] == stored[-1]
    assert "bot" == events[0].author
    assert {"k": 1} == events[0].custom_metadata


async def test_custom_metadata_is_stamped_on_every_event() -> None:
    """RunConfig.custom_metadata reaches the user event and every agent event."""
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["x"])))
    await run_text(runner, "hi", run_config=RunConfig(custom_metadata={"trace": "t1"}))
    stored = await stored_events(runner)
    assert [{"trace": "t1"}, {"trace": "t1"}] == [e.custom_metadata for e in stored]


class _SlowAgent(BaseAgent):
    async def _run_async_impl(self, ctx: InvocationContext):  # type: ignore[no-untyped-def,override]
        for i in range(100):
            yield Event(author=self.name, invocation_id=ctx.invocation_id,
                        content=user_text(f"e{i}"))


async def test_consumer_rendezvous_agent_never_runs_ahead() -> None:
    """After the consumer took k events, the session holds exactly those k (plus user)."""
    runner = await make_runner(_SlowAgent(name="slow"))
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("go"))
    got = []
    async with __import__("contextlib").aclosing(gen):
        async for event in gen:
            got.append(event)
            await trio.testing.wait_all_tasks_blocked()
            stored = await stored_events(runner)
            assert len(got) + 1 == len(stored)
            if len(got) == 5:
                break
    stored = await stored_events(runner)
    assert ["e0", "e1", "e2", "e3", "e4"] == texts(stored[1:])
