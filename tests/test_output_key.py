"""output_key: which of an agent's events save its text, and which leave state alone."""

from __future__ import annotations

from typing import Any

from google.genai import types

from helpers import USER, make_runner, run_text
from trio_adk import Agent, Runner
from trio_adk.agents import LoopAgent
from trio_adk.models import LlmResponse
from trio_adk.testing import ScriptedModel, function_call
from trio_adk.tools import ToolContext


async def session_state(runner: Runner) -> dict[str, Any]:
    session = await runner.session_service.get_session(app_name=runner.app_name,
                                                       user_id=USER, session_id="s1")
    assert session is not None
    return session.state


def exit_loop(tool_context: ToolContext) -> dict[str, Any]:
    """Stop the refinement loop."""
    tool_context.actions.escalate = True
    tool_context.actions.skip_summarization = True
    return {}


async def test_refiner_ending_a_loop_with_a_tool_keeps_its_document() -> None:
    """The refiner's last event is exit_loop's response (final, no text): the document
    it wrote on the pass before stays in state instead of becoming ""."""
    refiner = Agent(
        name="refiner",
        model=ScriptedModel(replies=["draft, refined", function_call("exit_loop", {})]),
        tools=[exit_loop], output_key="doc",
    )
    runner = await make_runner(LoopAgent(name="loop", sub_agents=[refiner], max_iterations=5))
    events = await run_text(runner, "write")
    last = events[-1]
    assert last.is_final_response() and last.actions.escalate
    assert "doc" not in last.actions.state_delta
    assert {"doc": "draft, refined"} == await session_state(runner)


async def test_a_final_function_response_does_not_overwrite_the_saved_text() -> None:
    """Outside a loop too: a skip-summarization tool response saves nothing."""
    model = ScriptedModel(replies=["first", function_call("exit_loop", {})])
    runner = await make_runner(Agent(name="bot", model=model, tools=[exit_loop],
                                     output_key="out"))
    await run_text(runner, "one")
    await run_text(runner, "two")
    assert {"out": "first"} == await session_state(runner)


async def test_an_empty_text_part_still_counts_as_text() -> None:
    """A final event whose text part is "" saves "" (only text-less events are skipped)."""
    empty = LlmResponse(content=types.Content(role="model", parts=[types.Part(text="")]))
    model = ScriptedModel(replies=["first", empty])
    runner = await make_runner(Agent(name="bot", model=model, output_key="out"))
    await run_text(runner, "one")
    await run_text(runner, "two")
    assert {"out": ""} == await session_state(runner)


async def test_thought_only_final_event_does_not_overwrite() -> None:
    """Thought parts are not text for output_key: a thought-only final event saves nothing."""
    thought = LlmResponse(content=types.Content(
        role="model", parts=[types.Part(text="thinking", thought=True)]))
    model = ScriptedModel(replies=["first", thought])
    runner = await make_runner(Agent(name="bot", model=model, output_key="out"))
    await run_text(runner, "one")
    await run_text(runner, "two")
    assert {"out": "first"} == await session_state(runner)


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def text_and_call(text: str) -> LlmResponse:
    return LlmResponse(content=types.Content(role="model", parts=[
        types.Part(text=text),
        types.Part(function_call=types.FunctionCall(name="add", args={"a": 1, "b": 2}))]))


async def test_text_written_next_to_a_call_is_kept_with_the_answer() -> None:
    """All of one agent run's text counts (as ADK 2.x): each event with text saves the
    run's text so far."""
    model = ScriptedModel(replies=[text_and_call("Let me check. "), "It is 3.",
                                   "Next turn."])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add],
                                     output_key="out"))
    events = await run_text(runner, "hi")
    assert [{"out": "Let me check. "}, {}, {"out": "Let me check. It is 3."}] == [
        e.actions.state_delta for e in events]
    assert {"out": "Let me check. It is 3."} == await session_state(runner)
    await run_text(runner, "again")  # a new run starts from nothing
    assert {"out": "Next turn."} == await session_state(runner)


async def test_streamed_chunks_are_not_counted_twice() -> None:
    from trio_adk.agents import RunConfig, StreamingMode
    from trio_adk.testing import chunks

    model = ScriptedModel(replies=[chunks(["Hel", "lo"])])
    runner = await make_runner(Agent(name="bot", model=model, output_key="out"))
    await run_text(runner, "hi", run_config=RunConfig(streaming_mode=StreamingMode.SSE))
    assert {"out": "Hello"} == await session_state(runner)


async def test_with_output_schema_only_the_final_json_counts() -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        value: int

    model = ScriptedModel(replies=['{"value": 3}'])
    runner = await make_runner(Agent(name="bot", model=model, output_schema=Answer,
                                     output_key="out"))
    await run_text(runner, "hi")
    assert {"out": {"value": 3}} == await session_state(runner)


async def test_the_adk_docs_refinement_loop_keeps_the_refined_document() -> None:
    """The adk-docs loop sample's shape: a writer, then a loop of critic and refiner that
    share ``current_document``; the refiner ends the loop with the real ``exit_loop``."""
    from trio_adk.agents import SequentialAgent
    from trio_adk.tools.exit_loop_tool import exit_loop

    writer = Agent(name="writer", model=ScriptedModel(replies=["first draft"]),
                   output_key="current_document")
    critic = Agent(name="critic", model=ScriptedModel(replies=["add detail",
                                                               "No major issues found."]),
                   instruction="Review {current_document}.", output_key="criticism")
    refiner = Agent(name="refiner",
                    model=ScriptedModel(replies=["second draft, detailed",
                                                 function_call("exit_loop", {})]),
                    tools=[exit_loop], output_key="current_document")
    loop = LoopAgent(name="refine", sub_agents=[critic, refiner], max_iterations=5)
    runner = await make_runner(SequentialAgent(name="pipeline", sub_agents=[writer, loop]))
    await run_text(runner, "write about trio")
    state = await session_state(runner)
    assert "second draft, detailed" == state["current_document"]
    assert "No major issues found." == state["criticism"]


async def test_a_before_agent_callback_reply_is_saved_under_output_key() -> None:
    """As in ADK, the content a before-agent callback answers with is the agent's
    output: it is saved under ``output_key`` (the model is never called)."""
    from trio_adk import Runner
    from trio_adk.sessions import InMemorySessionService

    def canned(callback_context: object) -> types.Content:
        return types.Content(role="model", parts=[types.Part(text="from the cache")])

    model = ScriptedModel(replies=[])
    agent = Agent(name="cached", model=model, output_key="answer",
                  before_agent_callback=canned)
    service = InMemorySessionService()
    await service.create_session(app_name="app", user_id="u", session_id="s")
    runner = Runner(app_name="app", agent=agent, session_service=service)
    async for _ in runner.run_async(user_id="u", session_id="s", new_message="hi"):
        pass
    session = await service.get_session(app_name="app", user_id="u", session_id="s")
    assert session is not None
    assert "from the cache" == session.state["answer"]
    assert 0 == model.calls
