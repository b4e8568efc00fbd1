"""Bad arguments at every public entry point, as a careless user or an attacker passes them.

Each case asserts the exception type, that the message names the argument, and that
nothing happened: no run registered (``ACTIVE_RUNS``, the runner's runs), no session
created (the runner auto-creates sessions), nothing stored.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import pytest
import trio
import trio.testing
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import APP, USER, collect, texts, user_text
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk._run import ACTIVE_RUNS
from trio_adk.agents import LiveRequestQueue, RunConfig
from trio_adk.agents.run_config import StreamingMode
from trio_adk.artifacts import InMemoryArtifactService
from trio_adk.events import Event
from trio_adk.memory import InMemoryMemoryService
from trio_adk.models import BaseLlm, LlmRequest, LlmResponse
from trio_adk.sessions import InMemorySessionService, Session
from trio_adk.testing import ScriptedModel


def deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def nothing_happened(runner: Runner) -> None:
    assert not runner._runs
    assert not [run for run in ACTIVE_RUNS if run.runner is runner]


async def no_sessions(runner: Runner) -> None:
    nothing_happened(runner)
    listed = await runner.session_service.list_sessions(app_name=runner.app_name)
    assert [] == listed.sessions


def new_runner() -> InMemoryRunner:
    return InMemoryRunner(Agent(name="bot", model=ScriptedModel(replies=["hello"] * 10)),
                          app_name=APP)


GOOD: dict[str, Any] = {"user_id": USER, "session_id": "s1", "new_message": "hi"}

# (argument, bad value, exception type, words the message must contain)
BAD_RUN_ARGS: list[tuple[str, Any, type[Exception], str]] = [
    ("new_message", {"role": "user", "parts": [{"text": "hi"}]}, TypeError, "model_validate"),
    ("new_message", b"hi", TypeError, "inline_data"),
    ("new_message", types.Part(text="hi"), TypeError, "wrap the part"),
    ("new_message", [types.Part(text="hi")], TypeError, "wrap the parts"),
    ("new_message", 5, TypeError, "types.Content or a str"),
    ("new_message", "", ValueError, "empty"),
    ("new_message", None, ValueError, "requires a new_message"),
    ("new_message", types.Content(role="user", parts=[]), ValueError, "no parts"),
    ("session_id", None, TypeError, "must be a str"),
    ("session_id", "", ValueError, "non-empty"),
    ("session_id", " s ", ValueError, "whitespace"),
    ("session_id", "s\n", ValueError, "whitespace"),
    ("session_id", 5, TypeError, "must be a str"),
    ("session_id", "x" * 129, ValueError, "at most 128"),
    ("session_id", "a\x00b", ValueError, "control characters"),
    ("session_id", "a\ud800b", ValueError, "surrogates"),
    ("user_id", None, TypeError, "must be a str"),
    ("user_id", 5, TypeError, "must be a str"),
    ("user_id", "", ValueError, "non-empty"),
    ("state_delta", [("k", 1)], TypeError, "must be a dict"),
    ("state_delta", {1: "v"}, TypeError, "keys must be str"),
    ("state_delta", {"k": object()}, TypeError, "JSON values"),
    ("state_delta", {"k": (1, 2)}, TypeError, "use a list"),
    ("state_delta", {"k": {"n": {2: 1}}}, TypeError, "must be str"),
    ("state_delta", {"k": float("nan")}, ValueError, "finite"),
    ("state_delta", {"k": deep(5000)}, ValueError, "levels deep"),
    ("run_config", {"streaming_mode": "sse"}, TypeError, "RunConfig(**your_dict)"),
    ("run_config", "sse", TypeError, "must be a RunConfig"),
    ("timeout", -1, ValueError, "zero or more"),
    ("timeout", math.nan, ValueError, "finite"),
    ("timeout", math.inf, ValueError, "finite"),
    ("timeout", "30", TypeError, "number of seconds"),
    ("timeout", True, TypeError, "number of seconds"),
]


@pytest.mark.parametrize(("name", "value", "kind", "words"), BAD_RUN_ARGS)
async def test_run_async_rejects_bad_arguments_before_anything_happens(
    name: str, value: Any, kind: type[Exception], words: str,
) -> None:
    """``run_async`` raises when called: the right type, a message naming the argument
    and what was wrong; no run registered, no session auto-created."""
    runner = new_runner()
    with pytest.raises(kind) as caught:
        runner.run_async(**{**GOOD, name: value})
    assert name.split("_")[0] in str(caught.value)
    assert words in str(caught.value)
    await no_sessions(runner)


@pytest.mark.parametrize(("name", "value", "kind", "words"), BAD_RUN_ARGS)
def test_sync_run_rejects_bad_arguments_before_anything_happens(
    name: str, value: Any, kind: type[Exception], words: str,
) -> None:
    """The sync ``run`` checks the same arguments when it is called."""
    runner = new_runner()
    with pytest.raises(kind) as caught:
        runner.run(**{**GOOD, name: value})
    assert words in str(caught.value)
    nothing_happened(runner)
    runner.close()


def test_asyncio_run_async_rejects_bad_arguments() -> None:
    """From asyncio too, nothing is registered (the check runs before the guest)."""
    runner = new_runner()

    async def main() -> None:
        for name, value, kind, _ in BAD_RUN_ARGS:
            with pytest.raises(kind):
                runner.run_async(**{**GOOD, name: value})
        nothing_happened(runner)
        await runner.close()

    asyncio.run(main())


async def test_plain_text_message_is_user_text() -> None:
    """A ``str`` new_message is accepted as one user text part (friendlier than ADK)."""
    runner = new_runner()
    events = await collect(runner.run_async(user_id=USER, session_id="s1",
                                            new_message="Hi there"))
    assert ["hello"] == texts(events)
    session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                       session_id="s1")
    assert session is not None
    assert user_text("Hi there") == session.events[0].content


@pytest.mark.parametrize(("kwargs", "kind", "words"), [
    ({"user_id": 5, "session_id": "s1"}, TypeError, "user_id"),
    ({"user_id": USER, "session_id": " s1"}, ValueError, "session_id"),
    ({"user_id": USER, "session_id": "s1", "timeout": -2}, ValueError, "timeout"),
    ({"user_id": USER, "session_id": "s1", "run_config": {}}, TypeError, "run_config"),
    ({"user_id": USER, "session_id": "s1", "live_request_queue": "q"}, TypeError,
     "live_request_queue"),
    ({"session_id": "s1"}, ValueError, "user_id and session_id"),
])
async def test_run_live_rejects_bad_arguments(kwargs: dict[str, Any], kind: type[Exception],
                                              words: str) -> None:
    runner = new_runner()
    kwargs.setdefault("live_request_queue", LiveRequestQueue())
    with pytest.raises(kind, match=words):
        runner.run_live(**kwargs)
    await no_sessions(runner)


@pytest.mark.parametrize(("requests", "kwargs", "kind", "words"), [
    ([(USER, "s1", "ok"), (USER, " s2", "ok")], {}, ValueError, r"requests\[1\].*session_id"),
    ([(USER, "s1", "ok"), (USER, "s2", {"text": "x"})], {}, TypeError, r"requests\[1\]"),
    ([{"user_id": USER, "session_id": "s1", "new_message": "ok",
       "state_delta": {"k": {1, 2}}}], {}, TypeError, "state_delta"),
    (["just text"], {}, TypeError, r"requests\[0\]"),
    ([(USER, "s1", "ok")], {"max_concurrency": 0}, ValueError, "max_concurrency"),
    ([(USER, "s1", "ok")], {"max_concurrency": 2.5}, TypeError, "max_concurrency"),
    ([(USER, "s1", "ok")], {"run_timeout": -1}, ValueError, "run_timeout"),
    ([(USER, "s1", "ok")], {"run_config": {}}, TypeError, "run_config"),
])
async def test_batches_check_every_request_before_any_runs(
    requests: list[Any], kwargs: dict[str, Any], kind: type[Exception], words: str,
) -> None:
    """A batch with one bad request (or a bad option) runs nothing at all."""
    runner = new_runner()
    with pytest.raises(kind, match=words):
        await runner.run_batch_async(requests, **kwargs)
    await no_sessions(runner)


def test_sync_batch_checks_every_request_before_any_runs() -> None:
    runner = new_runner()
    with pytest.raises(ValueError, match="session_id"):
        runner.run_batch([(USER, "s1", "ok"), (USER, "", "ok")])
    nothing_happened(runner)
    runner.close()


@pytest.mark.parametrize(("kwargs", "kind", "words"), [
    ({"app_name": " app"}, ValueError, "app_name"),
    ({"app_name": 5}, TypeError, "app_name"),
    ({"session_service": object()}, TypeError, "session_service"),
    ({"artifact_service": InMemorySessionService()}, TypeError, "artifact_service"),
    ({"memory_service": "mem"}, ValueError, "memory_service='mem'"),
    ({"memory_service": b"memory://"}, TypeError, "memory_service"),
    ({"auto_create_session": "yes"}, TypeError, "auto_create_session"),
    ({"plugin_close_timeout": -1}, ValueError, "plugin_close_timeout"),
    ({"plugin_close_timeout": None}, TypeError, "plugin_close_timeout"),
])
def test_runner_constructor_checks_its_arguments(kwargs: dict[str, Any],
                                                 kind: type[Exception], words: str) -> None:
    base: dict[str, Any] = {"app_name": APP, "agent": Agent(name="bot"),
                            "session_service": InMemorySessionService()}
    with pytest.raises(kind, match=words):
        Runner(**{**base, **kwargs})


# ---- RunConfig ----------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "kind", "words"), [
    ({"model_call_timeout": -1}, ValueError, "model_call_timeout"),
    ({"model_call_timeout": math.nan}, ValueError, "model_call_timeout"),
    ({"model_call_timeout": "10"}, TypeError, "model_call_timeout"),
    ({"live_drain_timeout": -0.5}, ValueError, "live_drain_timeout"),
    ({"live_drain_timeout": None}, TypeError, "live_drain_timeout"),
    ({"streaming_mode": "stream"}, ValueError, "streaming_mode"),
    ({"streaming_mode": 3}, ValueError, "streaming_mode"),
    ({"max_llm_calls": "5"}, TypeError, "max_llm_calls"),
    ({"max_llm_calls": 2.0}, TypeError, "max_llm_calls"),
    ({"response_modalities": "AUDIO"}, TypeError, "response_modalities"),
    ({"response_modalities": [1]}, TypeError, "response_modalities"),
    ({"save_live_blob": "no"}, TypeError, "save_live_blob"),
    ({"custom_metadata": ["a"]}, TypeError, "custom_metadata"),
    ({"speech_config": "Puck"}, TypeError, "speech_config"),
    ({"session_resumption": {"handle": "h"}}, TypeError, "session_resumption"),
    ({"get_session_config": {"num_recent_events": 2}}, TypeError, "get_session_config"),
    ({"tool_thread_pool_config": 4}, TypeError, "tool_thread_pool_config"),
])
def test_run_config_rejects_bad_values(kwargs: dict[str, Any], kind: type[Exception],
                                       words: str) -> None:
    with pytest.raises(kind, match=words):
        RunConfig(**kwargs)
    config = RunConfig()
    (name, value), = kwargs.items()
    with pytest.raises(kind, match=words):
        setattr(config, name, value)


@pytest.mark.parametrize(("given", "mode"), [
    ("sse", StreamingMode.SSE), ("SSE", StreamingMode.SSE), ("bidi", StreamingMode.BIDI),
    (None, StreamingMode.NONE), ("none", StreamingMode.NONE),
    (StreamingMode.SSE, StreamingMode.SSE),
])
def test_streaming_mode_values_are_coerced_as_in_adk(given: Any, mode: StreamingMode) -> None:
    """``RunConfig(streaming_mode="sse")`` means SSE streaming, as ADK's pydantic model
    coerces it (it used to be stored as the string and silently meant no streaming)."""
    assert mode is RunConfig(streaming_mode=given).streaming_mode


def test_zero_timeouts_are_allowed() -> None:
    """0 is a valid deadline (it has already passed), as in trio and asyncio."""
    assert 0.0 == RunConfig(model_call_timeout=0).model_call_timeout
    assert 0.0 == RunConfig(live_drain_timeout=0).live_drain_timeout


# ---- model_call_timeout edges -------------------------------------------------------


class _OverrunModel(BaseLlm):
    """Yields two chunks; between them, 'works' past its budget without a checkpoint
    (the clock jumps, as a blocking call would make it)."""

    model: str = "overrun"
    clock: Any = None

    async def generate_content_async(self, llm_request: LlmRequest, stream: bool = False
                                     ) -> Any:
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="a")]),
                          partial=True)
        self.clock.jump(10)  # no checkpoint: nothing could cancel this
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="ab")]),
                          partial=True)
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="ab")]))


async def test_a_model_overrunning_its_budget_without_a_checkpoint_times_out(
    mock_clock: trio.testing.MockClock,
) -> None:
    """The next response after the budget is spent ends the run with ``TimeoutError``
    (it used to be trio's ``ValueError: seconds must be non-negative``)."""
    agent = Agent(name="bot", model=_OverrunModel(clock=mock_clock))
    runner = InMemoryRunner(agent, app_name=APP)
    config = RunConfig(model_call_timeout=5, streaming_mode=StreamingMode.SSE)
    got: list[Event] = []

    async def consume() -> None:
        async with aclosing(runner.run_async(user_id=USER, session_id="s1", new_message="hi",
                                             run_config=config)) as events:
            async for event in events:
                got.append(event)

    with pytest.raises(TimeoutError, match="model_call_timeout"):
        await consume()
    assert ["a", "ab"] == texts(got)
    await runner.close()


async def test_a_model_call_timeout_of_zero_times_out_at_once() -> None:
    model = ScriptedModel(replies=["never"])
    runner = InMemoryRunner(Agent(name="bot", model=model), app_name=APP)
    with pytest.raises(TimeoutError, match="model_call_timeout"):
        await collect(runner.run_async(user_id=USER, session_id="s1", new_message="hi",
                                       run_config=RunConfig(model_call_timeout=0)))
    await runner.close()


# ---- services -----------------------------------------------------------------------

SESSION = Session(id="s1", app_name=APP, user_id=USER)

SERVICE_CASES: list[tuple[str, Callable[[Any], Any], type[Exception], str]] = [
    ("create app_name", lambda s: s.create_session(app_name="", user_id=USER),
     ValueError, "app_name"),
    ("create user_id", lambda s: s.create_session(app_name=APP, user_id=None),
     TypeError, "user_id"),
    ("create session_id ''", lambda s: s.create_session(app_name=APP, user_id=USER,
                                                       session_id=""),
     ValueError, "None for a generated id"),
    ("create session_id int", lambda s: s.create_session(app_name=APP, user_id=USER,
                                                        session_id=7),
     TypeError, "session_id"),
    ("create state", lambda s: s.create_session(app_name=APP, user_id=USER,
                                               state={"k": {1, 2}}),
     TypeError, r"state\['k'\]"),
    ("create state list", lambda s: s.create_session(app_name=APP, user_id=USER,
                                                    state=[1]),
     TypeError, "state"),
    ("get whitespace", lambda s: s.get_session(app_name=APP, user_id=USER,
                                               session_id=" s1 "),
     ValueError, "whitespace"),
    ("get config", lambda s: s.get_session(app_name=APP, user_id=USER, session_id="s1",
                                           config={"num_recent_events": 1}),
     TypeError, "config"),
    ("list user_id", lambda s: s.list_sessions(app_name=APP, user_id=""),
     ValueError, "every user"),
    ("delete", lambda s: s.delete_session(app_name=APP, user_id=USER, session_id=None),
     TypeError, "session_id"),
    ("append session", lambda s: s.append_event("s1", Event(author="a")),
     TypeError, "session"),
    ("append event", lambda s: s.append_event(SESSION, {"author": "a"}),
     TypeError, "event"),
]


@pytest.mark.parametrize(("case", "call", "kind", "words"), SERVICE_CASES,
                         ids=[c[0] for c in SERVICE_CASES])
async def test_session_service_methods_check_their_arguments(
    case: str, call: Callable[[Any], Any], kind: type[Exception], words: str,
) -> None:
    service = InMemorySessionService()
    with pytest.raises(kind, match=words):
        await call(service)
    assert {} == service.sessions


async def test_a_subclass_override_is_checked_too() -> None:
    """The checks belong to the base class: a user's own backend gets them."""
    calls: list[str] = []

    class MyService(InMemorySessionService):
        async def create_session(self, **kwargs: Any) -> Session:
            calls.append("create")
            return await super().create_session(**kwargs)

    with pytest.raises(ValueError, match="user_id"):
        await MyService().create_session(app_name=APP, user_id=" u")
    assert [] == calls


@pytest.mark.parametrize(("call", "kind", "words"), [
    (lambda s: s.save_artifact(app_name=APP, user_id=USER, session_id="s1", filename="",
                               artifact=types.Part(text="x")), ValueError, "filename"),
    (lambda s: s.save_artifact(app_name=APP, user_id=USER, session_id="s1", filename="f",
                               artifact=b"x"), TypeError, "artifact"),
    (lambda s: s.save_artifact(app_name=APP, user_id=5, session_id="s1", filename="f",
                               artifact=types.Part(text="x")), TypeError, "user_id"),
    (lambda s: s.load_artifact(app_name=APP, user_id=USER, session_id="s1", filename="f",
                               version="1"), TypeError, "version"),
    (lambda s: s.list_artifact_keys(app_name=APP, user_id=USER, session_id=""),
     ValueError, "session_id"),
    (lambda s: s.delete_artifact(app_name=APP, user_id=USER, session_id="s1",
                                 filename=None), TypeError, "filename"),
    (lambda s: s.list_versions(app_name=APP, user_id=USER, session_id="s1",
                               filename="a\nb"), ValueError, "filename"),
])
async def test_artifact_service_methods_check_their_arguments(
    call: Callable[[Any], Any], kind: type[Exception], words: str,
) -> None:
    service = InMemoryArtifactService()
    with pytest.raises(kind, match=words):
        await call(service)
    assert [] == await service.list_artifact_keys(app_name=APP, user_id=USER, session_id="s1")


async def test_memory_service_methods_check_their_arguments() -> None:
    service = InMemoryMemoryService()
    with pytest.raises(TypeError, match="session"):
        await service.add_session_to_memory("s1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="query"):
        await service.search_memory(app_name=APP, user_id=USER, query=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="app_name"):
        await service.search_memory(app_name="", user_id=USER, query="q")


# ---- property tests: whatever is accepted round-trips exactly ---------------------------

ids = st.text(min_size=0, max_size=140)
json_scalars = (st.none() | st.booleans() | st.integers()
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=12)
plain_keys = st.text(min_size=1, max_size=8).filter(lambda k: ":" not in k)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(session_id=ids, user_id=ids)
def test_ids_round_trip_exactly_or_are_rejected(session_id: str, user_id: str) -> None:
    """Any id is either stored and found again exactly as written, or rejected with a
    ValueError and nothing stored."""

    async def main() -> None:
        service = InMemorySessionService()
        try:
            created = await service.create_session(app_name=APP, user_id=user_id,
                                                   session_id=session_id)
        except ValueError:
            assert {} == service.sessions
            return
        assert (session_id, user_id) == (created.id, created.user_id)
        found = await service.get_session(app_name=APP, user_id=user_id,
                                          session_id=session_id)
        assert found is not None
        assert (session_id, user_id) == (found.id, found.user_id)
        listed = await service.list_sessions(app_name=APP, user_id=user_id)
        assert [session_id] == [s.id for s in listed.sessions]

    trio.run(main)


@settings(max_examples=100, deadline=None)
@given(state=st.dictionaries(plain_keys, json_values, max_size=4),
       delta=st.dictionaries(plain_keys, json_values, max_size=4))
def test_accepted_state_round_trips_exactly(state: dict[str, Any],
                                            delta: dict[str, Any]) -> None:
    """Initial state and a run's state_delta come back equal, as written."""

    async def main() -> None:
        runner = new_runner()
        await runner.session_service.create_session(app_name=APP, user_id=USER,
                                                    session_id="s1", state=state)
        await collect(runner.run_async(user_id=USER, session_id="s1", new_message="hi",
                                       state_delta=delta))
        session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                           session_id="s1")
        assert session is not None
        assert {**state, **delta} == session.state
        assert delta == session.events[0].actions.state_delta
        await runner.close()

    trio.run(main)


# ---- the live queue -------------------------------------------------------------------


@pytest.mark.parametrize(("call", "kind", "words"), [
    (lambda q: q.send(types.Blob(data=b"x", mime_type="audio/pcm")), TypeError,
     "send_realtime"),
    (lambda q: q.send("hello"), TypeError, "send_content"),
    (lambda q: q.send_content("hello"), TypeError, "types.Content"),
    (lambda q: q.send_realtime(b"pcm"), TypeError, "types.Blob"),
    (lambda q: q.send_threadsafe({"close": True}), TypeError, "LiveRequest"),
])
def test_live_queue_sends_check_what_they_are_given(call: Callable[[Any], Any],
                                                    kind: type[Exception], words: str) -> None:
    queue = LiveRequestQueue(capacity=2)
    with pytest.raises(kind, match=words):
        call(queue)
    assert "0/2 queued" in repr(queue)
    assert not queue.closed


@pytest.mark.parametrize(("capacity", "kind"), [
    (0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("8", TypeError),
    (None, TypeError),
])
def test_live_queue_capacity_is_checked(capacity: Any, kind: type[Exception]) -> None:
    with pytest.raises(kind, match="capacity"):
        LiveRequestQueue(capacity=capacity)
