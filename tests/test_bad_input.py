"""Bad input and failures: the error a caller gets, and what the session holds afterwards.

Every failing run is checked twice: the exception (type and message), and that the
session holds exactly the user event plus the events the consumer received before the
error.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest
import trio
from google.genai import types

from helpers import APP, USER, make_runner, run_text, stored_events, texts, user_text
from trio_adk import Agent, Runner
from trio_adk.agents import (
    BaseAgent,
    InvocationContext,
    LlmAgent,
    ParallelAgent,
    SequentialAgent,
)
from trio_adk.errors import SessionNotFoundError
from trio_adk.events import Event
from trio_adk.plugins import BasePlugin
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, error, function_call, function_calls
from trio_adk.tools import ToolContext


class ToolBoom(Exception):
    """Raised by a tool under test."""


class ModelBoom(Exception):
    """Raised by a model under test."""


class AgentBoom(Exception):
    """Raised by an agent under test."""


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def mul(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


async def run_until_error(
    runner: Runner, message: types.Content | None, *, session_id: str = "s1", **kwargs: Any
) -> tuple[list[Event], BaseException]:
    """Run one turn that must fail: the events the consumer received, then the error."""
    got: list[Event] = []
    try:
        gen = runner.run_async(user_id=USER, session_id=session_id, new_message=message,
                               **kwargs)
        async with aclosing(gen):
            async for event in gen:
                got.append(event)
    except Exception as exc:
        return got, exc
    raise AssertionError(f"the run did not fail; events: {texts(got)}")


async def assert_stored_is_user_plus(runner: Runner, got: list[Event]) -> None:
    """The session holds one user event followed by exactly ``got``."""
    stored = await stored_events(runner)
    assert ["user"] == [e.author for e in stored[:1]]
    assert got == stored[1:]


# ---- the session and the message -------------------------------------------------------


async def test_missing_session_raises_and_stores_nothing() -> None:
    """An unknown session id: SessionNotFoundError ('Session not found: <id>'), no event,
    and no session is created."""
    service = InMemorySessionService()
    model = ScriptedModel(replies=["never"])
    runner = Runner(app_name=APP, agent=Agent(name="bot", model=model),
                    session_service=service)
    got, exc = await run_until_error(runner, user_text("hi"), session_id="ghost")
    assert SessionNotFoundError is type(exc)
    assert isinstance(exc, ValueError)
    assert str(exc).startswith("Session not found: ghost")
    assert [] == got
    assert 0 == model.calls
    assert await service.get_session(app_name=APP, user_id=USER, session_id="ghost") is None
    assert [] == (await service.list_sessions(app_name=APP, user_id=USER)).sessions


@pytest.mark.parametrize("parts", [[], None])
async def test_message_without_parts_is_rejected(parts: list[types.Part] | None) -> None:
    """A new_message with no parts: ValueError naming new_message, nothing stored, the
    model not called."""
    model = ScriptedModel(replies=["never"])
    runner = await make_runner(Agent(name="bot", model=model))
    got, exc = await run_until_error(runner, types.Content(role="user", parts=parts))
    assert ValueError is type(exc)
    assert str(exc).startswith("new_message has no parts")
    assert [] == got
    assert [] == await stored_events(runner)
    assert 0 == model.calls


async def test_missing_message_is_rejected() -> None:
    """new_message=None: ValueError, nothing stored."""
    model = ScriptedModel(replies=["never"])
    runner = await make_runner(Agent(name="bot", model=model))
    got, exc = await run_until_error(runner, None)
    assert ValueError is type(exc)
    assert str(exc).startswith("Running an agent requires")
    assert "new_message" in str(exc)
    assert [] == got
    assert [] == await stored_events(runner)
    assert 0 == model.calls


async def test_user_message_with_a_function_call_is_rejected() -> None:
    """A user message carrying a function_call part: ValueError, nothing stored."""
    message = types.Content(role="user", parts=[
        types.Part(text="do it"),
        types.Part(function_call=types.FunctionCall(name="add", args={"a": 1, "b": 2})),
    ])
    model = ScriptedModel(replies=["never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    got, exc = await run_until_error(runner, message)
    assert ValueError is type(exc)
    assert str(exc).startswith("new_message cannot contain function calls")
    assert [] == got
    assert [] == await stored_events(runner)
    assert 0 == model.calls


# ---- building the agent tree and the runner --------------------------------------------


@pytest.mark.parametrize("name", ["bad name", "1abc", "with-dash", ""])
def test_invalid_agent_names_are_rejected(name: str) -> None:
    """Agent names must be Python identifiers."""
    with pytest.raises(ValueError, match=f"Found invalid agent name: `{name}`"):
        Agent(name=name, model=ScriptedModel())
    with pytest.raises(ValueError, match=f"Found invalid agent name: `{name}`"):
        SequentialAgent(name=name)


def test_reserved_user_name_is_rejected() -> None:
    """'user' is reserved for end-user events."""
    with pytest.raises(ValueError, match="`user`"):
        Agent(name="user", model=ScriptedModel())


def test_agent_with_two_parents_is_rejected() -> None:
    """Adding an agent that already has a parent raises ValueError naming all three."""
    child = Agent(name="child", model=ScriptedModel())
    Agent(name="first", model=ScriptedModel(), sub_agents=[child])
    with pytest.raises(ValueError, match=r"Agent `child` already has a parent agent, "
                                         r"current parent: `first`, trying to add: `second`"):
        SequentialAgent(name="second", sub_agents=[child])
    assert "first" == child.parent_agent.name  # type: ignore[union-attr]


class _Named(BasePlugin):
    pass


async def test_duplicate_plugin_names_are_rejected() -> None:
    """Two plugins with one name: ValueError "Plugin with name '<n>' already registered."."""
    with pytest.raises(ValueError, match=r"^Plugin with name 'twin' already registered\.$"):
        Runner(app_name=APP, agent=Agent(name="bot", model=ScriptedModel()),
               session_service=InMemorySessionService(),
               plugins=[_Named(name="twin"), _Named(name="other"), _Named(name="twin")])


@pytest.mark.parametrize(("config", "message"), [
    (types.GenerateContentConfig(tools=[types.Tool(function_declarations=[
        types.FunctionDeclaration(name="x")])]), "All tools must be set via LlmAgent.tools"),
    (types.GenerateContentConfig(system_instruction="hi"),
     "System instruction must be set via LlmAgent.instruction"),
    (types.GenerateContentConfig(response_schema={"type": "STRING"}),
     "Response schema must be set via LlmAgent.output_schema"),
    ("not a config", "generate_content_config"),
    ({"temperature": "very hot"}, "temperature"),
])
def test_malformed_generate_content_config_is_rejected(config: Any, message: str) -> None:
    """generate_content_config with agent-owned fields or of the wrong shape: ValueError
    at construction."""
    with pytest.raises(ValueError, match=message):
        Agent(name="bot", model=ScriptedModel(), generate_content_config=config)


def test_runner_requires_an_app_name() -> None:
    """An empty app_name is rejected at construction."""
    with pytest.raises(ValueError, match="app_name"):
        Runner(app_name="", agent=Agent(name="bot", model=ScriptedModel()),
               session_service=InMemorySessionService())


def test_runner_requires_an_agent_object() -> None:
    """Something that is not an agent is rejected at construction, naming BaseAgent."""
    with pytest.raises((TypeError, ValueError), match="BaseAgent"):
        Runner(app_name=APP, agent="bot",  # type: ignore[arg-type]
               session_service=InMemorySessionService())


def test_runner_without_agent_is_a_value_error() -> None:
    """agent=None is a ValueError, as in ADK (spec §1.2: 'validate ... a non-None agent
    (ValueError)'; late-1.x raises ValueError too)."""
    with pytest.raises(ValueError, match="agent"):
        Runner(app_name=APP, agent=None,  # type: ignore[arg-type]
               session_service=InMemorySessionService())


def test_runner_requires_a_session_service() -> None:
    """session_service=None is rejected at construction."""
    with pytest.raises(ValueError, match="session_service"):
        Runner(app_name=APP, agent=Agent(name="bot", model=ScriptedModel()),
               session_service=None)  # type: ignore[arg-type]


# ---- unknown tools ---------------------------------------------------------------------


async def test_unknown_tool_error_lists_the_available_tools() -> None:
    """A call to a tool the agent does not have raises a ValueError listing the tools,
    after the call event was yielded and stored."""
    model = ScriptedModel(replies=[function_call("fly", {"to": "moon"}), "never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[mul, add]))
    got, exc = await run_until_error(runner, user_text("hi"))
    assert isinstance(exc, ValueError)
    assert not isinstance(exc, BaseExceptionGroup)
    assert str(exc).startswith("Tool 'fly' not found.")
    assert "Available tools: add, mul" in str(exc)
    assert 1 == len(got)
    assert ["fly"] == [c.name for c in got[0].get_function_calls()]
    await assert_stored_is_user_plus(runner, got)
    assert 1 == model.calls


class _AnswerUnknownTools(BasePlugin):
    async def on_tool_error_callback(self, *, tool, tool_args, tool_context, error):  # type: ignore[no-untyped-def]
        return {"error": f"plugin: {error}", "tool": tool.name, "args": tool_args}


async def test_plugin_on_tool_error_may_answer_for_an_unknown_tool() -> None:
    """A plugin's on_tool_error result stands in for the missing tool's response."""
    model = ScriptedModel(replies=[function_call("fly", {"to": "moon"}), "grounded"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]),
                               plugins=[_AnswerUnknownTools(name="answer")])
    events = await run_text(runner, "hi")
    assert 3 == len(events)
    response = events[1].get_function_responses()[0]
    assert "fly" == response.name
    assert response.response is not None
    assert "fly" == response.response["tool"]
    assert {"to": "moon"} == response.response["args"]
    assert response.response["error"].startswith("plugin: Tool 'fly' not found.")
    assert ["grounded"] == texts(events)
    await assert_stored_is_user_plus(runner, events)


async def test_agent_on_tool_error_may_answer_for_an_unknown_tool() -> None:
    """The agent's on_tool_error_callback may answer for a missing tool too."""
    seen: list[BaseException] = []

    def on_tool_error(tool: Any, args: dict[str, Any], tool_context: ToolContext,
                      error: Exception) -> dict[str, Any]:
        seen.append(error)
        return {"error": "no such tool", "name": tool.name}

    model = ScriptedModel(replies=[function_call("fly", {}), "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add],
                                     on_tool_error_callback=on_tool_error))
    events = await run_text(runner, "hi")
    assert [{"error": "no such tool", "name": "fly"}] == [
        r.response for r in events[1].get_function_responses()]
    assert 1 == len(seen)
    assert isinstance(seen[0], ValueError)
    assert "Available tools: add" in str(seen[0])


# ---- failing tools, models, plugins, agents --------------------------------------------


async def test_tool_exception_reaches_the_consumer_unwrapped() -> None:
    """A tool's exception is raised as is (not in an ExceptionGroup) after the call event."""
    failure = ToolBoom("tool broke")

    async def explode(x: int) -> int:
        """Explodes."""
        raise failure

    model = ScriptedModel(replies=[function_call("explode", {"x": 1}), "never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[explode]))
    got, exc = await run_until_error(runner, user_text("hi"))
    assert exc is failure
    assert 1 == len(got)
    assert ["explode"] == [c.name for c in got[0].get_function_calls()]
    await assert_stored_is_user_plus(runner, got)


async def test_sync_tool_exception_reaches_the_consumer_unwrapped() -> None:
    """A sync tool (run in a worker thread) that raises: the same exception type."""

    def explode() -> None:
        """Explodes in a thread."""
        raise ToolBoom("thread tool broke")

    model = ScriptedModel(replies=[function_call("explode"), "never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[explode]))
    got, exc = await run_until_error(runner, user_text("hi"))
    assert ToolBoom is type(exc)
    assert "thread tool broke" == str(exc)
    assert 1 == len(got)
    await assert_stored_is_user_plus(runner, got)


async def test_parallel_tool_exception_cancels_siblings_and_is_unwrapped(
    autojump_clock: trio.abc.Clock,
) -> None:
    """One of several concurrent calls fails: the others are cancelled and the error
    reaches the consumer unwrapped; no response event is stored."""
    finished: list[str] = []

    async def slow() -> str:
        """Slow."""
        await trio.sleep(10)
        finished.append("slow")
        return "slow"

    async def explode() -> str:
        """Explodes after a moment."""
        await trio.sleep(1)
        raise ToolBoom("parallel broke")

    model = ScriptedModel(replies=[function_calls(("slow", {}), ("explode", {})), "never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[slow, explode]))
    start = trio.current_time()
    got, exc = await run_until_error(runner, user_text("hi"))
    assert ToolBoom is type(exc)
    assert "parallel broke" == str(exc)
    assert [] == finished
    assert 1.0 == pytest.approx(trio.current_time() - start, abs=0.01)
    assert 1 == len(got)
    await assert_stored_is_user_plus(runner, got)


async def test_model_exception_reaches_the_consumer_unwrapped() -> None:
    """A model's exception is raised as is; with no events before it nothing but the user
    event is stored."""
    failure = ModelBoom("model broke")
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=[error(failure)])))
    got, exc = await run_until_error(runner, user_text("hi"))
    assert exc is failure
    assert [] == got
    await assert_stored_is_user_plus(runner, got)


async def test_model_exception_after_a_tool_round() -> None:
    """A model that fails on its second call: the call and response events come first."""
    failure = ModelBoom("second call broke")
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), error(failure)])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    got, exc = await run_until_error(runner, user_text("hi"))
    assert exc is failure
    assert 2 == len(got)
    assert [{"result": 3}] == [r.response for r in got[1].get_function_responses()]
    await assert_stored_is_user_plus(runner, got)


class _BrokenPlugin(BasePlugin):
    def __init__(self, name: str, failing: str, failure: Exception) -> None:
        super().__init__(name=name)
        self.failing = failing
        self.failure = failure

    def _maybe_fail(self, callback: str) -> None:
        if callback == self.failing:
            raise self.failure

    async def before_model_callback(self, *, callback_context, llm_request):  # type: ignore[no-untyped-def]
        self._maybe_fail("before_model_callback")

    async def after_tool_callback(self, *, tool, tool_args, tool_context, result):  # type: ignore[no-untyped-def]
        self._maybe_fail("after_tool_callback")


class _Later(BasePlugin):
    def __init__(self) -> None:
        super().__init__(name="later")
        self.calls: list[str] = []

    async def before_model_callback(self, *, callback_context, llm_request):  # type: ignore[no-untyped-def]
        self.calls.append("before_model")


async def test_plugin_exception_becomes_a_runtime_error_naming_plugin_and_callback() -> None:
    """A plugin callback that raises: RuntimeError("Error in plugin '<n>' during '<cb>'
    callback: ...") chained to the original; later plugins are not called."""
    failure = KeyError("lost")
    later = _Later()
    model = ScriptedModel(replies=["never"])
    runner = await make_runner(Agent(name="bot", model=model),
                               plugins=[_BrokenPlugin("broken", "before_model_callback",
                                                      failure), later])
    got, exc = await run_until_error(runner, user_text("hi"))
    assert RuntimeError is type(exc)
    assert str(exc).startswith(
        "Error in plugin 'broken' during 'before_model_callback' callback: ")
    assert "lost" in str(exc)
    assert exc.__cause__ is failure
    assert [] == later.calls
    assert 0 == model.calls
    assert [] == got
    await assert_stored_is_user_plus(runner, got)


async def test_plugin_exception_after_events_keeps_the_events_before_it() -> None:
    """A plugin failing in after_tool: the call event was received and stored, nothing
    after it."""
    failure = ValueError("after tool broke")
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]),
                               plugins=[_BrokenPlugin("audit", "after_tool_callback", failure)])
    got, exc = await run_until_error(runner, user_text("hi"))
    assert RuntimeError is type(exc)
    assert ("Error in plugin 'audit' during 'after_tool_callback' callback: after tool broke"
            == str(exc))
    assert exc.__cause__ is failure
    assert 1 == len(got)
    assert got[0].get_function_calls()
    await assert_stored_is_user_plus(runner, got)


class _FailingAgent(BaseAgent):
    """Yields ``count`` events, then raises."""

    count: int = 3

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        for index in range(self.count):
            yield Event(author=self.name, invocation_id=ctx.invocation_id, branch=ctx.branch,
                        content=types.Content(role="model",
                                              parts=[types.Part(text=f"{self.name}{index}")]))
        raise AgentBoom(f"{self.name} failed after {self.count}")


async def test_agent_error_comes_after_every_event_before_it() -> None:
    """An agent that yields k events then raises: the consumer gets the k events, then the
    same exception unwrapped; the session holds the user event and those k."""
    runner = await make_runner(_FailingAgent(name="flaky", count=3))
    got, exc = await run_until_error(runner, user_text("hi"))
    assert AgentBoom is type(exc)
    assert "flaky failed after 3" == str(exc)
    assert ["flaky0", "flaky1", "flaky2"] == texts(got)
    await assert_stored_is_user_plus(runner, got)


async def test_agent_error_inside_a_sequential_agent() -> None:
    """In a SequentialAgent the earlier sub-agent's events and the failing one's events
    arrive and are stored before the error; later sub-agents do not run."""
    after_model = ScriptedModel(replies=["never"])
    seq = SequentialAgent(name="seq", sub_agents=[
        Agent(name="first", model=ScriptedModel(replies=["first says hi"])),
        _FailingAgent(name="second", count=2),
        Agent(name="third", model=after_model),
    ])
    runner = await make_runner(seq)
    got, exc = await run_until_error(runner, user_text("hi"))
    assert AgentBoom is type(exc)
    assert ["first says hi", "second0", "second1"] == texts(got)
    assert 0 == after_model.calls
    await assert_stored_is_user_plus(runner, got)


async def test_agent_error_inside_a_parallel_agent_is_unwrapped(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A failing branch of a ParallelAgent cancels the other branch; the error is raised
    unwrapped and the session holds exactly what the consumer received."""
    slow = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 1}, delay=5), "late"])
    par = ParallelAgent(name="par", sub_agents=[
        Agent(name="slowpoke", model=slow, tools=[add]),
        _FailingAgent(name="flaky", count=1),
    ])
    runner = await make_runner(par)
    got, exc = await run_until_error(runner, user_text("hi"))
    assert AgentBoom is type(exc)
    assert ["flaky0"] == texts(got)
    assert ["par.flaky"] == [e.branch for e in got]
    await assert_stored_is_user_plus(runner, got)


async def test_consumer_sees_every_event_stored_before_the_error() -> None:
    """While a failing run is consumed, the session never runs ahead of the consumer."""
    runner = await make_runner(_FailingAgent(name="flaky", count=4))
    got: list[Event] = []
    stored_counts: list[int] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("hi"))
    failure: BaseException | None = None
    try:
        async with aclosing(gen):
            async for event in gen:
                got.append(event)
                await trio.testing.wait_all_tasks_blocked()
                stored_counts.append(len(await stored_events(runner)))
    except AgentBoom as exc:
        failure = exc
    assert failure is not None
    assert [2, 3, 4, 5] == stored_counts
    assert 4 == len(got)
    await assert_stored_is_user_plus(runner, got)


async def test_a_failed_run_leaves_the_session_usable() -> None:
    """After a failing turn the next turn runs normally on the same session."""
    model = ScriptedModel(replies=[error(ModelBoom("once")), "recovered"])
    runner = await make_runner(Agent(name="bot", model=model))
    got, exc = await run_until_error(runner, user_text("first"))
    assert ModelBoom is type(exc)
    assert [] == got
    events = await run_text(runner, "second")
    assert ["recovered"] == texts(events)
    stored = await stored_events(runner)
    assert ["user", "user", "bot"] == [e.author for e in stored]
    assert isinstance(runner.agent, LlmAgent)


@pytest.mark.parametrize("failure_type", [trio.BrokenResourceError, trio.ClosedResourceError])
async def test_tool_raising_a_trio_resource_error_is_not_swallowed(
    failure_type: type[Exception],
) -> None:
    """A tool whose connection broke (trio.BrokenResourceError / ClosedResourceError) fails
    the run like any other tool error; the run must not end as if it had succeeded."""
    failure = failure_type("the tool's socket is gone")

    async def fetch() -> str:
        """Fetch over a connection that breaks."""
        raise failure

    model = ScriptedModel(replies=[function_call("fetch"), "never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[fetch]))
    got: list[Event] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("hi"))
    raised: BaseException | None = None
    try:
        async with aclosing(gen):
            async for event in gen:
                got.append(event)
    except Exception as exc:
        raised = exc
    assert raised is failure
    assert 1 == len(got)
    assert 1 == model.calls
    await assert_stored_is_user_plus(runner, got)


class _ToolGroup(ExceptionGroup):
    """A tool library's own ExceptionGroup subclass."""


@pytest.mark.parametrize("parallel", [False, True], ids=["one_call", "two_calls"])
@pytest.mark.parametrize("kind", ["subclass_two_leaves", "one_leaf"])
async def test_tool_raising_its_own_exception_group_gets_it_back_unchanged(
    parallel: bool, kind: str,
) -> None:
    """A tool that raises an ExceptionGroup itself: the consumer gets that very object
    (same type), neither unwrapped, copied, nor wrapped in another group."""
    failure: ExceptionGroup[Exception]
    if kind == "subclass_two_leaves":
        failure = _ToolGroup("tool group", [ValueError("a"), KeyError("b")])
    else:
        failure = ExceptionGroup("single", [ValueError("only")])

    async def grouped() -> None:
        """Raises a group."""
        raise failure

    async def quiet() -> str:
        """Answers after a checkpoint."""
        await trio.lowlevel.checkpoint()
        return "quiet"

    reply = function_calls(("grouped", {}), ("quiet", {})) if parallel \
        else function_call("grouped")
    model = ScriptedModel(replies=[reply, "never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[grouped, quiet]))
    got, exc = await run_until_error(runner, user_text("hi"))
    assert type(failure) is type(exc)
    assert exc is failure
    assert 1 == len(got)
    await assert_stored_is_user_plus(runner, got)


class _FailOnSecondEvent(BasePlugin):
    def __init__(self) -> None:
        super().__init__(name="second")
        self.seen = 0

    async def on_event_callback(self, *, invocation_context, event):  # type: ignore[no-untyped-def]
        self.seen += 1
        if self.seen == 2:
            raise OSError("on_event broke")


async def test_on_event_plugin_failure_drops_that_event() -> None:
    """An on_event plugin failing on the second event: that event is neither stored nor
    yielded; the first one is both."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]),
                               plugins=[_FailOnSecondEvent()])
    got, exc = await run_until_error(runner, user_text("hi"))
    assert RuntimeError is type(exc)
    assert "Error in plugin 'second' during 'on_event_callback' callback: on_event broke" \
        == str(exc)
    assert OSError is type(exc.__cause__)
    assert 1 == len(got)
    await assert_stored_is_user_plus(runner, got)


class _FlakyStore(InMemorySessionService):
    """Fails to append the n-th agent event."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.agent_events = 0

    async def append_event(self, session, event):  # type: ignore[no-untyped-def]
        if event.author != "user" and not event.partial:
            self.agent_events += 1
            if self.agent_events == self.fail_at:
                raise ConnectionError("store unavailable")
        return await super().append_event(session, event)


async def test_session_store_failure_is_raised_and_the_event_not_yielded() -> None:
    """When persisting an event fails, the consumer gets the store's error instead of the
    event: streamed and stored stay the same."""
    store = _FlakyStore(fail_at=2)
    await store.create_session(app_name=APP, user_id=USER, session_id="s1")
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "never"])
    runner = Runner(app_name=APP, agent=Agent(name="bot", model=model, tools=[add]),
                    session_service=store)
    got, exc = await run_until_error(runner, user_text("hi"))
    assert ConnectionError is type(exc)
    assert "store unavailable" == str(exc)
    assert 1 == len(got)
    await assert_stored_is_user_plus(runner, got)


class _Wrapper(BaseAgent):
    """A custom agent that relays its first sub-agent through ``run_async``."""

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        async with aclosing(self.sub_agents[0].run_async(ctx)) as events:
            async for event in events:
                yield event


@pytest.mark.parametrize("failure_type", [ToolBoom, trio.BrokenResourceError])
async def test_tool_error_through_a_custom_agent_relay(failure_type: type[Exception]) -> None:
    """A sub-agent driven by a custom agent via run_async: its tool's error still reaches
    the consumer, after the call event."""

    async def fetch() -> str:
        """Fails."""
        raise failure_type("relay tool failed")

    inner = Agent(name="inner", model=ScriptedModel(replies=[function_call("fetch"), "never"]),
                  tools=[fetch])
    runner = await make_runner(_Wrapper(name="wrap", sub_agents=[inner]))
    got: list[Event] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("hi"))
    raised: BaseException | None = None
    try:
        async with aclosing(gen):
            async for event in gen:
                got.append(event)
    except Exception as exc:
        raised = exc
    assert failure_type is type(raised)
    assert "relay tool failed" == str(raised)
    assert 1 == len(got)
    await assert_stored_is_user_plus(runner, got)
