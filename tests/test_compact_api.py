"""The compact form: ``Runner()`` / ``InMemoryRunner()`` without an agent, and runs that
name their agent (``run(agent, text)``, ``await run_async(agent, text)``,
``run_live(agent, input_text=...)``), next to the unchanged ADK form."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from contextlib import aclosing
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from google.genai import types

from helpers import APP, USER, CountingToolset, RunLog, collect
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk._run import ACTIVE_RUNS
from trio_adk.agents import LiveRequestQueue, RunConfig, StreamingMode
from trio_adk.errors import RunnerClosedError, SessionNotFoundError
from trio_adk.runners import RunResult, TextStream
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, chunks, error, function_call, text

ROOT = Path(__file__).resolve().parent.parent


def echo_agent(name: str = "echo", **kwargs: Any) -> Agent:
    """An agent whose model answers "reply N" to its N-th call, forever."""
    return Agent(name=name, model=ScriptedModel(replies=[f"reply {i}" for i in range(1, 20)]),
                 **kwargs)


def get_weather(city: str) -> dict[str, str]:
    """Return the weather in a city."""
    return {"report": f"sunny in {city}"}


async def stored(runner: Runner, user_id: str, session_id: str) -> list[str]:
    """``author: text`` of each stored event of a session."""
    session = await runner.session_service.get_session(
        app_name=runner.app_name, user_id=user_id, session_id=session_id)
    assert session is not None
    return [f"{e.author}: {''.join(p.text or '' for p in (e.content.parts or []))}"
            for e in session.events if e.content]


async def session_count(runner: Runner, user_id: str = "user") -> int:
    listed = await runner.session_service.list_sessions(app_name=runner.app_name,
                                                        user_id=user_id)
    return len(listed.sessions)


# ---- construction ---------------------------------------------------------------------


def test_runner_without_an_agent_has_in_memory_services_and_creates_sessions() -> None:
    """``Runner()``: no agent, app "Runner", in-memory session/artifact/memory services,
    missing sessions created; its repr says runs name their agent."""
    runner = Runner()
    assert runner.agent is None
    assert "Runner" == runner.app_name
    assert isinstance(runner.session_service, InMemorySessionService)
    assert runner.artifact_service is not None
    assert runner.memory_service is not None
    assert runner.auto_create_session is True
    assert "<Runner app='Runner' agent=named per run open, 0 runs in flight>" == repr(runner)
    runner.close()


def test_in_memory_runner_without_an_agent() -> None:
    runner = InMemoryRunner()
    assert runner.agent is None
    assert "InMemoryRunner" == runner.app_name
    assert runner.auto_create_session is True
    assert "agent=named per run" in repr(runner)
    runner.close()


def test_compact_runner_takes_the_services_it_is_given() -> None:
    """Without an agent the services only default to in-memory ones."""
    service = InMemorySessionService()
    runner = Runner(app_name="mine", session_service=service, auto_create_session=False)
    assert service is runner.session_service
    assert "mine" == runner.app_name
    assert runner.auto_create_session is False
    runner.close()


@pytest.mark.parametrize(("kwargs", "kind", "words"), [
    ({"app_name": APP, "agent": None, "session_service": InMemorySessionService()},
     ValueError, "Runner needs an agent"),
    ({"app_name": APP, "agent": "bot", "session_service": InMemorySessionService()},
     TypeError, "Runner needs an agent"),
    ({"agent": Agent(name="bot"), "session_service": InMemorySessionService()},
     TypeError, "app_name"),
    ({"app_name": APP, "agent": Agent(name="bot")}, ValueError, "session_service"),
    ({"app_name": " app"}, ValueError, "app_name"),
    ({"session_service": object()}, TypeError, "session_service"),
    ({"auto_create_session": "yes"}, TypeError, "auto_create_session"),
])
def test_constructor_checks_both_forms(kwargs: dict[str, Any], kind: type[Exception],
                                       words: str) -> None:
    """With an agent, app_name and session_service stay required (as in ADK) and
    ``agent=None`` stays an error; without one, the other arguments are still checked."""
    with pytest.raises(kind, match=words):
        Runner(**kwargs)


def test_in_memory_runner_of_none_is_an_error() -> None:
    with pytest.raises(ValueError, match="Runner needs an agent"):
        InMemoryRunner(None)  # type: ignore[arg-type]


async def test_the_adk_form_keeps_not_creating_sessions() -> None:
    """``Runner(app_name=..., agent=..., session_service=...)`` still raises
    SessionNotFoundError for a missing session (auto_create_session stays False)."""
    runner = Runner(app_name=APP, agent=echo_agent(), session_service=InMemorySessionService())
    assert runner.auto_create_session is False
    with pytest.raises(SessionNotFoundError):
        await collect(runner.run_async(user_id=USER, session_id="nope", new_message="hi"))
    await runner.close()


# ---- run(agent, text) -----------------------------------------------------------------


def test_run_returns_the_reply_and_stores_the_turn_in_a_fresh_session() -> None:
    """``runner.run(agent, text)`` returns a RunResult: ``str()`` and ``.text`` are the
    reply, ``.final_response`` its event; the session is a new one for user "user"."""
    runner = Runner()
    result = runner.run(echo_agent(), "Hello")
    assert isinstance(result, RunResult)
    assert "reply 1" == str(result) == result.text
    assert result.final_response is result.events[-1]
    assert "echo" == result.final_response.author
    assert "user" == result.user_id
    assert str(uuid.UUID(result.session_id)) == result.session_id
    assert ["user: Hello", "echo: reply 1"] == trio.run(stored, runner, "user",
                                                        result.session_id)
    assert re.fullmatch(r"<RunResult session='[0-9a-f-]+' user='user' 1 events "
                        r"text='reply 1'>", repr(result))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.user_id = "x"  # type: ignore[misc]
    runner.close()


def test_each_run_gets_its_own_session_unless_ids_are_given() -> None:
    """Without ids every call is a new conversation; ``session_id=`` (and ``user_id=``)
    continue one, created on first use."""
    runner = InMemoryRunner()
    agent = echo_agent()
    first = runner.run(agent, "one")
    second = runner.run(agent, "two")
    assert first.session_id != second.session_id
    runner.run(agent, "three", user_id="ada", session_id="chat")
    fourth = runner.run(agent, types.Content(role="user", parts=[types.Part(text="four")]),
                        user_id="ada", session_id="chat")
    assert ("ada", "chat") == (fourth.user_id, fourth.session_id)
    assert ["user: three", "echo: reply 3", "user: four", "echo: reply 4"] == \
        trio.run(stored, runner, "ada", "chat")
    assert 2 == trio.run(session_count, runner)
    runner.close()


def test_state_delta_and_run_config_reach_the_run() -> None:
    runner = Runner()
    result = runner.run(echo_agent(), "hi", state_delta={"mood": "good"},
                        run_config=RunConfig(custom_metadata={"tag": 7}))
    assert {"tag": 7} == result.final_response.custom_metadata  # type: ignore[union-attr]

    async def state() -> dict[str, Any]:
        session = await runner.session_service.get_session(
            app_name="Runner", user_id="user", session_id=result.session_id)
        assert session is not None
        return dict(session.state)

    assert {"mood": "good"} == trio.run(state)
    runner.close()


def test_text_is_the_last_final_response_after_a_tool_call() -> None:
    """Tool calls and their results are events of the result; the reply is the answer."""
    agent = Agent(name="weather", tools=[get_weather], model=ScriptedModel(
        replies=[function_call("get_weather", {"city": "Paris"}), "Sunny in Paris."]))
    result = Runner().run(agent, "Weather?")
    assert 3 == len(result.events)
    assert "Sunny in Paris." == str(result)


def test_a_run_without_a_final_text_has_empty_text() -> None:
    result = Runner().run(Agent(name="quiet", model=ScriptedModel(
        replies=[types.Content(role="model", parts=[types.Part(text="hm", thought=True)])])),
        "hi")
    assert "" == str(result)


def test_any_runner_runs_any_agent_and_creates_its_generated_session() -> None:
    """An ADK-form runner (no auto_create_session) runs a named agent in a fresh session
    it creates; a named session that does not exist is still SessionNotFoundError."""
    runner = Runner(app_name=APP, agent=echo_agent("own"),
                    session_service=InMemorySessionService())
    result = runner.run(echo_agent("other"), "hi")
    assert "other" == result.final_response.author  # type: ignore[union-attr]
    with pytest.raises(SessionNotFoundError):
        runner.run(echo_agent("third"), "hi", session_id="missing")
    runner.close()


@pytest.mark.parametrize("library", ["trio", "asyncio"])
def test_async_compact_runs_create_their_generated_session_on_any_runner(
        library: str) -> None:
    """``await run_async(agent, text)`` and ``async for chunk in run_live(agent, ...)`` on
    a runner that does not create missing sessions create their fresh session first."""
    runner = Runner(app_name=APP, agent=echo_agent("own"),
                    session_service=InMemorySessionService())

    async def main() -> tuple[str, list[str]]:
        result = await runner.run_async(echo_agent("other"), "hi")
        chunks = [chunk async for chunk in runner.run_live(story_agent(), input_text="Go")]
        return str(result), chunks

    outcome = asyncio.run(main()) if library == "asyncio" else trio.run(main)
    assert ("reply 1", ["Once ", "upon ", "a time."]) == outcome
    assert 2 == trio.run(session_count, runner)
    runner.close()


def test_agent_errors_arrive_unchanged() -> None:
    """An agent's error is raised from the call as it is (not wrapped)."""
    agent = Agent(name="boom", model=ScriptedModel(replies=[error(LookupError("no such"))]))
    with pytest.raises(LookupError, match="no such"):
        Runner().run(agent, "hi")


def test_timeout_is_the_builtin_timeout_error() -> None:
    """``timeout=`` ends a slow run with TimeoutError (sync caller, real time) and its
    cleanup is finished when the call raises."""
    agent = Agent(name="slow", model=ScriptedModel(replies=[text("late", delay=30)]))
    runner = Runner()
    with pytest.raises(TimeoutError):
        runner.run(agent, "hi", timeout=0.05)
    assert not list(ACTIVE_RUNS)
    runner.close()


async def test_timeout_under_a_mock_clock(autojump_clock: trio.abc.Clock) -> None:
    """``await run_async(agent, text, timeout=...)`` in virtual time: a reply slower than
    the timeout is TimeoutError, a faster one is the result."""
    runner = Runner()
    slow = Agent(name="slow", model=ScriptedModel(replies=[text("late", delay=31)]))
    start = trio.current_time()
    with pytest.raises(TimeoutError):
        await runner.run_async(slow, "hi", timeout=30)
    assert 30 == pytest.approx(trio.current_time() - start)
    fast = Agent(name="fast", model=ScriptedModel(replies=[text("in time", delay=29)]))
    assert "in time" == str(await runner.run_async(fast, "hi", timeout=30))
    await runner.close()


# ---- bad calls ------------------------------------------------------------------------


AGENT = echo_agent("checked")


@pytest.mark.parametrize(("args", "kwargs", "kind", "words"), [
    ((AGENT,), {}, TypeError, r"run\(agent, message\) needs the message"),
    (("hello",), {}, TypeError, "given the message but no agent"),
    (("not an agent", "hi"), {}, TypeError, "agent must be a BaseAgent"),
    ((None, "hi"), {}, TypeError, "agent must be a BaseAgent"),
    ((AGENT, ""), {}, ValueError, "message is an empty str"),
    ((AGENT, 5), {}, TypeError, "message must be"),
    ((AGENT, None), {}, ValueError, "requires a message"),
    ((AGENT, "hi"), {"new_message": "hi"}, TypeError, "new_message= belongs to the ADK"),
    ((AGENT, "hi"), {"user_id": " u"}, ValueError, "user_id"),
    ((AGENT, "hi"), {"session_id": ""}, ValueError, "session_id"),
    ((AGENT, "hi"), {"timeout": -1}, ValueError, "timeout"),
    ((AGENT, "hi"), {"timeout": "30"}, TypeError, "timeout"),
    ((AGENT, "hi"), {"state_delta": {"when": object()}}, TypeError, "state_delta"),
    ((AGENT, "hi"), {"run_config": {}}, TypeError, "run_config"),
    ((), {}, TypeError, "needs user_id=, session_id= and new_message="),
])
@pytest.mark.parametrize("method", ["run", "run_async"])
def test_bad_calls_are_refused_before_anything_happens(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], kind: type[Exception],
    words: str,
) -> None:
    """Each bad call raises TypeError/ValueError naming the problem, when the method is
    called; no session is created and the model is not called."""
    runner = Runner(app_name=APP, agent=echo_agent("own"),
                    session_service=InMemorySessionService())
    with pytest.raises(kind, match=words.replace("run\\(", f"{method}\\(")):
        getattr(runner, method)(*args, **kwargs)
    assert 0 == trio.run(session_count, runner)
    assert 0 == AGENT.canonical_model.calls  # type: ignore[attr-defined]
    runner.close()


@pytest.mark.parametrize("method", ["run", "run_async", "run_live"])
def test_the_adk_form_on_a_runner_without_an_agent_says_to_name_one(method: str) -> None:
    runner = Runner()
    kwargs: dict[str, Any] = {"user_id": "u", "session_id": "s"}
    if method == "run_live":
        kwargs["live_request_queue"] = LiveRequestQueue()
    else:
        kwargs["new_message"] = "hi"
    with pytest.raises(TypeError, match=rf"{method}\(agent, 'your text'\)"):
        getattr(runner, method)(**kwargs)
    runner.close()


def test_batches_on_a_runner_without_an_agent_say_to_name_one() -> None:
    """Batches run the runner's own agent: refused at the call, before any request."""
    runner = Runner()
    with pytest.raises(TypeError, match=r"run\(agent, 'your text'\)"):
        runner.run_batch([("u", "s", "hi")])

    async def main() -> None:
        with pytest.raises(TypeError, match="built without one"):
            await runner.run_batch_async([("u", "s", "hi")])

    trio.run(main)
    assert 0 == trio.run(session_count, runner, "u")
    runner.close()


def test_the_adk_forms_still_return_generators() -> None:
    """Without an agent argument, run/run_async/run_live yield events as before."""
    runner = InMemoryRunner(echo_agent())
    events = runner.run(user_id="u", session_id="s", new_message="hi")
    assert inspect.isgenerator(events)
    assert ["reply 1"] == [e.content.parts[0].text for e in events  # type: ignore[union-attr,index]
                           if e.content]
    agen = runner.run_async(user_id="u", session_id="s", new_message="hi")
    assert inspect.isasyncgen(agen)
    trio.run(agen.aclose)
    runner.close()


async def test_sync_run_inside_trio_is_refused() -> None:
    runner = Runner()
    with pytest.raises(RuntimeError, match="freeze the trio event loop"):
        runner.run(echo_agent(), "hi")
    await runner.close()


# ---- run_async(agent, text) -----------------------------------------------------------


async def test_run_async_awaits_to_the_result_from_trio() -> None:
    runner = Runner()
    pending = runner.run_async(echo_agent(), "hi")
    assert inspect.iscoroutine(pending)
    result = await pending
    assert "reply 1" == str(result)
    assert ["user: hi", "echo: reply 1"] == await stored(runner, "user", result.session_id)
    await runner.close()


def test_run_async_awaits_to_the_result_from_asyncio() -> None:
    """Inside a coroutine, and as ``asyncio.run(runner.run_async(agent, text))`` (called
    before the loop runs: the library is detected when it is awaited)."""
    runner = Runner()
    agent = echo_agent()

    async def main() -> RunResult:
        return await runner.run_async(agent, "hi")

    assert "reply 1" == str(asyncio.run(main()))
    assert "reply 2" == str(asyncio.run(runner.run_async(agent, "hi")))
    runner.close()


async def test_cancelling_the_await_cancels_the_run_and_waits_for_it() -> None:
    runner = Runner()
    agent = Agent(name="slow", model=ScriptedModel(replies=[text("late", delay=5)]))
    with trio.move_on_after(0.05) as scope:
        await runner.run_async(agent, "hi")
    assert scope.cancelled_caught
    assert not list(ACTIVE_RUNS)
    await runner.close()


def test_asyncio_timeout_around_the_await_cancels_the_run() -> None:
    runner = Runner()
    agent = Agent(name="slow", model=ScriptedModel(replies=[text("late", delay=5)]))

    async def main() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await runner.run_async(agent, "hi")
        assert not list(ACTIVE_RUNS)

    asyncio.run(main())
    runner.close()


# ---- run_live(agent, input_text=...) --------------------------------------------------


def story_agent(name: str = "teller") -> Agent:
    return Agent(name=name, model=ScriptedModel(
        replies=[chunks(["Once ", "upon ", "a time."])]))


def test_run_live_streams_text_chunks_to_a_sync_for() -> None:
    """The chunks are the SSE fragments as they arrive, then nothing more (the whole
    reply is stored, once)."""
    runner = Runner()
    stream = runner.run_live(story_agent(), input_text="Tell me a story")
    assert isinstance(stream, TextStream)
    assert repr(stream).startswith("<TextStream not started session=")
    assert ["Once ", "upon ", "a time."] == list(stream)
    assert repr(stream).startswith("<TextStream closed")
    assert ["user: Tell me a story", "teller: Once upon a time."] == \
        trio.run(stored, runner, "user", stream.session_id)
    runner.close()


async def test_run_live_streams_text_chunks_to_async_for_in_trio() -> None:
    runner = Runner()
    got = [chunk async for chunk in runner.run_live(story_agent(), input_text="Go")]
    assert ["Once ", "upon ", "a time."] == got
    await runner.close()


def test_run_live_streams_text_chunks_to_async_for_in_asyncio() -> None:
    runner = Runner()

    async def main() -> list[str]:
        return [chunk async for chunk in runner.run_live(story_agent(), input_text="Go")]

    assert ["Once ", "upon ", "a time."] == asyncio.run(main())
    runner.close()


def test_run_live_skips_what_is_not_text_and_yields_unstreamed_replies_whole() -> None:
    """A tool call and its result are no chunks; a reply the model did not stream (a
    before_model callback's answer here) arrives as one chunk."""
    agent = Agent(name="weather", tools=[get_weather], model=ScriptedModel(replies=[
        function_call("get_weather", {"city": "Oslo"}), chunks(["Cold ", "in Oslo."])]))
    assert ["Cold ", "in Oslo."] == list(Runner().run_live(agent, input_text="Weather?"))

    def canned(callback_context: Any, llm_request: Any) -> Any:
        from trio_adk.models import LlmResponse
        return LlmResponse(content=types.Content(role="model",
                                                 parts=[types.Part(text="Canned.")]))

    agent = Agent(name="canned", model=ScriptedModel(replies=[]),
                  before_model_callback=canned)
    assert ["Canned."] == list(Runner().run_live(agent, input_text="hi"))


def test_run_live_leaves_the_callers_run_config_alone() -> None:
    config = RunConfig(custom_metadata={"k": 1})
    runner = Runner()
    assert 3 == len(list(runner.run_live(story_agent(), input_text="Go", run_config=config)))
    assert StreamingMode.NONE == config.streaming_mode
    runner.close()


def test_breaking_out_of_a_sync_run_live_cancels_the_run() -> None:
    """``close()`` (or ``contextlib.closing``) after ``break`` cancels the run and
    returns once its cleanup finished; after_run_callback still runs."""
    plugin = RunLog()
    runner = Runner(plugins=[plugin])
    agent = Agent(name="slow", model=ScriptedModel(
        replies=[chunks(["a", "b", "c"], chunk_delay=30)]))
    with contextlib.closing(runner.run_live(agent, input_text="Go")) as stream:
        for chunk in stream:
            assert "a" == chunk
            assert 1 == len(ACTIVE_RUNS)
            break
    assert not list(ACTIVE_RUNS)
    assert 1 == plugin.after_runs
    assert [] == list(stream)  # closed: nothing more
    runner.close()


async def test_aclosing_an_async_run_live_cancels_the_run() -> None:
    runner = Runner()
    agent = Agent(name="slow", model=ScriptedModel(
        replies=[chunks(["a", "b", "c"], chunk_delay=30)]))
    async with aclosing(runner.run_live(agent, input_text="Go")) as stream:
        async for chunk in stream:
            assert "a" == chunk
            break
    assert not list(ACTIVE_RUNS)
    await runner.close()


def test_aclosing_a_run_live_under_asyncio_cancels_the_run() -> None:
    runner = Runner()
    agent = Agent(name="slow", model=ScriptedModel(
        replies=[chunks(["a", "b", "c"], chunk_delay=30)]))

    async def main() -> list[str]:
        got = []
        async with aclosing(runner.run_live(agent, input_text="Go")) as stream:
            async for chunk in stream:
                got.append(chunk)
                break
        assert not list(ACTIVE_RUNS)
        return got

    assert ["a"] == asyncio.run(main())
    runner.close()


def test_run_live_errors_and_timeouts_arrive_after_the_chunks_before_them() -> None:
    agent = Agent(name="slow", model=ScriptedModel(
        replies=[chunks(["a", "b"], chunk_delay=30)]))
    got: list[str] = []

    def consume() -> None:
        for chunk in Runner().run_live(agent, input_text="Go", timeout=0.2):
            got.append(chunk)

    with pytest.raises(TimeoutError):
        consume()
    assert ["a"] == got


def test_a_text_stream_is_iterated_one_way_only() -> None:
    runner = Runner()
    stream = runner.run_live(story_agent(), input_text="Go")
    assert "Once " == next(stream)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="one way only"):
            await stream.__anext__()

    trio.run(main)
    stream.close()
    runner.close()


@pytest.mark.parametrize(("args", "kwargs", "words"), [
    ((AGENT,), {}, r"run_live\(agent, input_text\) needs the input_text"),
    ((), {"input_text": "hi"}, "needs the agent first"),
    ((AGENT,), {"input_text": ""}, "input_text is an empty str"),
    (("story", "hi"), {}, "agent must be a BaseAgent"),
    ((AGENT, "hi"), {"live_request_queue": object()}, "live_request_queue belongs"),
    ((AGENT, "hi"), {"timeout": -2}, "timeout"),
])
def test_bad_run_live_calls_are_refused(args: tuple[Any, ...], kwargs: dict[str, Any],
                                        words: str) -> None:
    runner = Runner()
    with pytest.raises((TypeError, ValueError), match=words):
        runner.run_live(*args, **kwargs)
    runner.close()


# ---- closing --------------------------------------------------------------------------


class CountingModel(ScriptedModel):
    closes: int = 0

    async def aclose(self) -> None:
        self.closes += 1


def test_close_closes_every_agent_tree_the_runner_has_run() -> None:
    """Toolsets and models of the runner's own agent and of every agent a run named are
    closed once each (a toolset shared by two trees too); agents never run are not.
    (A model is closed once it was opened: the helper never ran, so its model never
    opened a client.)"""
    shared = CountingToolset()
    own, first, second, never = (CountingToolset() for _ in range(4))
    models = [CountingModel(replies=["ok"]) for _ in range(3)]
    runner = Runner(app_name=APP, agent=Agent(name="own", model=models[0], tools=[own]),
                    session_service=InMemorySessionService(), auto_create_session=True)
    helper = Agent(name="helper", model=models[2], tools=[second, shared])
    one = Agent(name="one", model=models[1], tools=[first, shared], sub_agents=[helper])
    unused = Agent(name="unused", model=CountingModel(replies=["ok"]), tools=[never])
    assert "ok" == str(runner.run(one, "hi"))
    assert 1 == len(list(runner.run(user_id="u", session_id="s", new_message="hi")))
    runner.close()
    assert [1, 1, 1, 1, 0] == [t.closes for t in (shared, own, first, second, never)]
    assert [1, 1, 0] == [m.closes for m in models]
    assert 0 == unused.canonical_model.closes  # type: ignore[attr-defined]


def test_with_runner_closes_it_and_a_closed_runner_refuses_runs() -> None:
    toolset = CountingToolset()
    agent = Agent(name="ctx", model=ScriptedModel(replies=["done"]), tools=[toolset])
    with Runner() as runner:
        assert "done" == str(runner.run(agent, "What can you do?"))
    assert runner.closed
    assert 1 == toolset.closes
    with pytest.raises(RunnerClosedError):
        runner.run(agent, "again")
    with pytest.raises(RunnerClosedError):
        list(runner.run_live(agent, input_text="again"))


async def test_a_closed_adk_runner_creates_no_session_for_a_compact_run() -> None:
    runner = Runner(app_name=APP, agent=echo_agent(), session_service=InMemorySessionService())
    await runner.close()
    with pytest.raises(RunnerClosedError):
        await runner.run_async(echo_agent("other"), "hi")
    assert 0 == await session_count(runner)


# ---- the public surface and its types -------------------------------------------------


def test_public_names() -> None:
    import trio_adk
    import trio_adk.runners

    assert trio_adk.Runner is trio_adk.runners.Runner is Runner
    assert {"RunResult", "TextStream"} <= set(trio_adk.runners.__all__)


@pytest.mark.slow
def test_overloads_give_each_form_its_type(tmp_path: Path) -> None:
    """mypy sees the event generator for the ADK form and the result, coroutine or text
    stream for the compact form."""
    source = tmp_path / "forms.py"
    source.write_text(textwrap.dedent("""
        from trio_adk import Agent, Runner
        runner = Runner()
        agent = Agent(name="a")
        reveal_type(runner.run(agent, "hi"))
        reveal_type(runner.run(user_id="u", session_id="s", new_message="hi"))
        reveal_type(runner.run_async(agent, "hi"))
        reveal_type(runner.run_async(user_id="u", session_id="s", new_message="hi"))
        reveal_type(runner.run_live(agent, input_text="hi"))
        reveal_type(runner.run_live(user_id="u", session_id="s"))
        runner.run(agent)
    """))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(source)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    notes = [line.split("Revealed type is ")[1] for line in result.stdout.splitlines()
             if "Revealed type is" in line]
    assert [
        '"trio_adk._run_result.RunResult"',
        '"typing.Generator[trio_adk.events._event.Event, None, None]"',
        '"typing.Coroutine[Any, Any, trio_adk._run_result.RunResult]"',
        '"typing.AsyncGenerator[trio_adk.events._event.Event, None]"',
        '"trio_adk._run_result.TextStream"',
        '"typing.AsyncGenerator[trio_adk.events._event.Event, None]"',
    ] == notes, result.stdout
    assert "No overload variant of \"run\"" in result.stdout


# ---- Ctrl-C ---------------------------------------------------------------------------


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals go to the main thread")
def test_ctrl_c_during_a_compact_run_cancels_it_before_propagating() -> None:
    """A real SIGINT while ``runner.run(agent, text)`` waits: KeyboardInterrupt arrives
    promptly, and by then the run was cancelled and its cleanup finished (nothing but
    the user message stored, no run or run thread left)."""
    runner = Runner()
    agent = Agent(name="slow", model=ScriptedModel(replies=[text("late", delay=3)]))
    main = threading.main_thread().ident
    assert main is not None
    interrupter = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))

    def call() -> None:
        runner.run(agent, "hi", session_id="s")
        time.sleep(5)  # not interrupted yet: let a late SIGINT land in pytest.raises

    started = time.monotonic()
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        interrupter.join()
    assert time.monotonic() - started < 1.5
    assert [] == list(ACTIVE_RUNS)
    assert [] == [t.name for t in threading.enumerate() if t.name.startswith("trio_adk.")]
    assert ["user: hi"] == trio.run(stored, runner, "user", "s")
    runner.close()
