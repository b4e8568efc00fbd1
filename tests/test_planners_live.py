"""Planners in run_live, as ADK's live flow runs them: the request side shapes the Live
setup, and every live response's parts are rewritten as in a non-live run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

from google.genai import types

from helpers import APP, USER, stored_events, user_text
from trio_adk import Agent, Runner
from trio_adk.agents import CallbackContext, LiveRequestQueue, RunConfig
from trio_adk.events import Event
from trio_adk.models import Gemini
from trio_adk.planners import BasePlanner, BuiltInPlanner, PlanReActPlanner
from trio_adk.planners.plan_re_act_planner import FINAL_ANSWER_TAG, PLANNING_TAG
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import FakeGeminiServer, LiveScript
from trio_adk.testing import live_script as ls

ANSWER = f"{PLANNING_TAG}1. greet{FINAL_ANSWER_TAG}Hello!"


@asynccontextmanager
async def live_server(reply: str) -> AsyncIterator[FakeGeminiServer]:
    talk = ls.LiveConversation(ls.on_turn(ls.say(reply, chunks=1)))
    async with FakeGeminiServer(live=LiveScript(handler=talk)) as server:
        yield server


async def one_turn(server: FakeGeminiServer, planner: BasePlanner) -> tuple[Runner, list[Event]]:
    """Send "hi" on a live run of an agent with ``planner``; close after the reply."""
    model = Gemini(model="gemini-live-2.5-flash", base_url=server.base_url, api_key="k")
    agent = Agent(name="bot", model=model, instruction="Be brief.", planner=planner)
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    runner = Runner(app_name=APP, agent=agent, session_service=service)
    queue = LiveRequestQueue()
    queue.send_content(user_text("hi"))
    events: list[Event] = []
    async with runner, aclosing(runner.run_live(
            user_id=USER, session_id="s1", live_request_queue=queue,
            run_config=RunConfig(response_modalities=["TEXT"]))) as stream:
        async for event in stream:
            events.append(event)
            if event.turn_complete:
                queue.close()
    return runner, events


def shape(event: Event) -> list[tuple[Any, bool]]:
    parts = event.content.parts if event.content and event.content.parts else []
    return [(p.text, bool(p.thought)) for p in parts]


async def test_plan_re_act_instructs_the_live_model_and_rewrites_its_replies() -> None:
    """The planning instruction is in the Live setup's system instruction; the partial
    and the final reply both have the plan marked as thought, and so does the session."""
    async with live_server(ANSWER) as server:
        runner, events = await one_turn(server, PlanReActPlanner())
        async with runner:
            stored = await stored_events(runner)
        setup = server.live_sessions[0].setup
    system = setup["systemInstruction"]["parts"][0]["text"]
    assert system.index("Be brief.") < system.index(PLANNING_TAG)
    replies = [shape(e) for e in events if e.content is not None]
    expected = [("1. greet", True), ("Hello!", False)]
    assert [expected, expected] == replies
    assert [True, False] == [e.partial is True for e in events if e.content is not None]
    assert expected == shape(stored[-2])  # before the turn_complete event


async def test_built_in_planner_sets_the_live_thinking_config() -> None:
    """Its thinking config is in the setup's generation config; replies are untouched."""
    planner = BuiltInPlanner(thinking_config=types.ThinkingConfig(include_thoughts=True,
                                                                  thinking_budget=64))
    async with live_server(ANSWER) as server:
        _, events = await one_turn(server, planner)
        setup = server.live_sessions[0].setup
    assert {"includeThoughts": True, "thinkingBudget": 64} == \
        setup["generationConfig"]["thinkingConfig"]
    assert PLANNING_TAG not in setup["systemInstruction"]["parts"][0]["text"]
    assert [[(ANSWER, False)]] * 2 == [shape(e) for e in events if e.content is not None]


async def test_a_planners_state_writes_come_before_the_reply_they_rewrote() -> None:
    """A user's planner writing state from process_planning_response: as in a non-live
    run, an event with that state delta is emitted before each rewritten reply."""

    class Counting(BasePlanner):
        def build_planning_instruction(self, readonly_context: Any,
                                       llm_request: Any) -> str | None:
            return None

        def process_planning_response(self, callback_context: CallbackContext,
                                      response_parts: list[types.Part]) -> list[types.Part]:
            callback_context.state["seen"] = callback_context.state.get("seen", 0) + 1
            return [types.Part(text=(p.text or "").upper()) for p in response_parts]

    async with live_server("hello") as server:
        runner, events = await one_turn(server, Counting())
        async with runner:
            session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                               session_id="s1")
    described = [("state", e.actions.state_delta["seen"]) if e.actions.state_delta
                 else ("text", shape(e)) for e in events if e.content or e.actions.state_delta]
    assert [("state", 1), ("text", [("HELLO", False)]),
            ("state", 2), ("text", [("HELLO", False)])] == described
    assert session is not None and 2 == session.state["seen"]


async def test_live_requests_carry_no_agent_name_label() -> None:
    """ADK labels each non-live model call with ``adk_agent_name`` but not the live
    connection's request, and neither does trio-adk."""
    seen: list[Any] = []

    class Recording(Gemini):
        def connect(self, llm_request: Any, **kwargs: Any) -> Any:
            seen.append(llm_request.config.labels)
            return super().connect(llm_request, **kwargs)

    async with live_server("hello") as server:
        model = Recording(model="gemini-live-2.5-flash", base_url=server.base_url, api_key="k")
        agent = Agent(name="bot", model=model)
        service = InMemorySessionService()
        await service.create_session(app_name=APP, user_id=USER, session_id="s1")
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        async with Runner(app_name=APP, agent=agent, session_service=service) as runner, \
                aclosing(runner.run_live(user_id=USER, session_id="s1", live_request_queue=queue,
                                         run_config=RunConfig(response_modalities=["TEXT"]))
                         ) as stream:
            async for event in stream:
                if event.turn_complete:
                    queue.close()
    assert [None] == seen
