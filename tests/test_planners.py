"""Planners: BuiltInPlanner's thinking config, PlanReActPlanner's instruction and response
rewriting, a user's planner, and the ADK import paths."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from helpers import USER, make_runner, run_text, stored_events
from trio_adk import Agent
from trio_adk.agents import CallbackContext, ReadonlyContext
from trio_adk.models import LlmRequest, LlmResponse
from trio_adk.planners import BasePlanner, BuiltInPlanner, PlanReActPlanner
from trio_adk.planners.plan_re_act_planner import (
    ACTION_TAG,
    FINAL_ANSWER_TAG,
    PLANNING_TAG,
    REASONING_TAG,
    REPLANNING_TAG,
)
from trio_adk.testing import ScriptedModel, function_call


def reply(*parts: types.Part) -> LlmResponse:
    return LlmResponse(content=types.Content(role="model", parts=list(parts)))


def shape(parts: list[types.Part] | None) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for part in parts or []:
        if part.function_call is not None:
            out.append(("call", part.function_call.name))
        else:
            out.append((part.text, bool(part.thought)))
    return out


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


# ---- BuiltInPlanner ----------------------------------------------------------------------


async def test_built_in_planner_sets_the_thinking_config() -> None:
    """The planner's thinking config replaces the agent's; the agent's config is unchanged
    and no instruction is added."""
    model = ScriptedModel(replies=["ok"])
    own = types.GenerateContentConfig(temperature=0.1,
                                      thinking_config=types.ThinkingConfig(thinking_budget=5))
    planner = BuiltInPlanner(thinking_config=types.ThinkingConfig(include_thoughts=True,
                                                                  thinking_budget=64))
    runner = await make_runner(Agent(name="bot", model=model, planner=planner,
                                     generate_content_config=own))
    await run_text(runner, "hi")
    config = model.requests[0].config
    assert config.thinking_config == types.ThinkingConfig(include_thoughts=True,
                                                          thinking_budget=64)
    assert 0.1 == config.temperature
    assert 5 == own.thinking_config.thinking_budget  # type: ignore[union-attr]
    assert config.system_instruction == 'You are an agent. Your internal name is "bot".'


def test_built_in_planner_checks_its_config() -> None:
    with pytest.raises(TypeError, match="thinking_config"):
        BuiltInPlanner(thinking_config="high")  # type: ignore[arg-type]
    planner = BuiltInPlanner(thinking_config={"thinking_budget": 10})
    assert 10 == planner.thinking_config.thinking_budget


async def test_built_in_planner_leaves_responses_alone() -> None:
    text = f"{PLANNING_TAG}not rewritten"
    model = ScriptedModel(replies=[text])
    planner = BuiltInPlanner(thinking_config=types.ThinkingConfig(thinking_budget=0))
    runner = await make_runner(Agent(name="bot", model=model, planner=planner))
    events = await run_text(runner, "hi")
    assert [(text, False)] == shape(events[-1].content.parts)  # type: ignore[union-attr]


# ---- PlanReActPlanner --------------------------------------------------------------------


async def test_plan_re_act_adds_its_instruction_before_the_transfer_instruction() -> None:
    model = ScriptedModel(replies=["ok"])
    helper = Agent(name="helper", model=ScriptedModel(replies=[]), description="helps")
    runner = await make_runner(Agent(name="bot", model=model, instruction="Be brief.",
                                     planner=PlanReActPlanner(), sub_agents=[helper]))
    await run_text(runner, "hi")
    system = model.requests[0].config.system_instruction
    assert isinstance(system, str)
    for tag in (PLANNING_TAG, REPLANNING_TAG, REASONING_TAG, ACTION_TAG, FINAL_ANSWER_TAG):
        assert tag in system
    assert system.index("Be brief.") < system.index(PLANNING_TAG) < system.index("helper")


async def test_plan_re_act_marks_the_plan_as_thought_and_keeps_the_final_answer() -> None:
    text = (f"{PLANNING_TAG}1. think\n{REASONING_TAG}done{FINAL_ANSWER_TAG}forty-two")
    model = ScriptedModel(replies=[text])
    runner = await make_runner(Agent(name="bot", model=model, planner=PlanReActPlanner(),
                                     output_key="answer"))
    events = await run_text(runner, "hi")
    assert [("1. think\ndone", True), ("forty-two", False)] == shape(
        events[-1].content.parts)  # type: ignore[union-attr]
    session = await runner.session_service.get_session(app_name=runner.app_name,
                                                       user_id=USER, session_id="s1")
    assert session is not None and {"answer": "forty-two"} == session.state


async def test_plan_re_act_keeps_only_the_first_group_of_calls() -> None:
    """Text opening with a tag becomes thought; text after the calls is dropped, and an
    unnamed call too."""
    first = reply(
        types.Part(text=f"{PLANNING_TAG}1. add"),
        types.Part(text="plain words"),
        types.Part(function_call=types.FunctionCall(name="", args={})),
        types.Part(function_call=types.FunctionCall(name="add", args={"a": 1, "b": 2})),
        types.Part(function_call=types.FunctionCall(name="add", args={"a": 3, "b": 4})),
        types.Part(text="after the calls"),
        types.Part(function_call=types.FunctionCall(name="add", args={"a": 5, "b": 6})),
    )
    model = ScriptedModel(replies=[first, f"{FINAL_ANSWER_TAG}3 and 7"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add],
                                     planner=PlanReActPlanner()))
    events = await run_text(runner, "hi")
    assert [("1. add", True), ("plain words", False), ("call", "add"), ("call", "add")] == \
        shape(events[0].content.parts)  # type: ignore[union-attr]
    assert [("3 and 7", False)] == shape(events[-1].content.parts)  # type: ignore[union-attr]


async def test_plan_re_act_sends_earlier_thoughts_back_as_text() -> None:
    """The planner marked the plan as thought; the next request carries it as plain
    text, while the session keeps the mark."""
    model = ScriptedModel(replies=[f"{PLANNING_TAG}plan{FINAL_ANSWER_TAG}one", "two"])
    runner = await make_runner(Agent(name="bot", model=model, planner=PlanReActPlanner()))
    await run_text(runner, "first")
    await run_text(runner, "second")
    history = model.requests[1].contents[1]
    assert [("plan", False), ("one", False)] == shape(history.parts)
    stored = await stored_events(runner)
    assert [("plan", True), ("one", False)] == shape(stored[1].content.parts)  # type: ignore[union-attr]


# ---- a user's planner --------------------------------------------------------------------


class Upper(BasePlanner):
    """Asks for capitals, writes how many responses it saw to state, shouts the text."""

    def build_planning_instruction(self, readonly_context: ReadonlyContext,
                                   llm_request: LlmRequest) -> str | None:
        return f"Plan for {len(llm_request.contents)} contents."

    def process_planning_response(self, callback_context: CallbackContext,
                                  response_parts: list[types.Part]) -> list[types.Part] | None:
        callback_context.state["seen"] = callback_context.state.get("seen", 0) + 1
        return [types.Part(text=(p.text or "").upper()) for p in response_parts]


async def test_a_users_planner_rewrites_and_writes_state_in_an_event_of_its_own() -> None:
    model = ScriptedModel(replies=["hello"])
    runner = await make_runner(Agent(name="bot", model=model, planner=Upper()))
    events = await run_text(runner, "hi")
    assert model.requests[0].config.system_instruction.endswith(  # type: ignore[union-attr]
        "Plan for 1 contents.")
    assert [{"seen": 1}, {}] == [e.actions.state_delta for e in events]
    assert events[0].content is None and events[0].author == "bot"
    assert [("HELLO", False)] == shape(events[1].content.parts)  # type: ignore[union-attr]


async def test_a_planner_that_returns_nothing_keeps_the_response() -> None:
    class Quiet(Upper):
        def process_planning_response(self, callback_context: CallbackContext,
                                      response_parts: list[types.Part]) -> None:
            return None

    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 1}), "two"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add], planner=Quiet()))
    events = await run_text(runner, "hi")
    assert ["two"] == [p.text for p in events[-1].content.parts]  # type: ignore[union-attr]


def test_planner_must_be_a_planner() -> None:
    with pytest.raises(ValueError, match="planner"):
        Agent(name="bot", model="gemini-2.5-flash", planner="react")


def test_adk_paths() -> None:
    from trio_adk.planners.base_planner import BasePlanner as Base
    from trio_adk.planners.built_in_planner import BuiltInPlanner as BuiltIn
    from trio_adk.planners.plan_re_act_planner import PlanReActPlanner as PlanReAct

    assert (Base, BuiltIn, PlanReAct) == (BasePlanner, BuiltInPlanner, PlanReActPlanner)
    assert PLANNING_TAG == "/*PLANNING*/" and FINAL_ANSWER_TAG == "/*FINAL_ANSWER*/"
