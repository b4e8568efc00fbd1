"""Resuming invocations: answers to long-running calls and confirmations continue the
invocation that made the calls; ``invocation_id=`` resumes or retries one; in a
resumable App, interrupted tool rounds are completed and pending long-running calls keep
the invocation paused (partial answers to parallel calls included, adk-python #7108)."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import logging
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
import trio
from google.genai import types

from helpers import collect, user_text
from trio_adk import Agent, Runner
from trio_adk.apps import App, ResumabilityConfig
from trio_adk.events import Event
from trio_adk.sessions import InMemorySessionService, SqliteSessionService
from trio_adk.sessions._base import BaseSessionService
from trio_adk.testing import ScriptedModel, function_call, function_calls
from trio_adk.tools import FunctionTool, LongRunningFunctionTool, ToolContext

APP = "resumable"
USER = "u"
SESSION = "s"


def answer(call: types.FunctionCall, response: dict[str, Any]) -> types.Content:
    """The client's function response to ``call``."""
    return types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
        id=call.id, name=call.name, response=response))])


def said(events: list[Event]) -> list[str]:
    """The texts of the events that carry text (the end-of-agent marker has none)."""
    return [p.text for e in events if e.content for p in e.content.parts or () if p.text]


def calls_of(events: list[Event]) -> list[types.FunctionCall]:
    return [c for e in events for c in e.get_function_calls()]


class Ledger:
    """Tools that write down every execution (call id, tool, args)."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, str]] = []

    def ticket(self, purpose: str, tool_context: ToolContext) -> None:
        """Opens an approval ticket; the answer comes later."""
        self.runs.append(("ticket", tool_context.function_call_id or ""))

    def pay(self, amount: int, tool_context: ToolContext) -> dict[str, Any]:
        """Pays an amount."""
        self.runs.append(("pay", tool_context.function_call_id or ""))
        return {"paid": amount}


def app_of(model: ScriptedModel, ledger: Ledger, *, resumable: bool = True) -> App:
    agent = Agent(name="root", model=model,
                  tools=[LongRunningFunctionTool(ledger.ticket), FunctionTool(ledger.pay)])
    config = ResumabilityConfig(is_resumable=resumable)
    return App(name=APP, root_agent=agent, resumability_config=config)


async def running(app: App) -> tuple[Runner, InMemorySessionService]:
    """A runner of ``app`` over a fresh in-memory service holding the test's session."""
    service = InMemorySessionService()
    await started(service)
    return Runner(app=app, session_service=service), service


async def started(service: BaseSessionService) -> None:
    await service.create_session(app_name=APP, user_id=USER, session_id=SESSION)


async def stored(service: BaseSessionService) -> list[Event]:
    session = await service.get_session(app_name=APP, user_id=USER, session_id=SESSION)
    assert session is not None
    return session.events


async def test_an_answer_to_a_long_running_call_continues_its_invocation() -> None:
    ledger = Ledger()
    model = ScriptedModel(replies=[function_call("ticket", {"purpose": "travel"}), "approved"])
    runner, service = await running(app_of(model, ledger))
    first = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                           new_message=user_text("reimburse me")))
    [call] = calls_of(first)
    assert [call.id] == list(first[-1].long_running_tool_ids or ())
    paused = first[-1].invocation_id

    second = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                            new_message=answer(call, {"status": "ok"})))

    assert ["approved"] == [e.content.parts[0].text for e in second if e.content]
    assert {paused} == {e.invocation_id for e in await stored(service)}
    assert [("ticket", call.id)] == ledger.runs
    history = model.requests[-1].contents
    assert {"status": "ok"} == history[-1].parts[0].function_response.response
    await runner.close()


async def test_partial_answers_to_parallel_long_running_calls_wait_for_the_rest() -> None:
    """adk-python #7108: with two long-running calls pending, answering one keeps the
    invocation paused; the model runs once both answers are stored, and sees both."""
    ledger = Ledger()
    model = ScriptedModel(replies=[
        function_calls(("ticket", {"purpose": "a"}), ("ticket", {"purpose": "b"})), "both"])
    runner, _service = await running(app_of(model, ledger))
    first = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                           new_message=user_text("two tickets")))
    a, b = calls_of(first)

    partial = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                             new_message=answer(a, {"ok": "a"})))
    assert ([], 1) == (partial, model.calls)
    rest = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                          new_message=answer(b, {"ok": "b"})))

    assert ["both"] == [e.content.parts[0].text for e in rest if e.content]
    responses = [p.function_response.response for p in model.requests[-1].contents[-1].parts]
    assert [{"ok": "a"}, {"ok": "b"}] == responses
    assert 2 == len(ledger.runs)
    await runner.close()


async def test_outside_a_resumable_app_a_partial_answer_goes_to_the_model() -> None:
    """ADK's behaviour without resumability: each answer is a turn of its own."""
    ledger = Ledger()
    model = ScriptedModel(replies=[
        function_calls(("ticket", {"purpose": "a"}), ("ticket", {"purpose": "b"})), "one in",
        "both in"])
    runner, _service = await running(app_of(model, ledger, resumable=False))
    first = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                           new_message=user_text("two tickets")))
    a, _ = calls_of(first)
    partial = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                             new_message=answer(a, {"ok": "a"})))
    assert ["one in"] == [e.content.parts[0].text for e in partial if e.content]
    assert {first[0].invocation_id} == {e.invocation_id for e in partial}
    await runner.close()


async def test_resuming_by_id_completes_an_interrupted_tool_round() -> None:
    """A consumer that left right after the model's call event: the call has no stored
    response; resuming by invocation id runs it, then asks the model."""
    ledger = Ledger()
    model = ScriptedModel(replies=[function_call("pay", {"amount": 5}), "paid"])
    runner, service = await running(app_of(model, ledger))
    async with aclosing(runner.run_async(user_id=USER, session_id=SESSION,
                                        new_message=user_text("pay 5"))) as events:
        call_event = await anext(events)
    assert [] == ledger.runs and call_event.get_function_calls()
    invocation = call_event.invocation_id

    resumed = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                             invocation_id=invocation))

    [call] = call_event.get_function_calls()
    assert [("pay", call.id)] == ledger.runs
    assert [{"paid": 5}] == [r.response for e in resumed for r in e.get_function_responses()]
    assert "paid" == said(resumed)[-1]
    assert {invocation} == {e.invocation_id for e in await stored(service)}
    # The user's message was not stored again: one user event in the session.
    assert 1 == sum(e.author == "user" for e in await stored(service))
    await runner.close()


async def test_a_stored_response_is_never_produced_again() -> None:
    """Resuming after the tool's response was stored (the model call then failed)
    asks the model again without running the tool again."""
    ledger = Ledger()
    model = ScriptedModel(replies=[function_call("pay", {"amount": 5}),
                                   RuntimeError("model down"), "paid"])
    runner, service = await running(app_of(model, ledger))
    with pytest.raises(RuntimeError, match="model down"):
        await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                       new_message=user_text("pay 5")))
    invocation = (await stored(service))[0].invocation_id

    resumed = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                             invocation_id=invocation))

    assert ["paid"] == [e.content.parts[0].text for e in resumed if e.content]
    assert 1 == len(ledger.runs)
    await runner.close()


async def test_a_paused_long_running_call_stays_paused_when_resumed_without_answer() -> None:
    ledger = Ledger()
    model = ScriptedModel(replies=[function_call("ticket", {"purpose": "x"}), "never"])
    runner, _service = await running(app_of(model, ledger))
    first = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                           new_message=user_text("ticket")))
    # A pending call with a later event stored (a state change): still waiting.
    again = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                           invocation_id=first[0].invocation_id,
                                           state_delta={"seen": True}))
    assert ([], 1, 1) == (again, model.calls, len(ledger.runs))
    await runner.close()


async def test_a_finished_invocation_resumed_by_id_runs_nothing() -> None:
    model = ScriptedModel(replies=["done"])
    runner, _service = await running(app_of(model, Ledger()))
    first = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                           new_message=user_text("hi")))
    again = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                           invocation_id=first[0].invocation_id))
    assert ([], 1) == (again, model.calls)
    await runner.close()


async def test_a_retry_by_id_reuses_the_invocations_own_message() -> None:
    """invocation_id with a text message of an invocation that exists: the original
    message runs again and the new one is not stored (ADK's retry)."""
    model = ScriptedModel(replies=[RuntimeError("flaky"), "second try"])
    runner, service = await running(app_of(model, Ledger(), resumable=False))
    with pytest.raises(RuntimeError, match="flaky"):
        await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                       new_message=user_text("original")))
    invocation = (await stored(service))[0].invocation_id

    retried = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                             invocation_id=invocation,
                                             new_message=user_text("ignored")))

    assert ["second try"] == [e.content.parts[0].text for e in retried if e.content]
    assert ["original"] == [e.content.parts[0].text for e in await stored(service)
                            if e.author == "user"]
    assert "original" == model.requests[-1].contents[0].parts[0].text
    await runner.close()


async def test_a_new_invocation_id_with_a_message_starts_that_invocation() -> None:
    model = ScriptedModel(replies=["hello"])
    runner, service = await running(app_of(model, Ledger()))
    events = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                            invocation_id="e-chosen",
                                            new_message=user_text("hi")))
    assert {"e-chosen"} == {e.invocation_id for e in await stored(service)}
    assert "hello" == said(events)[-1]
    await runner.close()


@pytest.mark.parametrize(("message", "invocation_id", "error"), [
    (answer(types.FunctionCall(id="nope", name="ticket"), {}), None,
     r"Function call not found for function response ids: \['nope'\]"),
    (None, "e-unknown", r"No invocation 'e-unknown' in session 's': there is nothing to "
                        r"resume"),
])
async def test_resuming_what_the_session_lacks_is_an_error_and_stores_nothing(
        message: types.Content | None, invocation_id: str | None, error: str) -> None:
    model = ScriptedModel(replies=[])
    runner, service = await running(app_of(model, Ledger()))
    with pytest.raises(ValueError, match=error):
        await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                       invocation_id=invocation_id, new_message=message))
    assert [] == await stored(service)
    await runner.close()


async def test_answers_to_two_invocations_in_one_message_are_refused() -> None:
    ledger = Ledger()
    model = ScriptedModel(replies=[function_call("ticket", {"purpose": "a"}),
                                   function_call("ticket", {"purpose": "b"})])
    runner, _service = await running(app_of(model, ledger, resumable=False))
    [a] = calls_of(await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                                  new_message=user_text("a"))))
    [b] = calls_of(await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                                  new_message=user_text("b"))))
    both = types.Content(role="user", parts=[*answer(a, {}).parts, *answer(b, {}).parts])
    with pytest.raises(ValueError, match="Function responses resolve to multiple invocations"):
        await collect(runner.run_async(user_id=USER, session_id=SESSION, new_message=both))
    await runner.close()


def test_bad_resume_messages_are_refused_when_the_run_is_asked_for() -> None:
    runner = Runner(app=app_of(ScriptedModel(replies=[]), Ledger()),
                    session_service=InMemorySessionService())
    mixed = types.Content(role="user", parts=[
        types.Part(text="and also"),
        types.Part(function_response=types.FunctionResponse(id="x", name="t", response={}))])
    with pytest.raises(ValueError, match="cannot contain both function responses and text"):
        runner.run_async(user_id=USER, session_id=SESSION, new_message=mixed)
    no_id = types.Content(role="user", parts=[
        types.Part(function_response=types.FunctionResponse(name="t", response={}))])
    with pytest.raises(ValueError, match="Function response id is required"):
        runner.run_async(user_id=USER, session_id=SESSION, new_message=no_id,
                         invocation_id="e-1")
    with pytest.raises(ValueError, match="invocation_id"):
        runner.run_async(user_id=USER, session_id=SESSION, invocation_id=" e-1")
    with pytest.raises(TypeError, match=r"invocation_id= .* belongs to the ADK form"):
        runner.run_async(Agent(name="a", model=ScriptedModel(replies=[])), "hi",
                         invocation_id="e-1")  # type: ignore[call-overload]


async def test_a_caller_invocation_id_loses_to_the_answered_calls(
        caplog: pytest.LogCaptureFixture) -> None:
    ledger = Ledger()
    model = ScriptedModel(replies=[function_call("ticket", {"purpose": "x"}), "ok"])
    runner, service = await running(app_of(model, ledger))
    [call] = calls_of(await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                                     new_message=user_text("t"))))
    with caplog.at_level(logging.WARNING, logger="trio_adk"):
        events = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                                invocation_id="e-other",
                                                new_message=answer(call, {"ok": 1})))
    assert "invocation_id e-other is ignored" in caplog.text
    assert {(await stored(service))[0].invocation_id} == {e.invocation_id for e in events}
    await runner.close()


async def test_a_paused_invocation_resumes_in_another_process_through_sqlite(
        tmp_path: Path) -> None:
    """Pause with one runner and service, answer with fresh ones on the same file (what
    another process does): the answer continues the stored invocation."""
    url = f"sqlite:///{tmp_path / 'hitl.db'}"
    ledger = Ledger()
    first_model = ScriptedModel(replies=[function_call("ticket", {"purpose": "x"})])
    first_runner = Runner(app=app_of(first_model, ledger), session_service=url)
    await started(first_runner.session_service)
    [call] = calls_of(await collect(first_runner.run_async(
        user_id=USER, session_id=SESSION, new_message=user_text("t"))))
    await first_runner.close()

    second_model = ScriptedModel(replies=["approved"])
    second_runner = Runner(app=app_of(second_model, ledger), session_service=url)
    events = await collect(second_runner.run_async(user_id=USER, session_id=SESSION,
                                                   new_message=answer(call, {"ok": True})))
    assert "approved" == said(events)[-1]
    assert 1 == len({e.invocation_id for e in await stored(second_runner.session_service)})
    history = second_model.requests[0].contents
    assert ["t", None, None] == [c.parts[0].text for c in history]
    await second_runner.close()


async def test_resuming_works_from_the_sync_and_asyncio_callers(tmp_path: Path) -> None:
    """``runner.run(..., invocation_id=...)`` from plain code resumes too."""
    ledger = Ledger()
    model = ScriptedModel(replies=[function_call("pay", {"amount": 1}), "done"])
    service = SqliteSessionService(str(tmp_path / "s.db"))
    await started(service)
    runner = Runner(app=app_of(model, ledger), session_service=service)
    async with aclosing(runner.run_async(user_id=USER, session_id=SESSION,
                                        new_message=user_text("pay"))) as events:
        invocation = (await anext(events)).invocation_id

    def resume() -> list[Event]:
        return list(runner.run(user_id=USER, session_id=SESSION, invocation_id=invocation))

    resumed = await trio.to_thread.run_sync(resume)
    assert "done" == said(resumed)[-1] and 1 == len(ledger.runs)
    await runner.close()


async def test_the_api_servers_run_route_resumes_by_invocation_id() -> None:
    """``POST /run`` with ``invocationId`` and the answer continues the paused
    invocation; a body with ``invocationId`` alone (adk-python #4100) is accepted."""
    from test_server_support import running

    ledger = Ledger()
    model = ScriptedModel(replies=[function_call("ticket", {"purpose": "x"}), "approved"])
    app = app_of(model, ledger)
    async with running({APP: lambda: app}) as served, served.client() as client:
        base = {"appName": APP, "userId": USER, "sessionId": SESSION}
        await client.post(f"/apps/{APP}/users/{USER}/sessions", json={"sessionId": SESSION})
        first = (await client.post("/run", json={
            **base, "newMessage": {"role": "user", "parts": [{"text": "t"}]}})).json()
        call = first[-1]["content"]["parts"][0]["functionCall"]
        invocation = first[-1]["invocationId"]
        reply = {"role": "user", "parts": [{"functionResponse": {
            "id": call["id"], "name": call["name"], "response": {"ok": True}}}]}
        resumed = await client.post("/run", json={**base, "invocationId": invocation,
                                                  "newMessage": reply})
        assert 200 == resumed.status_code, resumed.text
        events = resumed.json()
        assert "approved" == [e for e in events if "content" in e][-1]["content"]["parts"][0][
            "text"]
        assert {invocation} == {e["invocationId"] for e in events}
        alone = await client.post("/run", json={**base, "invocationId": invocation})
        assert (200, []) == (alone.status_code, alone.json())


async def test_rewind_async_takes_back_invocations_from_state_and_history() -> None:
    """Runner.rewind_async: state as before the invocation, and the next request no
    longer holds the rewound turns; from asyncio callers too."""
    model = ScriptedModel(replies=["one", "two", "three"])
    agent = Agent(name="root", model=model, output_key="last")
    service = InMemorySessionService()
    await started(service)
    runner = Runner(app=App(name=APP, root_agent=agent), session_service=service)
    firsts = []
    for text in ("a", "b"):
        events = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                                new_message=user_text(text)))
        firsts.append(events[0].invocation_id)

    await runner.rewind_async(user_id=USER, session_id=SESSION,
                              rewind_before_invocation_id=firsts[1])

    session = await service.get_session(app_name=APP, user_id=USER, session_id=SESSION)
    assert session is not None and "one" == session.state["last"]
    await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                   new_message=user_text("c")))
    assert ["a", "one", "c"] == [c.parts[0].text for c in model.requests[-1].contents]
    with pytest.raises(ValueError, match="Invocation ID not found: e-nope"):
        await runner.rewind_async(user_id=USER, session_id=SESSION,
                                  rewind_before_invocation_id="e-nope")
    await runner.close()


def test_rewind_async_from_asyncio() -> None:
    import asyncio

    model = ScriptedModel(replies=["one"])
    service = InMemorySessionService()
    runner = Runner(app=App(name=APP, root_agent=Agent(name="root", model=model)),
                    session_service=service)

    async def main() -> list[Event]:
        await service.create_session(app_name=APP, user_id=USER, session_id=SESSION)
        events = [e async for e in runner.run_async(user_id=USER, session_id=SESSION,
                                                    new_message=user_text("a"))]
        await runner.rewind_async(user_id=USER, session_id=SESSION,
                                  rewind_before_invocation_id=events[0].invocation_id)
        session = await service.get_session(app_name=APP, user_id=USER, session_id=SESSION)
        await runner.close()
        assert session is not None
        return session.events

    stored_events = asyncio.run(main())
    assert stored_events[-1].actions.rewind_before_invocation_id


async def test_a_sequence_pauses_on_a_waiting_step_and_resumes_there() -> None:
    """SequentialAgent in a resumable App: a step waiting on a long-running call holds
    back the later steps; the answer resumes that step, then the rest run, and the
    earlier steps do not run again."""
    from trio_adk.agents import SequentialAgent

    ledger = Ledger()
    intro = ScriptedModel(replies=["intro"])
    asker = ScriptedModel(replies=[function_call("ticket", {"purpose": "x"}), "asked"])
    closer = ScriptedModel(replies=["closed"])
    pipeline = SequentialAgent(name="pipeline", sub_agents=[
        Agent(name="intro", model=intro),
        Agent(name="asker", model=asker, tools=[LongRunningFunctionTool(ledger.ticket)]),
        Agent(name="closer", model=closer),
    ])
    service = InMemorySessionService()
    await started(service)
    runner = Runner(app=App(name=APP, root_agent=pipeline,
                            resumability_config=ResumabilityConfig(is_resumable=True)),
                    session_service=service)
    first = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                           new_message=user_text("go")))
    assert (1, 1, 0) == (intro.calls, asker.calls, closer.calls)
    [call] = calls_of(first)

    rest = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                          new_message=answer(call, {"ok": True})))

    assert ["asked", "closed"] == [e.content.parts[0].text for e in rest if e.content]
    assert (1, 2, 1) == (intro.calls, asker.calls, closer.calls)
    assert {first[0].invocation_id} == {e.invocation_id for e in rest}
    await runner.close()


async def test_a_sequence_interrupted_between_steps_resumes_with_the_next_step() -> None:
    from trio_adk.agents import SequentialAgent

    intro = ScriptedModel(replies=["intro"])
    closer = ScriptedModel(replies=["closed"])
    pipeline = SequentialAgent(name="pipeline", sub_agents=[
        Agent(name="intro", model=intro), Agent(name="closer", model=closer)])
    service = InMemorySessionService()
    await started(service)
    runner = Runner(app=App(name=APP, root_agent=pipeline,
                            resumability_config=ResumabilityConfig(is_resumable=True)),
                    session_service=service)
    async with aclosing(runner.run_async(user_id=USER, session_id=SESSION,
                                        new_message=user_text("go"))) as events:
        invocation = (await anext(events)).invocation_id  # intro's reply, then leave

    rest = await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                          invocation_id=invocation))

    assert ["closed"] == [e.content.parts[0].text for e in rest if e.content]
    assert (1, 1) == (intro.calls, closer.calls)
    await runner.close()


class Gate:
    """A tool that waits at a gate, so a test can interrupt it mid-call."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.entered = trio.Event()
        self.release = trio.Event()
        self.hold = True

    async def pay(self, amount: int, tool_context: ToolContext) -> dict[str, Any]:
        """Pays an amount."""
        self.log.append("start")
        self.entered.set()
        try:
            if self.hold:
                await self.release.wait()
        except trio.Cancelled:
            self.log.append("cancelled")
            raise
        self.log.append("done")
        return {"paid": amount}


@pytest.mark.parametrize("response_stored", [False, True])
async def test_a_resume_racing_a_cancellation_never_overlaps_or_repeats_a_stored_call(
        response_stored: bool) -> None:
    """A resume asked for while the interrupted run is still in its tool waits for that
    run to end (the session claim).  If the tool's response got stored, the resume does
    not run the tool again; if not, it runs it once more, after the first run ended."""
    gate = Gate()
    model = ScriptedModel(replies=[function_call("pay", {"amount": 3}), "paid", "paid"])
    agent = Agent(name="root", model=model, tools=[FunctionTool(gate.pay)])
    service = InMemorySessionService()
    await started(service)
    runner = Runner(app=App(name=APP, root_agent=agent,
                            resumability_config=ResumabilityConfig(is_resumable=True)),
                    session_service=service)
    resumed: list[Event] = []
    async with aclosing(runner.run_async(user_id=USER, session_id=SESSION,
                                         new_message=user_text("pay"))) as first:
        invocation = (await anext(first)).invocation_id  # the model's call

        async def resume() -> None:
            resumed.extend(await collect(runner.run_async(
                user_id=USER, session_id=SESSION, invocation_id=invocation)))

        async with trio.open_nursery() as nursery:
            pulling = trio.CancelScope()
            took, pulled = trio.Event(), trio.Event()

            async def pull() -> None:  # the consumer asks for the next event
                try:
                    with pulling:
                        await anext(first)  # the tool's response, stored as it is taken
                        took.set()
                finally:
                    pulled.set()

            nursery.start_soon(pull)
            await gate.entered.wait()  # the first run is inside the tool
            nursery.start_soon(resume)  # queued behind the first run's claim
            await trio.testing.wait_all_tasks_blocked()
            assert ["start"] == gate.log  # the resume has not started the tool
            gate.hold = False
            if response_stored:
                gate.release.set()
                await took.wait()
            else:
                pulling.cancel()  # the consumer leaves while the tool runs
            await pulled.wait()
            await first.aclose()  # the first run ends; the resume goes ahead
    expected = ["start", "done"] if response_stored else ["start", "cancelled", "start", "done"]
    assert expected == gate.log
    assert "paid" == said(resumed)[-1]
    responses = [r.id for e in await stored(service) if e.author != "user"
                 for r in e.get_function_responses()]
    assert 1 == len(responses)
    await runner.close()
