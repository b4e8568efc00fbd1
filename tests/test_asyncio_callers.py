"""asyncio callers: ``run_async``, ``close()`` and friends awaited from asyncio.

trio runs as a guest on the caller's asyncio loop.  Most tests here are plain sync
tests that call ``asyncio.run(main())`` (pytest-trio only claims async test functions)
and use real time with tiny sleeps; the anyio-marked tests at the end check the public
contract on both anyio backends.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
from collections.abc import AsyncGenerator
from contextlib import aclosing
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
import sniffio
import trio
from google.genai import types

from helpers import (
    APP,
    USER,
    RunLog,
    make_runner,
    model_text,
    run_text,
    stored_events,
    texts,
    user_text,
)
from probe_agents import Failing, Probe, Worker, start
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk._bridges import _asyncio_guest
from trio_adk._run import ACTIVE_RUNS
from trio_adk.agents import (
    BaseAgent,
    InvocationContext,
    LiveRequest,
    LiveRequestQueue,
    RunConfig,
)
from trio_adk.auth import AuthConfig, AuthCredential, InMemoryCredentialService
from trio_adk.errors import RunnerClosedError
from trio_adk.events import Event
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, function_calls, text
from trio_adk.tools import ToolContext

# ---- helpers ------------------------------------------------------------------------------


async def wait_until(predicate: Any, limit: float = 2.0) -> None:
    """Poll ``predicate`` on the asyncio loop until true; fail after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def assert_no_guest_left() -> None:
    """After ``asyncio.run`` returned: no run in flight, no trio run on this thread, and
    a fresh ``trio.run`` works on the same thread."""
    assert [] == list(ACTIVE_RUNS)
    assert not trio.lowlevel.in_trio_run()
    assert "trio" == trio.run(_library)


async def _library() -> str:
    return sniffio.current_async_library()


# ---- the upstream usage shape ---------------------------------------------------------------


def test_upstream_usage_shape_under_asyncio_run_matches_trio() -> None:
    """The ADK quick-start shape inside ``asyncio.run``: ``await
    session_service.create_session``, ``async for event in runner.run_async(...)``,
    ``await session_service.get_session``.  The same coroutine run under ``trio.run``
    yields the same events and stores the same session."""

    async def main() -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
        library = sniffio.current_async_library()
        model = ScriptedModel(replies=[function_calls(("add", {"a": 1, "b": 2})), "3"])
        runner = Runner(app_name=APP, agent=Agent(name="calc", model=model, tools=[add]),
                        session_service=InMemorySessionService())
        session = await runner.session_service.create_session(app_name=APP, user_id=USER,
                                                              session_id="s1")
        got: list[Event] = []
        async for event in runner.run_async(user_id=USER, session_id=session.id,
                                            new_message=user_text("1+2?")):
            got.append(event)
        stored = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                          session_id="s1")
        assert stored is not None
        assert got == stored.events[1:]
        return library, summary(got), summary(stored.events)

    on_asyncio = asyncio.run(main())
    assert_no_guest_left()
    on_trio = trio.run(main)
    assert "asyncio" == on_asyncio[0]
    assert "trio" == on_trio[0]
    assert on_trio[1:] == on_asyncio[1:]
    assert [("calc", "call:add"), ("calc", "response:add={'result': 3}"),
            ("calc", "3")] == on_asyncio[1]


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def summary(events: list[Event]) -> list[tuple[str, str]]:
    """(author, what) per event, comparable across runs (ids and timestamps differ)."""
    out = []
    for event in events:
        for part in (event.content.parts if event.content and event.content.parts else ()):
            if part.function_call is not None:
                out.append((event.author, f"call:{part.function_call.name}"))
            elif part.function_response is not None:
                response = part.function_response
                out.append((event.author, f"response:{response.name}={response.response}"))
            elif part.text:
                out.append((event.author, part.text))
    return out


def test_service_coroutines_awaited_from_asyncio_match_trio() -> None:
    """Every service coroutine a ported program awaits (sessions, artifacts, memory,
    credentials) works when awaited inside ``asyncio.run``, with the same results as the
    same coroutine run under ``trio.run``."""

    async def main() -> dict[str, Any]:
        runner = InMemoryRunner(Agent(name="bot", model=ScriptedModel(replies=["sunny"])),
                                app_name=APP)
        sessions = runner.session_service
        artifacts = runner.artifact_service
        memory = runner.memory_service
        assert artifacts is not None
        assert memory is not None
        credentials = InMemoryCredentialService()
        await sessions.create_session(app_name=APP, user_id=USER, session_id="s1")
        await sessions.create_session(app_name=APP, user_id=USER, session_id="s2")
        await run_text(runner, "weather?")
        session = await sessions.get_session(app_name=APP, user_id=USER, session_id="s1")
        assert session is not None
        listed = await sessions.list_sessions(app_name=APP, user_id=USER)
        await sessions.delete_session(app_name=APP, user_id=USER, session_id="s2")
        after_delete = await sessions.list_sessions(app_name=APP, user_id=USER)
        where = {"app_name": APP, "user_id": USER, "session_id": "s1"}
        for body in ("v0", "v1"):
            await artifacts.save_artifact(**where, filename="f.txt",
                                          artifact=types.Part(text=body))
        loaded = await artifacts.load_artifact(**where, filename="f.txt")
        keys = await artifacts.list_artifact_keys(**where)
        versions = await artifacts.list_versions(**where, filename="f.txt")
        await artifacts.delete_artifact(**where, filename="f.txt")
        keys_after_delete = await artifacts.list_artifact_keys(**where)
        await memory.add_session_to_memory(session)
        found = await memory.search_memory(app_name=APP, user_id=USER, query="sunny")
        exchanged = AuthCredential(auth_type="oauth2", oauth2={"access_token": "tok"})
        config = AuthConfig(credential_key="key", exchanged_auth_credential=exchanged)
        context = SimpleNamespace(
            _invocation_context=SimpleNamespace(app_name=APP, user_id=USER))
        await credentials.save_credential(config, context)  # type: ignore[arg-type]
        credential = await credentials.load_credential(config, context)  # type: ignore[arg-type]
        await runner.close()
        return {
            "events": texts(session.events),
            "listed": sorted(s.id for s in listed.sessions),
            "after_delete": [s.id for s in after_delete.sessions],
            "loaded": loaded.text if loaded is not None else None,
            "keys": keys, "versions": versions, "keys_after_delete": keys_after_delete,
            "found": [texts([Event(author="x", content=m.content)]) for m in found.memories],
            "credential": credential == exchanged,
        }

    on_asyncio = asyncio.run(main())
    assert_no_guest_left()
    assert {
        "events": ["weather?", "sunny"], "listed": ["s1", "s2"], "after_delete": ["s1"],
        "loaded": "v1", "keys": ["f.txt"], "versions": [0, 1], "keys_after_delete": [],
        "found": [["sunny"]], "credential": True,
    } == on_asyncio
    assert trio.run(main) == on_asyncio


def test_live_request_queue_awaitables_work_from_asyncio() -> None:
    """``await queue.asend(...)`` and ``await queue.get()`` of a LiveRequestQueue work
    inside ``asyncio.run`` (a ported live program feeds the queue from asyncio code)."""

    async def main() -> tuple[list[str], bool]:
        queue = LiveRequestQueue()
        await queue.asend(LiveRequest(content=user_text("hello")))
        queue.send_content(user_text("again"))
        queue.close()
        got = [await queue.get(), await queue.get()]
        end = await queue.get()
        return texts([Event(author="user", content=r.content) for r in got]), end.close

    assert (["hello", "again"], True) == asyncio.run(main())
    assert_no_guest_left()


def test_agent_error_reaches_the_asyncio_caller_unchanged() -> None:
    """An agent raising ValueError after two events: the asyncio consumer gets both
    events, then the very exception object the agent raised (not wrapped, not a group);
    the session holds exactly the received events; after_run did not run."""
    probe = Probe()
    plugin = RunLog()

    async def main() -> tuple[list[Event], BaseException | None, list[Event]]:
        runner = await make_runner(Failing(name="failing", probe=probe), plugins=[plugin])
        got: list[Event] = []
        caught: BaseException | None = None
        try:
            async for event in start(runner):
                got.append(event)
        except ValueError as exc:
            caught = exc
        return got, caught, await stored_events(runner)

    got, caught, stored = asyncio.run(main())
    assert ["e0", "e1"] == texts(got)
    assert ValueError is type(caught)
    assert 1 == len(probe.raised)
    assert probe.raised[0] is caught
    assert "agent broke" == str(caught)
    assert got == stored[1:]
    assert 0 == plugin.after_runs
    assert_no_guest_left()


# ---- cancellation from the asyncio side ----------------------------------------------------


def test_task_cancel_cancels_the_run_and_waits_for_its_cleanup() -> None:
    """``task.cancel()`` on the asyncio task iterating: the trio run is cancelled and the
    agent's shielded 0.2 s cleanup has finished when the CancelledError reaches the
    consumer's code; the session holds exactly the received events; after_run did not
    run (outside cancellation)."""
    probe = Probe()
    plugin = RunLog()
    at_cancel: list[list[str]] = []

    async def main() -> tuple[list[Event], list[Event], bool]:
        runner = await make_runner(
            Worker(name="worker", probe=probe, count=2, tail=10.0), plugins=[plugin])
        got: list[Event] = []
        two = asyncio.Event()

        async def consumer() -> None:
            try:
                async for event in start(runner):
                    got.append(event)
                    if len(got) == 2:
                        two.set()
            except asyncio.CancelledError:
                at_cancel.append(list(probe.cleaned))
                raise

        task = asyncio.create_task(consumer())
        await two.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return got, await stored_events(runner), task.cancelled()

    got, stored, cancelled = asyncio.run(main())
    assert cancelled
    assert [["s1"]] == at_cancel
    assert ["e0", "e1"] == texts(got)
    assert got == stored[1:]
    assert 0 == plugin.after_runs
    assert_no_guest_left()


@pytest.mark.parametrize("kind", ["asyncio.timeout", "asyncio.wait_for"])
def test_asyncio_deadline_around_the_consumer_cancels_and_waits(kind: str) -> None:
    """A 1 s ``asyncio.timeout`` / ``asyncio.wait_for`` around the consumer while the
    agent works for 10 s after its two events: the run is cancelled, the agent's 0.2 s
    cleanup finished before the CancelledError reached the consumer's code, the caller gets
    TimeoutError, and the session holds exactly the received events.  (The deadline leaves
    the two events a second to arrive, so a slow machine cannot make it fire first.)"""
    probe = Probe()
    plugin = RunLog()
    at_cancel: list[list[str]] = []

    async def main() -> tuple[list[Event], list[Event], type[BaseException] | None, float]:
        runner = await make_runner(
            Worker(name="worker", probe=probe, count=2, tail=10.0), plugins=[plugin])
        got: list[Event] = []

        async def consume() -> None:
            try:
                async for event in start(runner):
                    got.append(event)
            except asyncio.CancelledError:
                at_cancel.append(list(probe.cleaned))
                raise

        loop = asyncio.get_running_loop()
        began = loop.time()
        raised: type[BaseException] | None = None
        try:
            if kind == "asyncio.timeout":
                async with asyncio.timeout(1.0):
                    await consume()
            else:
                await asyncio.wait_for(consume(), timeout=1.0)
        except BaseException as exc:  # the type is what is checked
            raised = type(exc)
        return got, await stored_events(runner), raised, loop.time() - began

    got, stored, raised, elapsed = asyncio.run(main())
    assert TimeoutError is raised
    assert [["s1"]] == at_cancel
    assert elapsed >= 1.2  # 1 s deadline + 0.2 s cleanup awaited
    assert ["e0", "e1"] == texts(got)
    assert got == stored[1:]
    assert 0 == plugin.after_runs
    assert_no_guest_left()


def test_deadline_firing_in_the_loop_body_under_aclosing_waits_for_cleanup() -> None:
    """An ``asyncio.timeout`` that fires while the consumer is busy in its loop body (not
    waiting on the stream), with the stream under ``aclosing``: leaving the ``async
    with`` closes the stream, which cancels the run and waits for its cleanup, so the
    cleanup has finished when TimeoutError reaches the caller; the session holds exactly
    the received event."""
    probe = Probe()

    async def main() -> tuple[list[Event], list[str], type[BaseException] | None,
                              list[Event]]:
        runner = await make_runner(Worker(name="worker", probe=probe, count=3))
        got: list[Event] = []
        raised: type[BaseException] | None = None
        try:
            async with asyncio.timeout(2.0), aclosing(start(runner)) as events:
                async for event in events:
                    got.append(event)
                    await asyncio.sleep(10)
        except BaseException as exc:  # the type is what is checked
            raised = type(exc)
        return got, list(probe.cleaned), raised, await stored_events(runner)

    got, cleaned_at_timeout, raised, stored = asyncio.run(main())
    assert TimeoutError is raised
    assert ["s1"] == cleaned_at_timeout
    assert ["e0"] == texts(got)
    assert got == stored[1:]
    assert_no_guest_left()


def test_works_with_asyncio_debug_mode() -> None:
    """Under ``asyncio.run(..., debug=True)`` (which checks that non-thread-safe loop
    calls come from the loop's thread) a run, a cancellation and a close all work."""
    probe = Probe()

    async def main() -> tuple[list[str], list[str], type[BaseException] | None]:
        runner = await make_runner(Worker(name="worker", probe=probe, count=2, tail=10.0,
                                          cleanup=0.01))
        got: list[Event] = []
        raised: type[BaseException] | None = None
        try:
            async with asyncio.timeout(1.0):  # the events have a second to arrive
                async for event in start(runner):
                    got.append(event)
        except BaseException as exc:  # the type is what is checked
            raised = type(exc)
        await runner.close()
        return texts(got), list(probe.cleaned), raised

    assert (["e0", "e1"], ["s1"], TimeoutError) == asyncio.run(main(), debug=True)
    assert_no_guest_left()


class _AppendHook(InMemorySessionService):
    """An in-memory session service that calls ``on_append(event)`` before storing."""

    def __init__(self) -> None:
        super().__init__()
        self.on_append: Any = None

    async def append_event(self, session: Any, event: Event) -> Event:
        if self.on_append is not None:
            self.on_append(event)
        return await super().append_event(session, event)


def test_cancel_landing_in_the_same_loop_step_as_a_hand_over_loses_no_event() -> None:
    """A cancellation of the consumer task that lands in the same event-loop step in which
    an event was handed over (here: a callback scheduled with ``call_soon`` while the
    event is being stored, as an ``asyncio.timeout`` timer due in that step would): the
    session must still hold exactly the events the consumer received."""
    probe = Probe()

    async def main() -> tuple[list[Event], list[Event]]:
        service = _AppendHook()
        await service.create_session(app_name=APP, user_id=USER, session_id="s1")
        runner = Runner(app_name=APP, session_service=service,
                        agent=Worker(name="worker", probe=probe, count=3, gap=0.01,
                                     tail=10.0))
        loop = asyncio.get_running_loop()
        got: list[Event] = []

        async def consumer() -> None:
            async for event in start(runner):
                got.append(event)

        task = asyncio.create_task(consumer())

        def on_append(event: Event) -> None:
            if texts([event]) == ["e1"]:
                loop.call_soon(task.cancel)

        service.on_append = on_append
        with pytest.raises(asyncio.CancelledError):
            await task
        return got, await stored_events(runner)

    got, stored = asyncio.run(main())
    assert ["s1"] == probe.cleaned
    assert texts(stored[1:]) == texts(got)
    assert_no_guest_left()


def test_break_under_aclosing_waits_for_cleanup_and_runs_after_run() -> None:
    """``break`` inside ``contextlib.aclosing``: when the ``async with`` exits the agent's
    shielded cleanup has finished, after_run_callback ran, nothing beyond the received
    events was stored."""
    probe = Probe()
    plugin = RunLog()

    async def main() -> tuple[list[Event], list[str], int, list[Event]]:
        runner = await make_runner(
            Worker(name="worker", probe=probe, count=10, gap=0.01), plugins=[plugin])
        got: list[Event] = []
        async with aclosing(start(runner)) as events:
            async for event in events:
                got.append(event)
                if len(got) == 2:
                    break
        cleaned_at_exit = list(probe.cleaned)
        after_runs_at_exit = plugin.after_runs
        return got, cleaned_at_exit, after_runs_at_exit, await stored_events(runner)

    got, cleaned_at_exit, after_runs_at_exit, stored = asyncio.run(main())
    assert ["s1"] == cleaned_at_exit
    assert 1 == after_runs_at_exit
    assert ["e0", "e1"] == texts(got)
    assert got == stored[1:]
    assert_no_guest_left()


def test_bare_break_is_cleaned_up_soon_by_the_asyncgen_finalizer() -> None:
    """``break`` without aclosing: once the abandoned stream is garbage collected,
    asyncio's async-generator finalizer closes it, which cancels the run within moments
    (nobody waits for its 0.2 s cleanup); the cleanup then finishes, after_run runs (the
    consumer left early) and nothing beyond the received event is stored."""
    probe = Probe()
    plugin = RunLog()

    async def main() -> tuple[list[Event], list[str], list[Event]]:
        runner = await make_runner(
            Worker(name="worker", probe=probe, count=10, gap=0.01), plugins=[plugin])
        got: list[Event] = []
        gen = start(runner)
        async for event in gen:
            got.append(event)
            break
        del gen
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)
        # The cancellation crosses guest ticks (and trio's I/O thread): give it a moment,
        # far less than the agent's 0.2 s cleanup.
        await wait_until(lambda: probe.cancelled, limit=0.1)
        cleaned_when_cancelled = list(probe.cleaned)
        await wait_until(lambda: not list(ACTIVE_RUNS))
        return got, cleaned_when_cancelled, await stored_events(runner)

    got, cleaned_when_cancelled, stored = asyncio.run(main())
    assert ["s1"] == probe.cancelled
    assert [] == cleaned_when_cancelled  # nobody waited for the cleanup
    assert ["s1"] == probe.cleaned
    assert 1 == plugin.after_runs
    assert ["e0"] == texts(got)
    assert got == stored[1:]
    assert_no_guest_left()


# ---- Runner.close() from asyncio ------------------------------------------------------------


def test_close_from_asyncio_cancels_five_runs_and_waits() -> None:
    """``await runner.close()`` from asyncio with five runs in flight (five asyncio
    tasks): it returns only after every run's cleanup finished; each consumer ends with
    RunnerClosedError after the event it received, which is the one stored."""
    probe = Probe()
    ids = [f"s{i}" for i in range(1, 6)]

    async def main() -> tuple[list[str], list[type[BaseException] | None],
                              dict[str, list[Event]], dict[str, list[Event]]]:
        runner = await make_runner(Worker(name="worker", probe=probe, count=1, tail=10.0),
                                   auto_create_session=True)
        received: dict[str, list[Event]] = {sid: [] for sid in ids}
        all_started = asyncio.Event()

        async def consumer(session_id: str) -> None:
            async for event in start(runner, session_id):
                received[session_id].append(event)
                if all(received.values()):
                    all_started.set()

        tasks = [asyncio.create_task(consumer(sid)) for sid in ids]
        await all_started.wait()
        await runner.close()
        cleaned_at_return = sorted(probe.cleaned)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        outcomes = [None if r is None else type(r) for r in results]
        stored = {sid: (await stored_events(runner, sid))[1:] for sid in ids}
        return cleaned_at_return, outcomes, received, stored

    cleaned_at_return, outcomes, received, stored = asyncio.run(main())
    assert ids == cleaned_at_return
    assert [RunnerClosedError] * 5 == outcomes
    assert {sid: ["e0"] for sid in ids} == {sid: texts(e) for sid, e in received.items()}
    assert received == stored
    assert_no_guest_left()


def test_async_with_runner_under_asyncio_closes_on_exit() -> None:
    """Leaving ``async with runner:`` under asyncio closes the runner: the run in flight
    is cancelled and its cleanup awaited before the block exits, plugins are closed, the
    consumer gets RunnerClosedError and new runs are refused."""
    probe = Probe()
    plugin = RunLog()

    async def main() -> tuple[bool, list[str], int, type[BaseException] | None,
                              type[BaseException] | None]:
        runner = await make_runner(Worker(name="worker", probe=probe, count=1, tail=10.0),
                                   plugins=[plugin])
        first = asyncio.Event()

        async def consumer() -> None:
            async for _ in start(runner):
                first.set()

        async with runner as entered:
            assert runner is entered
            task = asyncio.create_task(consumer())
            await first.wait()
        closed, cleaned, closes = runner.closed, list(probe.cleaned), plugin.closes
        outcome = (await asyncio.gather(task, return_exceptions=True))[0]
        refused: type[BaseException] | None = None
        try:
            async for _ in start(runner):
                pass  # pragma: no cover
        except RunnerClosedError as exc:
            refused = type(exc)
        return closed, cleaned, closes, type(outcome), refused

    closed, cleaned, closes, outcome, refused = asyncio.run(main())
    assert closed
    assert ["s1"] == cleaned
    assert 1 == closes
    assert RunnerClosedError is outcome
    assert RunnerClosedError is refused
    assert_no_guest_left()


def test_run_batch_async_awaited_from_asyncio() -> None:
    """``await runner.run_batch_async(...)`` from asyncio runs every request (in the
    loop's trio guest) and returns the results in request order."""

    async def main() -> tuple[list[bool], list[str], list[list[str]]]:
        model = ScriptedModel(replies=[text("pong", delay=0.01)], repeat=True)
        runner = await make_runner(Agent(name="bot", model=model), auto_create_session=True)
        results = await runner.run_batch_async(
            [(USER, f"s{i}", f"ping {i}") for i in range(4)], max_concurrency=2)
        finals = []
        for result in results:
            assert result.final_response is not None
            finals.extend(texts([result.final_response]))
        stored = [texts(await stored_events(runner, f"s{i}")) for i in range(4)]
        return [r.ok for r in results], finals, stored

    oks, finals, stored = asyncio.run(main())
    assert [True] * 4 == oks
    assert ["pong"] * 4 == finals
    assert [[f"ping {i}", "pong"] for i in range(4)] == stored
    assert_no_guest_left()


# ---- many callers, one guest ---------------------------------------------------------------


def test_fifty_concurrent_asyncio_tasks_share_one_guest_run() -> None:
    """50 asyncio tasks on one loop, each iterating its own run at the same time: all
    complete, they all use one guest portal (in flight together), ``in_trio_run()`` is
    true meanwhile; after ``asyncio.run`` returns no trio run is left on the thread."""

    async def main() -> tuple[dict[str, list[str]], set[int], set[bool], int]:
        loop = asyncio.get_running_loop()
        runner = await make_runner(Worker(name="worker", count=2, gap=0.05),
                                   auto_create_session=True)
        results: dict[str, list[str]] = {}
        portals: set[int] = set()
        in_run: set[bool] = set()
        users: list[int] = []

        async def one(session_id: str) -> None:
            got: list[Event] = []
            async for event in start(runner, session_id):
                got.append(event)
                portal = _asyncio_guest._portals[loop]
                portals.add(id(portal))
                users.append(portal.users)
                in_run.add(trio.lowlevel.in_trio_run())
            results[session_id] = texts(got)

        await asyncio.gather(*(one(f"s{i}") for i in range(50)))
        return results, portals, in_run, max(users)

    results, portals, in_run, most_users = asyncio.run(main())
    assert {f"s{i}": ["e0", "e1"] for i in range(50)} == results
    assert 1 == len(portals)
    assert {True} == in_run
    assert 50 == most_users
    assert_no_guest_left()


def test_three_threads_each_with_asyncio_run_get_independent_guests() -> None:
    """Three threads each running ``asyncio.run`` with a run, all three runs in flight at
    once (a barrier inside the agent): three independent guest runs, all succeed."""
    barrier = threading.Barrier(3)
    tokens: dict[int, Any] = {}
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    class Meets(BaseAgent):
        async def _run_async_impl(  # type: ignore[override]
            self, ctx: InvocationContext
        ) -> AsyncGenerator[Event, None]:
            # User code runs on this thread's asyncio loop, beside its own guest run.
            tokens[threading.get_ident()] = _asyncio_guest._portals[asyncio.get_running_loop()]
            await asyncio.to_thread(barrier.wait, 5.0)
            yield Event(author=self.name, invocation_id=ctx.invocation_id,
                        content=model_text("met"))

    async def main() -> list[str]:
        runner = await make_runner(Meets(name="meets"))
        return texts(await run_text(runner, "go"))

    def thread_main() -> None:
        try:
            results[threading.get_ident()] = asyncio.run(main())
            assert not trio.lowlevel.in_trio_run()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=thread_main, name=f"asyncio-{i}") for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [] == errors
    assert [["met"]] * 3 == list(results.values())
    assert 3 == len({id(token) for token in tokens.values()})
    assert set(results) == set(tokens)
    assert_no_guest_left()


def test_guest_lingers_between_runs_and_stops_when_idle(monkeypatch: Any) -> None:
    """Two back-to-back runs on one loop reuse the same guest portal; once idle for
    ``IDLE_LINGER`` (patched to 0.05 s) the guest run stops while the loop keeps running,
    and the next run starts a new one."""
    monkeypatch.setattr(_asyncio_guest, "IDLE_LINGER", 0.05)

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        runner = await make_runner(Worker(name="worker", count=1))
        await run_text(runner, "one")
        first = _asyncio_guest._portals[loop]
        await run_text(runner, "two")
        second = _asyncio_guest._portals[loop]
        lingering = not first.done.done() and trio.lowlevel.in_trio_run()
        await wait_until(first.done.done)
        in_run_when_idle = trio.lowlevel.in_trio_run()
        third_texts = texts(await run_text(runner, "three"))
        third = _asyncio_guest._portals[loop]
        return {"same": first is second, "lingering": lingering,
                "in_run_when_idle": in_run_when_idle, "new": third is not first,
                "third": third_texts}

    assert {"same": True, "lingering": True, "in_run_when_idle": False, "new": True,
            "third": ["e0"]} == asyncio.run(main())
    assert_no_guest_left()


def test_asyncio_run_shutdown_cleans_up_an_abandoned_run() -> None:
    """A task still iterating a run when ``main()`` returns (created, never awaited):
    ``asyncio.run``'s shutdown cancels it, the run's cleanup runs to the end, no run is
    left, and the thread has no trio run afterwards."""
    probe = Probe()
    leftover: list[asyncio.Task[None]] = []

    async def main() -> None:
        runner = await make_runner(Worker(name="worker", probe=probe, count=1, tail=10.0))
        first = asyncio.Event()

        async def consumer() -> None:
            async for _ in start(runner):
                first.set()

        leftover.append(asyncio.create_task(consumer()))
        await first.wait()

    asyncio.run(main())
    assert ["s1"] == probe.cleaned
    assert leftover[0].cancelled()
    assert_no_guest_left()


# ---- context and deadlines -----------------------------------------------------------------

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID")


async def read_async(tool_context: ToolContext) -> str:
    """Report the request id (async tool)."""
    return REQUEST_ID.get("<unset>")


def read_sync() -> str:
    """Report the request id (sync tool, runs in a worker thread)."""
    return REQUEST_ID.get("<unset>")


def test_caller_contextvars_are_visible_in_tools() -> None:
    """A contextvar set by the asyncio caller is seen inside async and sync tools."""

    async def main() -> dict[str, Any]:
        model = ScriptedModel(replies=[function_calls(("read_async", {}), ("read_sync", {})),
                                       "done"])
        runner = await make_runner(Agent(name="llm", model=model,
                                         tools=[read_async, read_sync]))
        REQUEST_ID.set("req-42")
        events = await run_text(runner, "go")
        responses = [r for e in events for r in e.get_function_responses()]
        return {r.name: r.response for r in responses}

    assert {"read_async": {"result": "req-42"}, "read_sync": {"result": "req-42"}} == \
        asyncio.run(main())
    assert_no_guest_left()


@pytest.mark.parametrize("kind", ["run timeout", "model_call_timeout"])
def test_trio_side_deadline_ends_the_asyncio_consumer_with_timeout_error(kind: str) -> None:
    """A deadline inside the run (``timeout=`` on run_async, or
    ``RunConfig.model_call_timeout``) ends the asyncio consumer's loop with the built-in
    TimeoutError after the events before it; the session holds what was received."""
    probe = Probe()

    async def main() -> tuple[list[Event], BaseException | None, list[Event]]:
        if kind == "run timeout":
            runner = await make_runner(
                Worker(name="worker", probe=probe, count=1, tail=10.0, cleanup=0.05))
            kwargs: dict[str, Any] = {"timeout": 0.1}
        else:
            model = ScriptedModel(replies=[text("late", delay=10.0)])
            runner = await make_runner(Agent(name="worker", model=model))
            kwargs = {"run_config": RunConfig(model_call_timeout=0.1)}
        got: list[Event] = []
        caught: BaseException | None = None
        try:
            async for event in start(runner, **kwargs):
                got.append(event)
        except BaseException as exc:  # the type is what is checked
            caught = exc
        return got, caught, await stored_events(runner)

    got, caught, stored = asyncio.run(main())
    assert TimeoutError is type(caught)
    if kind == "run timeout":
        assert ["e0"] == texts(got)
        assert ["s1"] == probe.cleaned
    else:
        assert [] == got
    assert got == stored[1:]
    assert_no_guest_left()


# ---- the same contract on both anyio backends --------------------------------------------


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each anyio-marked test once on asyncio and once on trio."""
    return str(request.param)


@pytest.mark.anyio
async def test_anyio_run_async_works(anyio_backend: str) -> None:
    """``run_async`` under anyio yields the agent's events and stores them, on either
    backend (the test really runs on the backend it names)."""
    assert anyio_backend == sniffio.current_async_library()
    runner = await make_runner(Worker(name="worker", count=3))
    got = await run_text(runner, "go")
    assert ["e0", "e1", "e2"] == texts(got)
    assert got == (await stored_events(runner))[1:]
    assert [] == list(ACTIVE_RUNS)


@pytest.mark.anyio
async def test_anyio_move_on_after_cancels_the_run_and_waits(anyio_backend: str) -> None:
    """``anyio.move_on_after`` around the consumer cancels the run; its shielded cleanup
    has finished when the scope exits; the session holds exactly the received events."""
    assert anyio_backend == sniffio.current_async_library()
    probe = Probe()
    runner = await make_runner(
        Worker(name="worker", probe=probe, count=1, tail=10.0, cleanup=0.1))
    got: list[Event] = []
    with anyio.move_on_after(0.05) as scope:
        async for event in start(runner):
            got.append(event)
    assert scope.cancelled_caught
    assert ["s1"] == probe.cleaned
    assert ["e0"] == texts(got)
    assert got == (await stored_events(runner))[1:]
    assert [] == list(ACTIVE_RUNS)


@pytest.mark.anyio
async def test_anyio_task_group_cancel_cancels_the_run_and_waits(anyio_backend: str) -> None:
    """Cancelling an anyio task group whose task iterates a run: the run is cancelled and
    its cleanup has finished when the task group exits."""
    assert anyio_backend == sniffio.current_async_library()
    probe = Probe()
    runner = await make_runner(
        Worker(name="worker", probe=probe, count=1, tail=10.0, cleanup=0.1))
    got: list[Event] = []
    first = anyio.Event()

    async def consumer() -> None:
        async for event in start(runner):
            got.append(event)
            first.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(consumer)
        await first.wait()
        tg.cancel_scope.cancel()
    assert ["s1"] == probe.cleaned
    assert ["e0"] == texts(got)
    assert got == (await stored_events(runner))[1:]
    assert [] == list(ACTIVE_RUNS)
