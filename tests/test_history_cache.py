"""The kept, extended history (flows/_history_cache) gives what a build from scratch
gives, over random histories: ordinary turns, parallel calls and their responses,
long-running calls answered later, confirmation requests, other agents and branches,
compaction summaries and rewinds, appended in any order; and it shares its contents
only when no user code can see them."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_adk import Agent
from trio_adk.agents._invocation_context import InvocationContext
from trio_adk.events import Event, EventActions
from trio_adk.events.event_actions import EventCompaction
from trio_adk.flows import _history_cache as history_cache
from trio_adk.flows._contents import build_contents
from trio_adk.flows._history_cache import forget_all, history, shares_contents
from trio_adk.sessions import InMemorySessionService
from trio_adk.sessions._session import Session
from trio_adk.testing import ScriptedModel


@pytest.fixture(autouse=True, scope="module")
def keep_every_history() -> Iterator[None]:
    """Keep views of short histories too, so the examples exercise the extension."""
    saved = history_cache.MIN_KEPT_HISTORY
    history_cache.MIN_KEPT_HISTORY = 0
    yield
    history_cache.MIN_KEPT_HISTORY = saved


KINDS = ["user", "reply", "other_agent", "calls", "answer_last", "answer_old",
         "user_answer", "confirmation", "compaction", "rewind", "branch", "empty",
         "marker", "repeat_call_id"]


def text(role: str, value: str) -> types.Content:
    return types.Content(role=role, parts=[types.Part(text=value)])


class History:
    """Builds a session's events from a list of step kinds."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.clock = itertools.count(1)
        self.ids = itertools.count()
        self.invocation = "e-0"
        self.open_calls: list[types.FunctionCall] = []
        self.last_calls: list[types.FunctionCall] = []

    def add(self, author: str, content: types.Content | None = None, **fields: Any) -> None:
        self.events.append(Event(author=author, invocation_id=fields.pop("inv", self.invocation),
                                 content=content, timestamp=float(next(self.clock)), **fields))

    def call(self, name: str, call_id: str) -> types.Part:
        return types.Part(function_call=types.FunctionCall(id=call_id, name=name, args={}))

    def response(self, call: types.FunctionCall, value: Any) -> types.Part:
        return types.Part(function_response=types.FunctionResponse(
            id=call.id, name=call.name, response={"v": value}))

    def step(self, kind: str, pick: int) -> None:
        n = next(self.ids)
        if kind == "user":
            self.invocation = f"e-{n}"
            self.add("user", text("user", f"u{n}"))
        elif kind == "reply":
            self.add("root", text("model", f"r{n}"))
        elif kind == "other_agent":
            self.add("helper", text("model", f"h{n}"))
        elif kind in ("calls", "repeat_call_id"):
            count = 1 + pick % 2
            calls = [types.FunctionCall(id=f"c{n}-{i}", name="tool", args={})
                     for i in range(count)]
            if kind == "repeat_call_id" and self.open_calls:
                calls[0] = self.open_calls[0]
            long_running = {calls[0].id} if pick % 3 == 0 else None
            self.add("root", types.Content(role="model", parts=[
                types.Part(function_call=c) for c in calls]),
                long_running_tool_ids=long_running)
            self.last_calls = calls
            self.open_calls.extend(calls)
        elif kind == "answer_last" and self.last_calls:
            self.add("root", types.Content(role="user", parts=[
                self.response(c, n) for c in self.last_calls]))
            self.last_calls = []
        elif kind in ("answer_old", "user_answer") and self.open_calls:
            call = self.open_calls[pick % len(self.open_calls)]
            self.add("user" if kind == "user_answer" else "root",
                     types.Content(role="user", parts=[self.response(call, n)]))
        elif kind == "confirmation":
            original = types.FunctionCall(id=f"o{n}", name="tool", args={})
            self.add("root", types.Content(role="model",
                                           parts=[types.Part(function_call=original)]))
            self.add("root", types.Content(role="model", parts=[self.call(
                "adk_request_confirmation", f"adk-{n}")]), long_running_tool_ids={f"adk-{n}"})
            self.add("root", types.Content(role="user", parts=[self.response(original, "ask")]))
            self.last_calls = []
        elif kind == "compaction" and len(self.events) > 2:
            first = pick % (len(self.events) - 1)
            start = self.events[first].timestamp
            end = self.events[min(len(self.events) - 1, first + 1 + pick % 4)].timestamp
            self.add("user", inv=f"c-{n}", actions=EventActions(compaction=EventCompaction(
                start_timestamp=start, end_timestamp=end,
                compacted_content=text("model", f"summary{n}"))))
        elif kind == "rewind" and self.events:
            target = self.events[pick % len(self.events)].invocation_id
            self.add("user", inv=f"e-rw{n}",
                     actions=EventActions(rewind_before_invocation_id=target))
        elif kind == "branch":
            self.add("root", text("model", f"b{n}"), branch="other.path")
        elif kind == "empty":
            self.add("root", text("model", ""))
        elif kind == "marker":
            self.add("root", actions=EventActions(end_of_agent=True))


def context(service: InMemorySessionService, events: list[Event], agent: Agent,
            branch: str | None = None) -> InvocationContext:
    session = Session(id="s", app_name="app", user_id="u", events=list(events))
    return InvocationContext(session_service=service, agent=agent, session=session,
                             branch=branch)


def dumped(contents: list[types.Content]) -> list[dict[str, Any]]:
    return [c.model_dump(exclude_none=True) for c in contents]


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 50)), max_size=40),
       checks=st.lists(st.booleans(), min_size=40, max_size=40),
       include=st.sampled_from(["default", "none"]))
def test_the_kept_history_is_the_history_built_from_scratch(
        steps: list[tuple[str, int]], checks: list[bool], include: str) -> None:
    forget_all()
    service = InMemorySessionService()
    agent = Agent(name="root", model=ScriptedModel(replies=[]), include_contents=include)  # type: ignore[arg-type]
    built = History()
    for (kind, pick), check in zip(steps, checks, strict=False):
        built.step(kind, pick)
        if check:  # the agent makes a model call here
            ctx = context(service, built.events, agent)
            expected = build_contents(ctx, "root", include=include)
            assert dumped(expected) == dumped(history(ctx, agent, include=include))
    ctx = context(service, built.events, agent)
    assert dumped(build_contents(ctx, "root", include=include)) == dumped(
        history(ctx, agent, include=include))


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 50)), max_size=30),
       window=st.integers(1, 10))
def test_a_windowed_load_rebuilds(steps: list[tuple[str, int]], window: int) -> None:
    """A session loaded with fewer events (GetSessionConfig) than the view was built from
    gets the history of what was loaded."""
    forget_all()
    service = InMemorySessionService()
    agent = Agent(name="root", model=ScriptedModel(replies=[]))
    built = History()
    for kind, pick in steps:
        built.step(kind, pick)
    history(context(service, built.events, agent), agent, include="default")
    recent = built.events[-window:]
    ctx = context(service, recent, agent)
    assert dumped(build_contents(ctx, "root", include="default")) == dumped(
        history(ctx, agent, include="default"))


def test_contents_are_shared_only_when_no_user_code_sees_the_request() -> None:
    forget_all()
    service = InMemorySessionService()
    built = History()
    built.step("user", 0)
    plain = Agent(name="root", model=ScriptedModel(replies=[]))
    first = history(context(service, built.events, plain), plain, include="default")
    second = history(context(service, built.events, plain), plain, include="default")
    assert first is not second and first[0] is second[0]
    assert shares_contents(context(service, built.events, plain), plain)

    def before(**_: Any) -> None:
        return None

    watched = Agent(name="root", model=ScriptedModel(replies=[]), before_model_callback=before)
    mine = history(context(service, built.events, watched), watched, include="default")
    again = history(context(service, built.events, watched), watched, include="default")
    assert mine[0] is not again[0] and mine[0].parts is not again[0].parts
    assert dumped(mine) == dumped(again)


def test_a_call_id_that_comes_back_rebuilds() -> None:
    """A model that reuses a call id: the full build pairs earlier responses with the
    newest call of that id, so the kept view cannot simply be extended."""
    forget_all()
    service = InMemorySessionService()
    agent = Agent(name="root", model=ScriptedModel(replies=[]))
    built = History()
    for kind in ("user", "calls", "answer_last"):
        built.step(kind, 1)
    history(context(service, built.events, agent), agent, include="default")
    built.step("repeat_call_id", 1)
    ctx = context(service, built.events, agent)
    assert dumped(build_contents(ctx, "root", include="default")) == dumped(
        history(ctx, agent, include="default"))


def test_a_short_history_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_cache, "MIN_KEPT_HISTORY", 4)
    forget_all()
    service = InMemorySessionService()
    agent = Agent(name="root", model=ScriptedModel(replies=[]))
    built = History()
    for kind in ("user", "reply", "user"):
        built.step(kind, 0)
    history(context(service, built.events, agent), agent, include="default")
    assert service not in history_cache._VIEWS
    built.step("reply", 0)
    history(context(service, built.events, agent), agent, include="default")
    assert 1 == len(history_cache._VIEWS[service].by_key)
