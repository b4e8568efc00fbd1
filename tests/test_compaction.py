"""Event compaction (ADK 2.13's App(events_compaction_config=...)): which events the
sliding window and the token threshold summarize, that nothing still open is ever
summarized, the request built after compaction, failures and cancellation of the
summarizer, and compacted sessions read back from every session store."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import collect, user_text
from pg_fixtures import STORE_KINDS, open_store, pg_database, pg_url  # noqa: F401
from trio_adk import Agent, Runner
from trio_adk.agents import InvocationContext, SequentialAgent
from trio_adk.apps import App, BaseEventsSummarizer, LlmEventSummarizer
from trio_adk.apps._compaction import (
    compaction_after_invocation,
    compaction_before_model_call,
    sliding_window,
    token_window,
)
from trio_adk.apps.app import EventsCompactionConfig
from trio_adk.events import Event, EventActions
from trio_adk.events._tool_confirmation import ToolConfirmation
from trio_adk.flows._contents import history_contents
from trio_adk.models import LlmRequest, LlmResponse
from trio_adk.sessions import BaseSessionService, InMemorySessionService, SqliteSessionService
from trio_adk.testing import FunctionModel, ScriptedModel, error

USER = "compaction_user"
APP = "compaction_app"


# -- building histories ---------------------------------------------------------------


class Clock:
    """Timestamps 1.0, 2.0, ... so ranges are easy to read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def said(author: str, value: str, *, inv: str, ts: float, **kwargs: Any) -> Event:
    role = "user" if author == "user" else "model"
    return Event(author=author, invocation_id=inv, timestamp=ts, id=f"e{ts}",
                 content=types.Content(role=role, parts=[types.Part(text=value)]), **kwargs)


def call(name: str, call_id: str, *, inv: str, ts: float, author: str = "bot",
         long_running: bool = False, args: dict[str, Any] | None = None) -> Event:
    part = types.Part(function_call=types.FunctionCall(name=name, id=call_id,
                                                       args=args or {}))
    return Event(author=author, invocation_id=inv, timestamp=ts, id=f"e{ts}",
                 content=types.Content(role="model", parts=[part]),
                 long_running_tool_ids={call_id} if long_running else None)


def answer(name: str, call_id: str, response: dict[str, Any], *, inv: str, ts: float,
           author: str = "bot", actions: EventActions | None = None) -> Event:
    part = types.Part(function_response=types.FunctionResponse(name=name, id=call_id,
                                                               response=response))
    return Event(author=author, invocation_id=inv, timestamp=ts, id=f"e{ts}",
                 content=types.Content(role="user", parts=[part]),
                 actions=actions or EventActions())


def turn(index: int, clock: Clock) -> list[Event]:
    """Invocation ``inv<index>``: the user says ``m<index>``, the agent ``r<index>``
    (padded, so a summary is always worth writing)."""
    inv = f"inv{index}"
    return [said("user", f"m{index}", inv=inv, ts=clock()),
            said("bot", f"r{index} " + "lorem ipsum " * 10, inv=inv, ts=clock())]


class Recorder(BaseEventsSummarizer):
    """Summarizes with the real LlmEventSummarizer over a scripted model and remembers
    the windows it was given."""

    def __init__(self, replies: list[Any] | None = None) -> None:
        self.model = ScriptedModel(replies=replies or [f"SUMMARY#{i}" for i in range(1, 20)])
        self.inner = LlmEventSummarizer(llm=self.model)
        self.windows: list[list[Event]] = []

    async def maybe_summarize_events(self, *, events: list[Event]) -> Event | None:
        self.windows.append(list(events))
        return await self.inner.maybe_summarize_events(events=events)


async def context(events: list[Event], config: EventsCompactionConfig | None, *,
                  agent: Any = None, service: BaseSessionService | None = None,
                  branch: str | None = None) -> InvocationContext:
    service = service or InMemorySessionService()
    session = await service.create_session(app_name=APP, user_id=USER)
    for event in events:
        await service.append_event(session, event)
    agent = agent or Agent(name="bot", model=ScriptedModel(replies=[]))
    return InvocationContext(session_service=service, session=session, agent=agent,
                             events_compaction_config=config, branch=branch)


def invocations(window: list[Event]) -> list[str]:
    return list(dict.fromkeys(e.invocation_id for e in window))


def request_view(contents: list[types.Content]) -> list[tuple[str | None, str]]:
    view = []
    for content in contents:
        for part in content.parts or ():
            if part.text is not None:
                view.append((content.role, part.text.split(" ")[0]))
            elif part.function_call is not None:
                view.append((content.role, f"call:{part.function_call.id}"))
            elif part.function_response is not None:
                view.append((content.role, f"response:{part.function_response.id}"))
    return view


# -- sliding window -------------------------------------------------------------------


async def test_sliding_window_summarizes_every_interval_with_overlap() -> None:
    clock, summarizer = Clock(), Recorder()
    config = EventsCompactionConfig(compaction_interval=2, overlap_size=1,
                                    summarizer=summarizer)
    ctx = await context([], config)
    covered: dict[int, list[str]] = {}
    for index in range(1, 7):
        for event in turn(index, clock):
            await ctx.session_service.append_event(ctx.session, event)
        summary = await compaction_after_invocation(ctx)
        if summary is not None:
            covered[index] = invocations(summarizer.windows[-1])
            await ctx.session_service.append_event(ctx.session, summary)

    assert {2: ["inv1", "inv2"], 4: ["inv2", "inv3", "inv4"],
            6: ["inv4", "inv5", "inv6"]} == covered
    # The summarizer saw the window's transcript, starting at the overlap.
    prompt = summarizer.model.requests[1].contents[0].parts[0].text  # type: ignore[index]
    assert prompt is not None
    assert "user: m2\nbot: r2 lorem" in prompt
    assert "user: m1" not in prompt


async def test_the_compaction_event_is_stored_as_adk_stores_it() -> None:
    clock = Clock()
    events = [*turn(1, clock), *turn(2, clock)]
    model = ScriptedModel(replies=[LlmResponse(
        content=types.Content(role="assistant", parts=[types.Part(text="S")]),
        usage_metadata=types.GenerateContentResponseUsageMetadata(prompt_token_count=7))])
    ctx = await context(events, EventsCompactionConfig(
        compaction_interval=2, overlap_size=0, summarizer=LlmEventSummarizer(llm=model)))
    summary = await compaction_after_invocation(ctx)

    assert summary is not None
    compaction = summary.actions.compaction
    assert compaction is not None
    assert ("user", None, 1.0, 4.0) == (summary.author, summary.content,
                                        compaction.start_timestamp, compaction.end_timestamp)
    assert types.Content(role="model", parts=[types.Part(text="S")]) == \
        compaction.compacted_content
    assert summary.invocation_id not in {"inv1", "inv2", ""}
    assert not summary.invocation_id.startswith("e-")
    assert summary.usage_metadata is not None
    assert 7 == summary.usage_metadata.prompt_token_count
    assert summary not in ctx.session.events  # returned, not appended
    # The summarizer's request: one user message with the transcript.
    request = model.requests[0]
    assert "scripted" == request.model
    assert 1 == len(request.contents)
    assert "user" == request.contents[0].role


async def test_no_config_no_events_or_too_few_invocations_do_nothing() -> None:
    clock = Clock()
    assert await compaction_after_invocation(await context(turn(1, clock), None)) is None
    config = EventsCompactionConfig(compaction_interval=2, overlap_size=0,
                                    summarizer=Recorder())
    assert await compaction_after_invocation(await context([], config)) is None
    assert await compaction_after_invocation(await context(turn(2, clock), config)) is None


async def test_the_default_summarizer_is_the_root_agents_model() -> None:
    clock = Clock()
    model = ScriptedModel(replies=["SUMMARY"])
    root = Agent(name="bot", model=model)
    config = EventsCompactionConfig(compaction_interval=1, overlap_size=0)
    summary = await compaction_after_invocation(
        await context(turn(1, clock), config, agent=root))
    assert summary is not None and summary.actions.compaction is not None
    assert "SUMMARY" == summary.actions.compaction.compacted_content.parts[0].text  # type: ignore[index]
    assert 1 == model.calls

    steps = SequentialAgent(name="steps", sub_agents=[
        Agent(name="bot", model=ScriptedModel(replies=[]))])
    with pytest.raises(ValueError, match="root agent 'steps' is a SequentialAgent"):
        await compaction_after_invocation(await context(turn(2, clock), config, agent=steps))


async def test_rewound_invocations_are_not_summarized() -> None:
    clock = Clock()
    events = [*turn(1, clock), *turn(2, clock),
              Event(author="user", invocation_id="rw", timestamp=clock(),
                    actions=EventActions(rewind_before_invocation_id="inv2")),
              *turn(3, clock)]
    summarizer = Recorder()
    ctx = await context(events, EventsCompactionConfig(
        compaction_interval=2, overlap_size=0, summarizer=summarizer))
    assert await compaction_after_invocation(ctx) is not None
    assert ["inv1", "inv3"] == invocations(summarizer.windows[0])


# -- token threshold ------------------------------------------------------------------


def usage(tokens: int) -> types.GenerateContentResponseUsageMetadata:
    return types.GenerateContentResponseUsageMetadata(prompt_token_count=tokens)


async def test_token_threshold_keeps_the_newest_events_and_rolls_summaries() -> None:
    clock, summarizer = Clock(), Recorder()
    config = EventsCompactionConfig(token_threshold=100, event_retention_size=2,
                                    summarizer=summarizer)
    events = [said("user", "m1", inv="inv1", ts=clock()),
              said("bot", "r1 " + "x " * 40, inv="inv1", ts=clock(), usage_metadata=usage(50))]
    ctx = await context(events, config)
    assert await compaction_after_invocation(ctx) is None  # 50 < 100

    for event in [said("user", "m2", inv="inv2", ts=clock()),
                  said("bot", "r2", inv="inv2", ts=clock(), usage_metadata=usage(150))]:
        await ctx.session_service.append_event(ctx.session, event)
    first = await compaction_after_invocation(ctx)
    assert first is not None and first.actions.compaction is not None
    assert (1.0, 2.0) == (first.actions.compaction.start_timestamp,
                          first.actions.compaction.end_timestamp)
    await ctx.session_service.append_event(ctx.session, first)
    # Counts from before the summary no longer count.
    assert await compaction_after_invocation(ctx) is None

    for event in [said("user", "m3 " + "y " * 40, inv="inv3", ts=clock()),
                  said("bot", "r3", inv="inv3", ts=clock(), usage_metadata=usage(120))]:
        await ctx.session_service.append_event(ctx.session, event)
    second = await compaction_after_invocation(ctx)
    assert second is not None and second.actions.compaction is not None
    # Led by the previous summary, so the new one starts where it started.
    assert ["model: SUMMARY#1", "user: m2", "bot: r2"] == [
        line for line in
        summarizer.model.requests[1].contents[0].parts[0].text.splitlines()  # type: ignore[index, union-attr]
        if ": " in line and not line.startswith("Below")]
    assert (1.0, 4.0) == (second.actions.compaction.start_timestamp,
                          second.actions.compaction.end_timestamp)
    await ctx.session_service.append_event(ctx.session, second)
    assert [("model", "SUMMARY#2"), ("user", "m3"), ("model", "r3")] == request_view(
        history_contents(ctx.session.events, branch=None, agent_name="bot",
                         include="default"))


async def test_token_threshold_takes_precedence_after_an_invocation() -> None:
    clock, summarizer = Clock(), Recorder()
    events = [*turn(1, clock), *turn(2, clock)]
    events[-1].usage_metadata = usage(500)
    ctx = await context(events, EventsCompactionConfig(
        token_threshold=100, event_retention_size=1, compaction_interval=1, overlap_size=0,
        summarizer=summarizer))
    summary = await compaction_after_invocation(ctx)
    assert summary is not None
    assert 1 == len(summarizer.windows)
    assert ["m1", "r1", "m2"] == [e.content.parts[0].text.split(" ")[0]  # type: ignore[union-attr, index]
                                  for e in summarizer.windows[0]]


async def test_before_a_model_call_only_the_agents_own_counts_matter() -> None:
    clock, summarizer = Clock(), Recorder()
    config = EventsCompactionConfig(token_threshold=100, event_retention_size=1,
                                    summarizer=summarizer)
    bot = Agent(name="bot", model=ScriptedModel(replies=[]))
    events = [said("user", "m1", inv="inv1", ts=clock()),
              said("bot", "r1", inv="inv1", ts=clock(), usage_metadata=usage(10)),
              said("other", "o1", inv="inv1", ts=clock(), usage_metadata=usage(900)),
              said("user", "m2", inv="inv2", ts=clock())]
    ctx = await context(events, config, agent=bot)
    assert await compaction_before_model_call(ctx, bot) is None
    # ...while after the invocation every agent's counts do.
    assert await compaction_after_invocation(ctx) is not None
    # Without any count the history is estimated (4 characters a token).
    long = [said("user", "z" * 800, inv="inv1", ts=clock()),
            said("bot", "ok", inv="inv1", ts=clock()),
            said("user", "again", inv="inv2", ts=clock())]
    ctx = await context(long, config, agent=bot)
    summary = await compaction_before_model_call(ctx, bot)
    assert summary is not None and summary.actions.compaction is not None
    assert summary.actions.compaction.end_timestamp == long[1].timestamp
    sliding_only = EventsCompactionConfig(compaction_interval=1, overlap_size=0,
                                          summarizer=summarizer)
    assert await compaction_before_model_call(await context(long, sliding_only), bot) is None


def summary_event(start: float, end: float, text: str, *, ts: float) -> Event:
    return Event(author="user", invocation_id=f"sum-{text}", timestamp=ts, id=f"s{ts}",
                 actions=EventActions(compaction=_compaction(start, end, text)))


def test_a_summary_inside_another_is_superseded_and_equal_ranges_keep_the_latest() -> None:
    clock = Clock()
    events = [*turn(1, clock), *turn(2, clock)]  # timestamps 1..4
    events += [summary_event(1.0, 2.0, "A", ts=clock()),
               summary_event(1.0, 4.0, "B", ts=clock()),
               summary_event(1.0, 4.0, "C", ts=clock()),
               *turn(3, clock)]
    assert [("model", "C"), ("user", "m3"), ("model", "r3")] == request_view(
        history_contents(events, branch=None, agent_name="bot", include="default"))


def test_rewinding_drops_the_summaries_written_after_the_rewound_invocation() -> None:
    clock = Clock()
    events = [*turn(1, clock), *turn(2, clock), summary_event(1.0, 4.0, "S1", ts=clock()),
              *turn(3, clock), *turn(4, clock), summary_event(3.0, 10.0, "S2", ts=clock()),
              *turn(5, clock),
              Event(author="user", invocation_id="rw", timestamp=clock(),
                    actions=EventActions(rewind_before_invocation_id="inv4")),
              *turn(6, clock)]
    assert [("model", "S1"), ("user", "m3"), ("model", "r3"), ("user", "m6"),
            ("model", "r6")] == request_view(
        history_contents(events, branch=None, agent_name="bot", include="default"))


def test_a_summary_outside_the_agents_branch_is_not_sent() -> None:
    clock = Clock()
    summary = summary_event(1.0, 2.0, "S", ts=10.0)
    summary.branch = "root.other"
    events = [*turn(1, clock), summary]
    assert [("user", "m1"), ("model", "r1")] == request_view(
        history_contents(events, branch="root.bot", agent_name="bot", include="default"))
    assert [("model", "S")] == request_view(
        history_contents(events, branch="root.other", agent_name="bot", include="default"))


# -- nothing open is ever summarized ---------------------------------------------------


def confirmation_request(call_id: str, request_id: str, *, inv: str,
                         clock: Clock) -> list[Event]:
    """A tool asking for approval: its error response carrying the request, then the
    ``adk_request_confirmation`` call to the client."""
    return [
        answer("transfer", call_id, {"error": "needs confirmation"}, inv=inv, ts=clock(),
               actions=EventActions(requested_tool_confirmations={
                   call_id: ToolConfirmation(hint="ok?")})),
        call("adk_request_confirmation", request_id, inv=inv, ts=clock(), long_running=True,
             args={"originalFunctionCall": {"id": call_id, "name": "transfer"}}),
    ]


async def test_a_pending_confirmation_is_never_summarized() -> None:
    clock, summarizer = Clock(), Recorder()
    config = EventsCompactionConfig(compaction_interval=1, overlap_size=0,
                                    summarizer=summarizer)
    first = [said("user", "send money " + "please " * 10, inv="inv1", ts=clock()),
             call("transfer", "c1", inv="inv1", ts=clock()),
             *confirmation_request("c1", "adk-r1", inv="inv1", clock=clock)]
    ctx = await context(first, config)
    summary = await compaction_after_invocation(ctx)
    assert summary is not None
    assert [first[0]] == summarizer.windows[0]
    await ctx.session_service.append_event(ctx.session, summary)

    # The user moves on without answering: still nothing past the request.
    for event in turn(2, clock):
        await ctx.session_service.append_event(ctx.session, event)
    assert await compaction_after_invocation(ctx) is None

    # Answered (in a later invocation): now everything can be summarized.
    for event in [answer("adk_request_confirmation", "adk-r1", {"confirmed": True},
                         inv="inv3", ts=clock(), author="user"),
                  answer("transfer", "c1", {"ok": True}, inv="inv3", ts=clock()),
                  said("bot", "done", inv="inv3", ts=clock())]:
        await ctx.session_service.append_event(ctx.session, event)
    summary = await compaction_after_invocation(ctx)
    assert summary is not None
    assert ["inv1", "inv2", "inv3"] == invocations(summarizer.windows[-1])


async def test_a_long_running_call_answered_after_compaction_is_sent_with_its_call() -> None:
    clock = Clock()
    events = [said("user", "start the job", inv="inv1", ts=clock()),
              call("job", "j1", inv="inv1", ts=clock(), long_running=True),
              answer("job", "j1", {"status": "pending"}, inv="inv1", ts=clock()),
              said("bot", "started", inv="inv1", ts=clock())]
    # A summary written over the whole invocation (e.g. by an earlier ADK version).
    summary = Event(author="user", invocation_id="sum", timestamp=clock(),
                    actions=EventActions(compaction=_compaction(1.0, 4.0, "S1")))
    late = answer("job", "j1", {"status": "done"}, inv="inv2", ts=clock(), author="user")
    contents = history_contents([*events, summary, late], branch=None, agent_name="bot",
                                include="default")
    assert [("model", "S1"), ("model", "call:j1"), ("user", "response:j1")] == \
        request_view(contents)
    assert {"status": "done"} == contents[-1].parts[0].function_response.response  # type: ignore[index, union-attr]


def _compaction(start: float, end: float, text: str) -> Any:
    from trio_adk.events.event_actions import EventCompaction

    return EventCompaction(start_timestamp=start, end_timestamp=end,
                           compacted_content=types.Content(role="model",
                                                           parts=[types.Part(text=text)]))


@attrs.define
class Item:
    """One call in a generated history and every event that belongs to it."""

    kind: str
    inv: int
    events: list[Event] = attrs.field(factory=list)
    answered: bool = False


_KINDS = ["plain", "abandoned", "long_running", "confirmation", "credential"]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Event], list[Item]]:
    clock = Clock()
    count = draw(st.integers(1, 6))
    plan = [[draw(st.sampled_from(_KINDS)) for _ in range(draw(st.integers(0, 3)))]
            for _ in range(count)]
    # Answers to long-running calls, confirmations and credential requests arrive at
    # the start of a later invocation (or never).
    later: dict[int, list[Item]] = {}
    items: list[Item] = []
    events: list[Event] = []
    serial = 0
    for index, kinds in enumerate(plan):
        inv = f"inv{index}"
        events.append(said("user", f"m{index}", inv=inv, ts=clock()))
        for item in later.get(index, []):
            cid = f"c{id(item)}"
            if item.kind == "long_running":
                new = [answer("job", cid, {"done": True}, inv=inv, ts=clock(),
                              author="user")]
            else:
                name = ("adk_request_confirmation" if item.kind == "confirmation"
                        else "adk_request_credential")
                new = [answer(name, f"r{cid}", {"ok": True}, inv=inv, ts=clock(),
                              author="user"),
                       answer("tool", cid, {"result": 1}, inv=inv, ts=clock())]
            item.events += new
            item.answered = True
            events += new
        for kind in kinds:
            serial += 1
            item = Item(kind=kind, inv=index)
            cid = f"c{id(item)}"
            new = [call("tool", cid, inv=inv, ts=clock(),
                        long_running=kind == "long_running")]
            if kind == "plain":
                new.append(answer("tool", cid, {"result": serial}, inv=inv, ts=clock()))
                item.answered = True
            elif kind == "confirmation":
                new += confirmation_request(cid, f"r{cid}", inv=inv, clock=clock)
            elif kind == "credential":
                new += [answer("tool", cid, {"error": "needs a credential"}, inv=inv,
                               ts=clock(), actions=EventActions(
                                   requested_auth_configs={cid: {"scheme": "oauth2"}})),
                        call("adk_request_credential", f"r{cid}", inv=inv, ts=clock(),
                             long_running=True)]
            if kind in ("long_running", "confirmation", "credential") and index + 1 < count:
                when = draw(st.one_of(st.none(), st.integers(index + 1, count - 1)))
                if when is not None:
                    later.setdefault(when, []).append(item)
            item.events += new
            events += new
            items.append(item)
        events.append(said("bot", f"r{index}", inv=inv, ts=clock()))
    return events, items


def assert_nothing_open(window: list[Event], events: list[Event], items: list[Item]) -> None:
    """Every call opened in ``window`` is settled in it, except an ordinary call nothing
    answered from an invocation that is over."""
    in_window = {id(e) for e in window}
    newest = events[-1].invocation_id
    for item in items:
        opening = item.events[0]
        if id(opening) not in in_window:
            continue
        if item.kind == "abandoned" and opening.invocation_id != newest:
            continue
        assert item.answered, f"pending {item.kind} call summarized"
        assert all(id(e) in in_window for e in item.events), \
            f"{item.kind} call summarized without its answer"


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), interval=st.integers(1, 3), overlap=st.integers(0, 2),
       retention=st.integers(0, 4))
def test_no_window_holds_an_open_call(history: tuple[list[Event], list[Item]],
                                      interval: int, overlap: int, retention: int) -> None:
    events, items = history
    window = sliding_window(events, interval=interval, overlap=overlap)
    assert_nothing_open(window, events, items)
    assert window == events[events.index(window[0]):][:len(window)] if window else True
    assert_nothing_open(token_window(events, retention=retention), events, items)


# -- the request after compaction -----------------------------------------------------


async def run_turns(runner: Runner, texts: list[str]) -> None:
    """Run one turn per text, then compact as the runner will (appending the event)."""
    for value in texts:
        await collect(runner.run_async(user_id=USER, session_id="s1",
                                       new_message=user_text(value)))
        session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                            session_id="s1")
        assert session is not None
        assert runner.app is not None
        ctx = InvocationContext(session_service=runner.session_service, session=session,
                                agent=runner.app.root_agent,
                                events_compaction_config=runner.app.events_compaction_config)
        summary = await compaction_after_invocation(ctx)
        if summary is not None:
            await runner.session_service.append_event(session, summary)


async def test_requests_after_compaction_hold_summaries_and_recent_events() -> None:
    model = ScriptedModel(replies=[f"r{i} " + "lorem ipsum " * 10 for i in range(1, 6)])
    summarizer = Recorder()
    app = App(name=APP, root_agent=Agent(name="bot", model=model),
              events_compaction_config=EventsCompactionConfig(
                  compaction_interval=2, overlap_size=1, summarizer=summarizer))
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    runner = Runner(app=app, session_service=service)
    await run_turns(runner, ["m1", "m2", "m3"])
    assert [("model", "SUMMARY#1"), ("user", "m3")] == request_view(
        model.requests[2].contents)
    await run_turns(runner, ["m4", "m5"])
    # Overlapping summaries (inv1-2, inv2-4) are both kept.
    assert [("model", "SUMMARY#1"), ("model", "SUMMARY#2"), ("user", "m5")] == \
        request_view(model.requests[4].contents)


async def test_summarizer_failure_keeps_the_history(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    config = EventsCompactionConfig(compaction_interval=1, overlap_size=0,
                                    summarizer=LlmEventSummarizer(llm=ScriptedModel(
                                        replies=[error(RuntimeError("quota"))])))
    ctx = await context(turn(1, clock), config)
    with caplog.at_level(logging.WARNING, logger="trio_adk"):
        assert await compaction_after_invocation(ctx) is None
    [record] = [r for r in caplog.records if "compaction failed" in r.getMessage()]
    assert record.exc_info is not None
    assert "quota" in str(record.exc_info[1])
    assert 2 == len(ctx.session.events)


async def test_cancelling_the_summarizer_propagates() -> None:
    clock = Clock()
    called = trio.Event()

    async def stall(request: LlmRequest) -> str:
        called.set()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    config = EventsCompactionConfig(compaction_interval=1, overlap_size=0,
                                    summarizer=LlmEventSummarizer(
                                        llm=FunctionModel(function=stall)))
    ctx = await context(turn(1, clock), config)
    returned = False

    async def compact(scope: trio.CancelScope) -> None:
        nonlocal returned
        with scope:
            await compaction_after_invocation(ctx)
            returned = True

    scope = trio.CancelScope()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(compact, scope)
        await called.wait()
        scope.cancel()
    assert scope.cancelled_caught
    assert not returned


async def test_a_users_summarizer_model_goes_through_the_user_code_host() -> None:
    """A user's model (not marked native) is iterated through the user-code host (on a
    trio run, directly), and the summary comes back."""
    clock = Clock()

    class Plain(ScriptedModel):
        async def generate_content_async(
                self, llm_request: LlmRequest, stream: bool = False) -> Any:
            yield LlmResponse(content=types.Content(role="model",
                                                    parts=[types.Part(text="S")]))

    config = EventsCompactionConfig(compaction_interval=1, overlap_size=0,
                                    summarizer=LlmEventSummarizer(llm=Plain()))
    summary = await compaction_after_invocation(await context(turn(1, clock), config))
    assert summary is not None


# -- stores ---------------------------------------------------------------------------


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest,
                tmp_path: Path) -> AsyncIterator[BaseSessionService]:
    global APP
    APP = f"compaction_{uuid.uuid4().hex[:8]}"
    async with open_store(request.param, request, tmp_path) as service:
        yield service


async def test_a_compacted_session_survives_every_store(store: BaseSessionService) -> None:
    clock, summarizer = Clock(), Recorder()
    config = EventsCompactionConfig(compaction_interval=2, overlap_size=1,
                                    summarizer=summarizer)
    ctx = await context([], config, service=store)
    for index in range(1, 6):
        for event in turn(index, clock):
            await store.append_event(ctx.session, event)
        summary = await compaction_after_invocation(ctx)
        if summary is not None:
            await store.append_event(ctx.session, summary)
    before = history_contents(ctx.session.events, branch=None, agent_name="bot",
                              include="default")
    assert [("model", "SUMMARY#1"), ("model", "SUMMARY#2"), ("user", "m5"),
            ("model", "r5")] == request_view(before)

    loaded = await store.get_session(app_name=APP, user_id=USER, session_id=ctx.session.id)
    assert loaded is not None
    stored = [e for e in loaded.events if e.actions.compaction is not None]
    assert [e.actions.compaction for e in ctx.session.events
            if e.actions.compaction is not None] == [e.actions.compaction for e in stored]
    assert before == history_contents(loaded.events, branch=None, agent_name="bot",
                                      include="default")


# -- google-adk 2.13 on the same file ----------------------------------------------------

_ADK_ENV = "TRIO_ADK_GOOGLE_ADK_PYTHON"
_ADK_SCRIPT = Path(__file__).parent / "compat" / "adk_compaction.py"


async def adk(path: Path, *args: str) -> Any:
    """Run tests/compat/adk_compaction.py under google-adk's interpreter; its answer."""
    done = await trio.run_process(
        [os.environ[_ADK_ENV], str(_ADK_SCRIPT), str(path), "c1", *args],
        capture_stdout=True, capture_stderr=True, check=False)
    assert 0 == done.returncode, done.stderr.decode()[-3000:]
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get(_ADK_ENV),
                    reason=f"{_ADK_ENV} is not set (an interpreter with google-adk 2.13)")
@pytest.mark.parametrize("settings", [(2, 1, None, None), (None, None, 120, 2),
                                      (3, 0, 300, 1)])
async def test_google_adk_agrees_on_windows_and_reads_our_summaries(
        tmp_path: Path, settings: tuple[int | None, ...]) -> None:
    """On one Sqlite-JSON file, turn after turn: ADK's post-invocation compaction picks
    the events ours picks, and the history ADK builds from our stored summaries (and a
    rewind, and a long-running call answered after it was summarized) is the one we
    build.  Sliding window, token threshold (counts recorded on some turns, estimated
    on others), and both."""
    path = tmp_path / "sessions.db"
    service = SqliteSessionService(path)
    clock, summarizer = Clock(), Recorder()
    interval, overlap, threshold, retention = settings
    try:
        session = await service.create_session(app_name="compat", user_id="user",
                                               session_id="c1")
        ctx = InvocationContext(
            session_service=service, session=session,
            agent=Agent(name="bot", model=ScriptedModel(replies=[])),
            events_compaction_config=EventsCompactionConfig(
                compaction_interval=interval, overlap_size=overlap,
                token_threshold=threshold, event_retention_size=retention,
                summarizer=summarizer))
        for index in range(1, 8):
            inv = f"inv{index}"
            events = []
            if index == 5:  # the job's result, as the user's message
                events.append(answer("job", "j1", {"status": "done"}, inv=inv, ts=clock(),
                                     author="user"))
            events.append(said("user", f"m{index}", inv=inv, ts=clock()))
            if index == 3:
                events += [call("job", "j1", inv=inv, ts=clock(), long_running=True),
                           answer("job", "j1", {"status": "pending"}, inv=inv, ts=clock())]
            events.append(said("bot", f"r{index} " + "lorem ipsum " * 10 * index, inv=inv,
                               ts=clock(),
                               usage_metadata=usage(60 * index) if index % 2 else None))
            if index == 7:
                events.append(Event(author="user", invocation_id="rw", timestamp=clock(),
                                    actions=EventActions(rewind_before_invocation_id="inv6")))
            for event in events:
                await service.append_event(session, event)
            theirs = await adk(path, "window", *("-" if v is None else str(v)
                                                 for v in settings))
            seen = len(summarizer.windows)
            summary = await compaction_after_invocation(ctx)
            ours = [e.id for e in summarizer.windows[-1]] if len(summarizer.windows) > seen \
                else None
            stored = {e.id for e in session.events}
            # A token-threshold window is led by a copy of the previous summary (new id).
            theirs, ours = ([i if i in stored else "<previous summary>" for i in w]
                            if w is not None else None for w in (theirs, ours))
            assert theirs == ours, f"after inv{index}"
            if summary is not None:
                # Stamped on the test's clock, as it would be on the wall clock (ADK
                # reads events back in timestamp order).
                summary.timestamp = clock()
                await service.append_event(session, summary)
            built = history_contents(session.events, branch=None, agent_name="bot",
                                     include="default")
            assert await adk(path, "contents", "bot") == [
                c.model_dump(mode="json", exclude_none=True) for c in built], \
                f"after inv{index}"
        assert 2 <= len(summarizer.windows)
    finally:
        await service.close()


def test_the_llm_summarizer_can_be_awaited_from_asyncio() -> None:
    """As a user's summarizer wrapping it would, on an asyncio run."""
    import asyncio

    clock = Clock()
    summarizer = LlmEventSummarizer(llm=ScriptedModel(replies=["S"]))

    async def main() -> Event | None:
        return await summarizer.maybe_summarize_events(events=turn(1, clock))

    summary = asyncio.run(main())
    assert summary is not None and summary.actions.compaction is not None
    assert (1.0, 2.0) == (summary.actions.compaction.start_timestamp,
                          summary.actions.compaction.end_timestamp)
