"""AgentTool: an agent called as a tool runs as a child run of the caller's run."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest
import sniffio
import trio
import trio.testing
from google.genai import types
from pydantic import BaseModel

from helpers import APP, USER, collect, make_runner, run_text, stored_events, user_text
from trio_adk import Agent, InMemoryRunner
from trio_adk.agents import BaseAgent, InvocationContext, SequentialAgent
from trio_adk.artifacts import InMemoryArtifactService
from trio_adk.events import Event
from trio_adk.models import LlmResponse
from trio_adk.plugins import BasePlugin
from trio_adk.testing import ScriptedModel, error, function_call, function_calls
from trio_adk.tools import AgentTool, LongRunningFunctionTool, ToolContext
from trio_adk.tools.agent_tool import AgentTool as AdkPathAgentTool


def responses(event: Event) -> list[types.FunctionResponse]:
    return event.get_function_responses()


def tool_result(model: ScriptedModel, call: int = 1) -> Any:
    """The function response the parent's model saw on its ``call``-th request."""
    contents = model.requests[call].contents
    response = contents[-1].parts[0].function_response  # type: ignore[index]
    assert response is not None
    return response.response


def run_under_asyncio(parent: Agent) -> None:
    """One turn of ``parent`` under ``asyncio.run``, its events drained."""

    async def main() -> None:
        async with InMemoryRunner(agent=parent, app_name=APP) as runner:
            await collect(runner.run_async(user_id=USER, session_id="s1",
                                           new_message=user_text("go")))

    asyncio.run(main())


def parent_of(child: Any, *replies: Any, **kwargs: Any) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(replies=list(replies))
    tool = AgentTool(child, **kwargs)
    return Agent(name="parent", model=model, tools=[tool]), model


class City(BaseModel):
    name: str
    country: str | None = None


class Forecast(BaseModel):
    city: str
    rain: bool | None = None


# ---- the ADK surface -----------------------------------------------------------------


def test_adk_import_path_and_declaration_without_input_schema() -> None:
    """``trio_adk.tools.agent_tool.AgentTool`` is the tool; without an input schema it
    declares one required string parameter, ``request``, named and described by the
    agent."""
    assert AdkPathAgentTool is AgentTool
    child = Agent(name="helper", description="Helps.", model=ScriptedModel(replies=[]))
    declaration = AgentTool(child)._get_declaration()
    assert "helper" == declaration.name
    assert "Helps." == declaration.description
    assert declaration.parameters is not None
    assert ["request"] == list(declaration.parameters.properties or {})
    assert types.Type.STRING == declaration.parameters.properties["request"].type  # type: ignore[index]
    assert ["request"] == declaration.parameters.required


def test_declaration_with_input_schema_lists_its_fields() -> None:
    """With an input schema the parameters are its fields (the first sub-agent's schema
    for a workflow agent); the name and description stay the agent's."""
    first = Agent(name="first", model=ScriptedModel(replies=[]), input_schema=City)
    pipeline = SequentialAgent(name="pipeline", description="Looks up.", sub_agents=[first])
    for agent in (Agent(name="lookup", description="Looks up.",
                        model=ScriptedModel(replies=[]), input_schema=City), pipeline):
        declaration = AgentTool(agent)._get_declaration()
        assert agent.name == declaration.name
        assert "Looks up." == declaration.description
        assert declaration.parameters is not None
        assert {"name", "country"} == set(declaration.parameters.properties or {})
        assert ["name"] == declaration.parameters.required


def test_bad_arguments_are_rejected_naming_them() -> None:
    with pytest.raises(TypeError, match=r"^agent must be a BaseAgent, got str"):
        AgentTool("helper")  # type: ignore[arg-type]
    child = Agent(name="helper", model=ScriptedModel(replies=[]))
    with pytest.raises(TypeError, match=r"stream_events=\.\.\.\) must be a bool, got str"):
        AgentTool(child, stream_events="yes")  # type: ignore[arg-type]


# ---- results -------------------------------------------------------------------------


async def test_result_is_the_childs_final_text_and_only_the_callers_events_show() -> None:
    """The child gets ``request`` as its user message; its final text is the tool's
    result; the caller's consumer sees (and its session stores) only the caller's
    events: the call, the response, the summary."""
    child_model = ScriptedModel(replies=["child says hi"])
    child = Agent(name="helper", model=child_model)
    parent, model = parent_of(child, function_call("helper", {"request": "greet"}), "done")
    runner = await make_runner(parent)
    events = await run_text(runner, "go")
    assert {"result": "child says hi"} == tool_result(model)
    assert "greet" == child_model.requests[0].contents[-1].parts[0].text  # type: ignore[index]
    assert ["parent"] * 3 == [e.author for e in events]
    assert "done" == events[-1].content.parts[0].text  # type: ignore[union-attr,index]
    assert events == (await stored_events(runner))[1:]


async def test_input_schema_arguments_reach_the_child_as_json() -> None:
    child_model = ScriptedModel(replies=["ok"])
    child = Agent(name="lookup", model=child_model, input_schema=City)
    parent, _ = parent_of(child, function_call("lookup", {"name": "Paris"}), "done")
    await run_text(await make_runner(parent), "go")
    assert '{"name":"Paris"}' == child_model.requests[0].contents[-1].parts[0].text  # type: ignore[index]


@pytest.mark.parametrize("reply", [
    '{"city": "Paris", "rain": null}',
    '```json\n{"city": "Paris"}\n```',
])
async def test_output_schema_result_is_the_parsed_json(reply: str) -> None:
    """With an output schema the result is the validated object as a dict, ``None``
    fields left out (a Markdown code fence around the JSON is removed)."""
    child = Agent(name="forecaster", model=ScriptedModel(replies=[reply]),
                  output_schema=Forecast)
    parent, model = parent_of(child, function_call("forecaster", {"request": "x"}), "done")
    await run_text(await make_runner(parent), "go")
    assert {"city": "Paris"} == tool_result(model)


async def test_several_text_parts_are_joined_by_newlines_thoughts_left_out() -> None:
    reply = types.Content(role="model", parts=[
        types.Part(text="thinking", thought=True), types.Part(text="a"),
        types.Part(text="b")])
    child = Agent(name="helper", model=ScriptedModel(replies=[LlmResponse(content=reply)]))
    parent, model = parent_of(child, function_call("helper", {"request": "x"}), "done")
    await run_text(await make_runner(parent), "go")
    assert {"result": "a\nb"} == tool_result(model)


# ---- state and artifacts -------------------------------------------------------------


async def test_state_flows_in_and_the_childs_deltas_flow_back() -> None:
    """The child starts from the caller's state (``_adk`` keys left out); its state
    writes (a tool's, its ``output_key``) land in the caller's session state and in the
    function response's state delta."""
    seen: dict[str, Any] = {}

    def remember(tool_context: ToolContext) -> str:
        """Remember."""
        seen.update(tool_context.state.to_dict())
        tool_context.state["note"] = "from child"
        return "ok"

    child = Agent(name="helper", model=ScriptedModel(
        replies=[function_call("remember", {}), "answer"]), tools=[remember],
        output_key="helper_out")
    parent, _ = parent_of(child, function_call("helper", {"request": "x"}), "done")
    runner = await make_runner(parent)
    await runner.session_service.create_session(
        app_name=APP, user_id=USER, session_id="s2",
        state={"topic": "weather", "_adk_internal": 1})
    events = await run_text(runner, "go", session_id="s2")
    assert {"topic": "weather"} == seen
    seen.clear()
    session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                       session_id="s2")
    assert session is not None
    assert "from child" == session.state["note"]
    assert "answer" == session.state["helper_out"]
    response_event = next(e for e in events if e.get_function_responses())
    assert {"note": "from child", "helper_out": "answer"} == \
        response_event.actions.state_delta


async def test_artifacts_of_the_child_are_the_callers_sessions() -> None:
    """What the child saves is stored in the caller's session (and recorded in the
    function response's artifact delta); what the caller saved, the child can load."""
    loaded: list[Any] = []

    async def keep(tool_context: ToolContext) -> str:
        """Keep a file."""
        loaded.append(await tool_context.load_artifact("in.txt"))
        await tool_context.save_artifact("out.txt", types.Part(text="made by child"))
        return "kept"

    child = Agent(name="helper", model=ScriptedModel(
        replies=[function_call("keep", {}), "done"]), tools=[keep])
    parent, _ = parent_of(child, function_call("helper", {"request": "x"}), "done")
    artifacts = InMemoryArtifactService()
    runner = await make_runner(parent, artifact_service=artifacts)
    await artifacts.save_artifact(app_name=APP, user_id=USER, session_id="s1",
                                  filename="in.txt", artifact=types.Part(text="given"))
    events = await run_text(runner, "go")
    assert [types.Part(text="given")] == loaded
    saved = await artifacts.load_artifact(app_name=APP, user_id=USER, session_id="s1",
                                          filename="out.txt")
    assert saved is not None and "made by child" == saved.text
    response_event = next(e for e in events if e.get_function_responses())
    assert {"out.txt": 0} == response_event.actions.artifact_delta


# ---- skip_summarization --------------------------------------------------------------


async def test_skip_summarization_ends_the_turn_with_the_response() -> None:
    """The caller's model is called once: the function response is the final event."""
    child = Agent(name="helper", model=ScriptedModel(replies=["child answer"]))
    parent, model = parent_of(child, function_call("helper", {"request": "x"}),
                              skip_summarization=True)
    events = await run_text(await make_runner(parent), "go")
    assert 1 == model.calls
    last = events[-1]
    assert last.actions.skip_summarization
    assert last.is_final_response()
    assert [{"result": "child answer"}] == [r.response for r in responses(last)]


# ---- errors and cancellation ---------------------------------------------------------


async def test_an_error_in_the_child_reaches_the_consumer_unchanged() -> None:
    child = Agent(name="helper", model=ScriptedModel(replies=[error(KeyError("lost"))]))
    parent, _ = parent_of(child, function_call("helper", {"request": "x"}), "done")
    runner = await make_runner(parent)
    with pytest.raises(KeyError) as info:
        await run_text(runner, "go")
    assert KeyError is type(info.value)
    assert ("lost",) == info.value.args


async def test_cancelling_the_caller_cancels_the_child_and_waits_for_its_cleanup(
    autojump_clock: Any,
) -> None:
    """A consumer giving up after 5 s while the child's tool waits: the child is
    cancelled, and its 2 s (shielded) cleanup has finished when the run's generator
    closes."""
    log: list[str] = []

    async def slow(tool_context: ToolContext) -> str:
        """Work for a long time."""
        log.append("started")
        try:
            await trio.sleep(100)
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(2)
            log.append("cleaned")
        return "never"

    child = Agent(name="helper", model=ScriptedModel(
        replies=[function_call("slow", {})]), tools=[slow])
    parent, _ = parent_of(child, function_call("helper", {"request": "x"}))
    runner = await make_runner(parent)
    got: list[Event] = []
    with trio.move_on_after(5):
        async with aclosing(runner.run_async(user_id=USER, session_id="s1",
                                             new_message=user_text("go"))) as events:
            async for event in events:
                got.append(event)
    assert ["started", "cleaned"] == log
    assert 7 == trio.current_time()
    assert [True] == [bool(e.get_function_calls()) for e in got]


# ---- plugins -------------------------------------------------------------------------


class ModelCalls(BasePlugin):
    def __init__(self) -> None:
        super().__init__(name="model_calls")
        self.agents: list[str] = []

    async def before_model_callback(self, *, callback_context: Any,
                                    llm_request: Any) -> None:
        self.agents.append(callback_context.agent_name)


@pytest.mark.parametrize("include", [True, False])
async def test_the_callers_plugins_see_the_child_unless_left_out(include: bool) -> None:
    child = Agent(name="helper", model=ScriptedModel(replies=["hi"]))
    parent, _ = parent_of(child, function_call("helper", {"request": "x"}), "done",
                          include_plugins=include)
    plugin = ModelCalls()
    await run_text(await make_runner(parent, plugins=[plugin]), "go")
    expected = ["parent", "helper", "parent"] if include else ["parent", "parent"]
    assert expected == plugin.agents


# ---- stream_events (beyond ADK) ------------------------------------------------------


async def test_stream_events_hands_the_childs_events_over_as_they_happen() -> None:
    """With ``stream_events=True`` the consumer sees each child event as a partial copy
    (the child's author, the branch extended, the tool and call in custom_metadata)
    before the function response; they are not stored in the caller's session, and
    the result is unchanged."""

    def lookup() -> str:
        """Look up."""
        return "found"

    child = Agent(name="helper", model=ScriptedModel(
        replies=[function_call("lookup", {}), "child answer"]), tools=[lookup])
    parent, model = parent_of(child, function_call("helper", {"request": "x"}, id="c1"),
                              "done", stream_events=True)
    runner = await make_runner(parent)
    events = await run_text(runner, "go")
    streamed = [e for e in events if e.partial]
    assert ["parent", "helper", "helper", "helper", "parent", "parent"] == \
        [e.author for e in events]
    assert 3 == len(streamed)
    for event in streamed:
        assert "parent.helper" == event.branch
        assert {"tool": "helper", "function_call_id": "c1"} == \
            (event.custom_metadata or {})["trio_adk_agent_tool"]
    assert "child answer" == streamed[-1].content.parts[0].text  # type: ignore[union-attr,index]
    assert {"result": "child answer"} == tool_result(model)
    stored = await stored_events(runner)
    assert ["user", "parent", "parent", "parent"] == [e.author for e in stored]


async def test_streamed_child_events_keep_pull_semantics() -> None:
    """The child's tool runs only after the consumer came back for the event after the
    child's function call."""
    ran: list[str] = []

    def lookup() -> str:
        """Look up."""
        ran.append("lookup")
        return "found"

    child = Agent(name="helper", model=ScriptedModel(
        replies=[function_call("lookup", {}), "child answer"]), tools=[lookup])
    parent, _ = parent_of(child, function_call("helper", {"request": "x"}), "done",
                          stream_events=True)
    runner = await make_runner(parent)
    async with aclosing(runner.run_async(user_id=USER, session_id="s1",
                                         new_message=user_text("go"))) as events:
        async for event in events:
            if event.partial and event.get_function_calls():
                await trio.testing.wait_all_tasks_blocked()
                assert [] == ran
        assert ["lookup"] == ran


async def test_without_stream_events_nothing_of_the_child_is_handed_over() -> None:
    child = Agent(name="helper", model=ScriptedModel(replies=["hi"]))
    parent, _ = parent_of(child, function_call("helper", {"request": "x"}), "done")
    events = await run_text(await make_runner(parent), "go")
    assert not any(e.partial for e in events)


def test_agent_tool_works_for_an_asyncio_caller() -> None:
    """Under an asyncio caller the child's user code (a tool) runs on its loop."""
    libraries: list[str] = []

    async def where() -> str:
        """Where."""
        libraries.append(sniffio.current_async_library())
        await asyncio.sleep(0)
        return "here"

    child = Agent(name="helper", model=ScriptedModel(
        replies=[function_call("where", {}), "ok"]), tools=[where])
    parent, model = parent_of(child, function_call("helper", {"request": "x"}), "done")

    run_under_asyncio(parent)
    assert ["asyncio"] == libraries
    assert {"result": "ok"} == tool_result(model)


# ---- ADK's edge rules ----------------------------------------------------------------


async def test_a_child_waiting_on_a_long_running_call_returns_an_error_text() -> None:
    """A long-running call the child never got an answer to cannot be resumed: the
    result says so, and skip_summarization is turned off so the caller's model sees
    it."""

    def approve() -> None:
        """Ask for approval."""
        return None

    child = Agent(name="helper", model=ScriptedModel(
        replies=[function_call("approve", {}, id="lr1")]),
        tools=[LongRunningFunctionTool(approve)])
    parent, model = parent_of(child, function_call("helper", {"request": "x"}), "done",
                              skip_summarization=True)
    events = await run_text(await make_runner(parent), "go")
    result = tool_result(model)["result"]
    assert result.startswith("Error: agent 'helper' stopped waiting for long-running")
    assert "['lr1']" in result
    response_event = next(e for e in events if e.get_function_responses())
    assert not response_event.actions.skip_summarization


async def test_a_child_ending_on_a_model_error_returns_its_message() -> None:
    blocked = LlmResponse(error_code="SAFETY", error_message="blocked by policy")
    child = Agent(name="helper", model=ScriptedModel(replies=[blocked]))
    parent, model = parent_of(child, function_call("helper", {"request": "x"}), "done")
    await run_text(await make_runner(parent), "go")
    assert {"result": "blocked by policy"} == tool_result(model)


async def test_grounding_metadata_is_propagated_on_request() -> None:
    grounding = types.GroundingMetadata(web_search_queries=["q"])
    reply = LlmResponse(content=types.Content(role="model", parts=[types.Part(text="a")]),
                        grounding_metadata=grounding)
    child = Agent(name="helper", model=ScriptedModel(replies=[reply]))
    seen: list[Any] = []

    def after_tool(tool: Any, args: Any, tool_context: ToolContext,
                   tool_response: Any) -> None:
        seen.append(tool_context.state.get("temp:_adk_grounding_metadata"))

    model = ScriptedModel(replies=[function_call("helper", {"request": "x"}), "done"])
    parent = Agent(name="parent", model=model, after_tool_callback=after_tool,
                   tools=[AgentTool(child, propagate_grounding_metadata=True)])
    await run_text(await make_runner(parent), "go")
    assert [grounding] == seen


async def test_two_streaming_agent_tools_called_at_once_both_hand_over() -> None:
    """Parallel calls of two streaming AgentTools: every child event arrives, once."""
    first = Agent(name="first", model=ScriptedModel(replies=["one"]))
    second = Agent(name="second", model=ScriptedModel(replies=["two"]))
    model = ScriptedModel(replies=[
        function_calls(("first", {"request": "a"}), ("second", {"request": "b"})), "done"])
    parent = Agent(name="parent", model=model, tools=[
        AgentTool(first, stream_events=True), AgentTool(second, stream_events=True)])
    events = await run_text(await make_runner(parent), "go")
    assert ["first", "second"] == sorted(e.author for e in events if e.partial)
    assert [{"result": "one"}, {"result": "two"}] == \
        [r.response for r in model.requests[1].contents[-1].parts  # type: ignore[union-attr]
         for r in [r.function_response] if r is not None]


async def test_agent_tasks_the_child_left_running_are_reaped_before_the_result(
    autojump_clock: Any,
) -> None:
    """A custom child agent that stops reading a sub-agent's ``run_async`` without
    closing it: the child run cancels that sub-agent's task and waits for its (1 s,
    shielded) cleanup before the tool returns."""
    log: list[str] = []
    kept: list[Any] = []

    class Sub(BaseAgent):
        async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
            try:
                yield Event(author=self.name, content=types.Content(
                    role="model", parts=[types.Part(text="first")]))
                await trio.sleep(100)
            finally:
                with trio.CancelScope(shield=True):
                    await trio.sleep(1)
                log.append("cleaned")

    class Leaky(BaseAgent):
        async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
            events = self.sub_agents[0].run_async(ctx)
            kept.append(events)  # left open on purpose
            yield await events.__anext__()

    def after_tool(tool: Any, args: Any, tool_context: ToolContext,
                   tool_response: Any) -> None:
        log.append("tool returned")

    model = ScriptedModel(replies=[function_call("leaky", {"request": "x"}), "done"])
    parent = Agent(name="parent", model=model, after_tool_callback=after_tool,
                   tools=[AgentTool(Leaky(name="leaky", sub_agents=[Sub(name="sub")]))])
    await run_text(await make_runner(parent), "go")
    assert ["cleaned", "tool returned"] == log
    assert {"result": "first"} == tool_result(model)


def test_a_subclass_awaits_the_base_run_async_from_asyncio() -> None:
    """An ADK-style subclass overriding ``run_async`` runs on the asyncio caller's loop
    and can await ``super().run_async`` there."""
    libraries: list[str] = []

    class Shouting(AgentTool):
        async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
            libraries.append(sniffio.current_async_library())
            result = await super().run_async(args=args, tool_context=tool_context)
            await asyncio.sleep(0)
            return str(result).upper()

    child = Agent(name="helper", model=ScriptedModel(replies=["quiet"]))
    model = ScriptedModel(replies=[function_call("helper", {"request": "x"}), "done"])
    parent = Agent(name="parent", model=model, tools=[Shouting(child)])

    run_under_asyncio(parent)
    assert ["asyncio"] == libraries
    assert {"result": "QUIET"} == tool_result(model)


async def test_the_child_sees_state_values_a_new_session_would_refuse() -> None:
    """State the caller's tools wrote that is not JSON (a datetime) reaches the child;
    ``temp:`` keys do not (a new session has none)."""
    seen: dict[str, Any] = {}
    when = datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)

    def look(tool_context: ToolContext) -> str:
        """Look."""
        seen.update(tool_context.state.to_dict())
        return "ok"

    def prepare(tool_context: ToolContext) -> str:
        """Prepare."""
        tool_context.state["when"] = when
        tool_context.state["temp:scratch"] = types.GroundingMetadata()
        return "ready"

    child = Agent(name="helper", model=ScriptedModel(
        replies=[function_call("look", {}), "seen"]), tools=[look])
    model = ScriptedModel(replies=[function_call("prepare", {}),
                                   function_call("helper", {"request": "x"}), "done"])
    parent = Agent(name="parent", model=model, tools=[prepare, AgentTool(child)])
    await run_text(await make_runner(parent), "go")
    assert {"when": when} == seen
    assert {"result": "seen"} == tool_result(model, 2)


async def test_a_compact_text_stream_leaves_out_the_childs_relayed_text() -> None:
    """``runner.run_live(agent, input_text=...)`` streams the reply: what a streaming
    AgentTool relays from its child is not part of it."""
    from trio_adk import Runner

    child = Agent(name="helper", model=ScriptedModel(replies=["child answer"]))
    parent, _ = parent_of(child, function_call("helper", {"request": "x"}, id="c1"),
                          "done", stream_events=True)
    async with Runner() as runner:
        chunks = [chunk async for chunk in runner.run_live(parent, input_text="go")]
    assert ["done"] == chunks
