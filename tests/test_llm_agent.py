"""LlmAgent: model resolution, instructions, tools, the LLM loop, transfer, callbacks, limits."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest
import trio
from google.genai import types
from pydantic import BaseModel

from helpers import APP, USER, collect, make_runner, run_text, stored_events, texts, user_text
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk._run import find_agent_to_run, is_transferable_across_tree
from trio_adk.agents import (
    CallbackContext,
    LlmAgent,
    ReadonlyContext,
    RunConfig,
    SequentialAgent,
    StreamingMode,
)
from trio_adk.errors import LlmCallsLimitExceededError
from trio_adk.events import Event, EventActions
from trio_adk.models import BaseLlm, LLMRegistry, LlmRequest, LlmResponse
from trio_adk.plugins import BasePlugin
from trio_adk.sessions import Session
from trio_adk.testing import (
    FunctionModel,
    ScriptedModel,
    chunks,
    error,
    function_call,
    function_calls,
    text,
)
from trio_adk.tools import ToolContext

IDENTITY = 'You are an agent. Your internal name is "{}".'


# ---- small helpers -------------------------------------------------------------------


def model_text(value: str) -> types.Content:
    return types.Content(role="model", parts=[types.Part(text=value)])


def text_response(value: str) -> LlmResponse:
    return LlmResponse(content=model_text(value))


def responses_of(event: Event) -> list[dict[str, Any] | None]:
    """The ``response`` dicts of an event's function responses, in part order."""
    return [r.response for r in event.get_function_responses()]


def declarations(request: LlmRequest) -> dict[str, types.FunctionDeclaration]:
    """Every function declaration of a request, by name."""
    out: dict[str, types.FunctionDeclaration] = {}
    for tool in request.config.tools or []:
        assert isinstance(tool, types.Tool)
        for declaration in tool.function_declarations or []:
            assert declaration.name is not None
            out[declaration.name] = declaration
    return out


def shape(contents: list[types.Content]) -> list[tuple[str | None, list[str]]]:
    """Contents as (role, [text of each part, or a marker for calls/responses])."""
    out = []
    for content in contents:
        parts = []
        for part in content.parts or []:
            if part.function_call is not None:
                parts.append(f"call:{part.function_call.name}:{part.function_call.id}")
            elif part.function_response is not None:
                parts.append(f"response:{part.function_response.name}:"
                             f"{part.function_response.id}")
            else:
                parts.append(part.text or "")
        out.append((content.role, parts))
    return out


def system_instruction(request: LlmRequest) -> str:
    value = request.config.system_instruction
    assert isinstance(value, str)
    return value


async def run_until_error(
    runner: Runner, message: str, *, session_id: str = "s1", **kwargs: Any
) -> tuple[list[Event], BaseException]:
    """Run one turn that is expected to fail: the events received, then the error."""
    got: list[Event] = []
    gen = runner.run_async(user_id=USER, session_id=session_id,
                           new_message=user_text(message), **kwargs)
    try:
        async with aclosing(gen):
            async for event in gen:
                got.append(event)
    except Exception as exc:
        return got, exc
    raise AssertionError(f"the run did not fail; events: {texts(got)}")


async def session_state(runner: Runner, session_id: str = "s1") -> dict[str, Any]:
    session = await runner.session_service.get_session(app_name=runner.app_name, user_id=USER,
                                                       session_id=session_id)
    assert session is not None
    return session.state


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


# ---- model resolution ------------------------------------------------------------------


class _EchoLlm(BaseLlm):
    """A registry-resolvable model that answers with its own model name."""

    @classmethod
    def supported_models(cls) -> list[str]:
        return [r"echo-test-\d+"]

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        yield text_response(f"echo from {self.model} for {llm_request.model}")


async def test_model_string_is_resolved_through_the_registry() -> None:
    """A model name is resolved by LLMRegistry to the class whose pattern fully matches."""
    LLMRegistry.register(_EchoLlm)
    assert _EchoLlm is LLMRegistry.resolve("echo-test-7")
    agent = Agent(name="bot", model="echo-test-7")
    llm = agent.canonical_model
    assert isinstance(llm, _EchoLlm)
    assert "echo-test-7" == llm.model
    assert llm is agent.canonical_model
    runner = await make_runner(agent)
    events = await run_text(runner, "hi")
    assert ["echo from echo-test-7 for echo-test-7"] == texts(events)


async def test_unknown_model_name_is_a_clear_value_error() -> None:
    """A name no registered pattern fully matches raises ValueError naming the model."""
    LLMRegistry.register(_EchoLlm)
    with pytest.raises(ValueError, match=r"^Model no-such-model-3 not found"):
        LLMRegistry.resolve("no-such-model-3")
    # fullmatch, not search: a registered pattern inside a longer name does not match.
    with pytest.raises(ValueError, match=r"^Model x-echo-test-1 not found"):
        Agent(name="bot", model="x-echo-test-1").canonical_model  # noqa: B018
    runner = await make_runner(Agent(name="bot", model="no-such-model-3"))
    got, exc = await run_until_error(runner, "hi")
    assert [] == got
    assert ValueError is type(exc)
    assert str(exc).startswith("Model no-such-model-3 not found")


async def test_model_is_inherited_from_the_nearest_llm_ancestor() -> None:
    """An agent without a model uses its nearest LlmAgent ancestor's, across non-LLM agents."""
    model = ScriptedModel(replies=["from the leaf"])
    leaf = Agent(name="leaf")
    direct = Agent(name="direct")
    root = Agent(name="root", model=model, sub_agents=[
        SequentialAgent(name="seq", sub_agents=[leaf]), direct])
    assert model is leaf.canonical_model
    assert model is direct.canonical_model
    assert model is root.canonical_model
    runner = await make_runner(leaf)
    events = await run_text(runner, "hi")
    assert ["from the leaf"] == texts(events)
    assert 1 == model.calls


async def test_no_model_anywhere_uses_the_default_model() -> None:
    """Without a model on the agent or an LlmAgent ancestor, the default model is used,
    as in ADK 2.13: ``DEFAULT_MODEL`` (a Gemini) unless ``set_default_model`` changed it."""
    leaf = Agent(name="leaf")
    SequentialAgent(name="seq", sub_agents=[leaf])
    assert LlmAgent.DEFAULT_MODEL == leaf.canonical_model.model
    scripted = ScriptedModel(replies=["from the default"])
    LlmAgent.set_default_model(scripted)
    try:
        runner = await make_runner(Agent(name="lonely"))
        got = await run_text(runner, "hi")
    finally:
        LlmAgent.set_default_model(LlmAgent.DEFAULT_MODEL)
    assert ["from the default"] == texts(got)
    with pytest.raises(TypeError, match="default model"):
        LlmAgent.set_default_model(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="default model"):
        LlmAgent.set_default_model("")


# ---- instructions ----------------------------------------------------------------------


async def test_instruction_is_templated_from_state() -> None:
    """{key}, {app:key} and {user:key} are filled from state; {key?} missing becomes ''."""
    model = ScriptedModel(replies=["ok"])
    agent = Agent(name="bot", model=model,
                  instruction="Hi {name}; tier {user:tier}; region {app:region}; "
                              "mood [{mood?}]; count {count}.")
    runner = await make_runner(agent)
    await run_text(runner, "hi", state_delta={
        "name": "Ada", "user:tier": "gold", "app:region": "eu", "count": 3})
    expected = ("Hi Ada; tier gold; region eu; mood []; count 3.\n\n"
                + IDENTITY.format("bot"))
    assert expected == system_instruction(model.requests[0])


async def test_non_identifier_placeholders_are_left_verbatim() -> None:
    """Braces around something that is not a state name are not touched."""
    model = ScriptedModel(replies=["ok"])
    template = 'Keep {not a key} and {1abc} and {"json": 1} but fill {x}.'
    runner = await make_runner(Agent(name="bot", model=model, instruction=template))
    await run_text(runner, "hi", state_delta={"x": "X"})
    assert system_instruction(model.requests[0]).startswith(
        'Keep {not a key} and {1abc} and {"json": 1} but fill X.\n\n')


async def test_missing_required_state_key_is_a_key_error() -> None:
    """A required placeholder without a state value raises KeyError before the model call."""
    model = ScriptedModel(replies=["never"])
    runner = await make_runner(Agent(name="bot", model=model, instruction="Hi {who}."))
    got, exc = await run_until_error(runner, "hi")
    assert KeyError is type(exc)
    assert "Context variable not found: `who`" in str(exc)
    assert [] == got
    assert 0 == model.calls
    assert ["user"] == [e.author for e in await stored_events(runner)]


async def test_artifact_placeholder_loads_the_artifact_text() -> None:
    """{artifact.<file>} is replaced by the text of the saved artifact."""
    model = ScriptedModel(replies=["ok"])
    runner = InMemoryRunner(Agent(name="bot", model=model,
                                  instruction="Notes: {artifact.notes.txt}!"))
    assert runner.artifact_service is not None
    await runner.artifact_service.save_artifact(
        app_name=runner.app_name, user_id=USER, session_id="s1", filename="notes.txt",
        artifact=types.Part(text="buy milk"))
    await run_text(runner, "hi")
    assert system_instruction(model.requests[0]).startswith("Notes: buy milk!\n\n")


async def test_instruction_providers_are_not_templated() -> None:
    """Sync and async instruction callables are used as returned, braces included."""
    sync_model = ScriptedModel(replies=["ok"])
    async_model = ScriptedModel(replies=["ok"])
    seen: list[str] = []

    def provide(ctx: ReadonlyContext) -> str:
        seen.append(ctx.agent_name)
        return "Sync {x} for " + ctx.agent_name

    async def provide_async(ctx: ReadonlyContext) -> str:
        await trio.lowlevel.checkpoint()
        return f"Async {{x}} with x={ctx.state['x']}"

    for model, provider in ((sync_model, provide), (async_model, provide_async)):
        runner = await make_runner(Agent(name="bot", model=model, instruction=provider))
        await run_text(runner, "hi", state_delta={"x": "VALUE"})
    assert system_instruction(sync_model.requests[0]).startswith("Sync {x} for bot\n\n")
    assert system_instruction(async_model.requests[0]).startswith(
        "Async {x} with x=VALUE\n\n")
    assert ["bot"] == seen


async def test_identity_sentence_names_and_describes_the_agent() -> None:
    """The system instruction ends with the identity sentence and the description."""
    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="helper", description="Answers questions.",
                                     model=model, instruction="Be brief."))
    await run_text(runner, "hi")
    expected = ('Be brief.\n\nYou are an agent. Your internal name is "helper". '
                'The description about you is "Answers questions.".')
    assert expected == system_instruction(model.requests[0])


async def test_global_instruction_of_the_root_applies_to_sub_agents() -> None:
    """The root's global_instruction (templated) comes first for every agent; a sub-agent's
    own global_instruction is ignored."""
    root_model = ScriptedModel(replies=[function_call("transfer_to_agent",
                                                      {"agent_name": "sub"})])
    sub_model = ScriptedModel(replies=["sub answer"])
    sub = Agent(name="sub", model=sub_model, instruction="I am sub.",
                global_instruction="SUB GLOBAL")
    root = Agent(name="root", model=root_model, instruction="I am root.",
                 global_instruction="Be {tone}.", sub_agents=[sub])
    runner = await make_runner(root)
    await run_text(runner, "hi", state_delta={"tone": "polite"})
    root_si = system_instruction(root_model.requests[0])
    sub_si = system_instruction(sub_model.requests[0])
    assert root_si.startswith("Be polite.\n\nI am root.\n\n" + IDENTITY.format("root"))
    assert sub_si.startswith("Be polite.\n\nI am sub.\n\n" + IDENTITY.format("sub"))
    assert "SUB GLOBAL" not in sub_si


# ---- tools -----------------------------------------------------------------------------


def get_weather(city: str, unit: str = "C") -> str:
    """Report the weather for a city."""
    return f"sunny in {city} ({unit})"


async def lookup(code: int, verbose: bool = False) -> dict[str, Any]:
    """Look a code up."""
    await trio.lowlevel.checkpoint()
    return {"code": code, "verbose": verbose}


def nothing() -> None:
    """Return nothing."""


async def test_function_tools_are_declared_to_the_model() -> None:
    """Plain sync and async functions are declared with name, description and schema;
    parameters with defaults are not required."""
    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[get_weather, lookup]))
    await run_text(runner, "hi")
    request = model.requests[0]
    found = declarations(request)
    assert ["get_weather", "lookup"] == list(found)
    assert {"get_weather", "lookup"} == set(request.tools_dict)
    weather = found["get_weather"]
    assert "Report the weather for a city." == weather.description
    assert weather.parameters is not None and weather.parameters.properties is not None
    assert types.Type.OBJECT == weather.parameters.type
    assert {"city": types.Type.STRING, "unit": types.Type.STRING} == {
        k: v.type for k, v in weather.parameters.properties.items()}
    assert ["city"] == weather.parameters.required
    look = found["lookup"]
    assert look.parameters is not None and look.parameters.properties is not None
    assert {"code": types.Type.INTEGER, "verbose": types.Type.BOOLEAN} == {
        k: v.type for k, v in look.parameters.properties.items()}
    assert ["code"] == look.parameters.required


async def test_tool_results_are_wrapped_unless_dicts() -> None:
    """A str or None result becomes {'result': ...}; a dict is sent as it is."""
    model = ScriptedModel(replies=[
        function_call("get_weather", {"city": "Paris"}),
        function_call("lookup", {"code": 7}),
        function_call("nothing"),
        "done",
    ])
    runner = await make_runner(Agent(name="bot", model=model,
                                     tools=[get_weather, lookup, nothing]))
    events = await run_text(runner, "hi")
    responses = [responses_of(e) for e in events if e.get_function_responses()]
    assert [
        [{"result": "sunny in Paris (C)"}],
        [{"code": 7, "verbose": False}],
        [{"result": None}],
    ] == responses
    assert ["done"] == texts(events)


async def test_tool_state_writes_land_in_the_response_event_and_session() -> None:
    """State written through tool_context travels in the response event's state_delta."""

    def remember(item: str, tool_context: ToolContext) -> str:
        tool_context.state["last_item"] = item
        tool_context.state["user:items"] = 1
        return "noted"

    model = ScriptedModel(replies=[function_call("remember", {"item": "milk"}), "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[remember]))
    events = await run_text(runner, "hi")
    assert [{}, {"last_item": "milk", "user:items": 1}, {}] == [
        e.actions.state_delta for e in events]
    assert {"last_item": "milk", "user:items": 1} == await session_state(runner)
    stored = await stored_events(runner)
    assert events == stored[1:]


async def test_parallel_calls_run_concurrently_and_merge_in_call_order(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Several calls of one model turn run at once; one merged response event lists the
    results in call order (not completion order) with the run's invocation id."""
    finished: list[str] = []

    async def slow(tool_context: ToolContext) -> str:
        await trio.sleep(2)
        finished.append("slow")
        tool_context.state["slow"] = True
        return "slow done"

    async def fast(tool_context: ToolContext) -> str:
        await trio.sleep(1)
        finished.append("fast")
        tool_context.state["fast"] = True
        return "fast done"

    model = ScriptedModel(replies=[function_calls(("slow", {}), ("fast", {})), "both"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[slow, fast]))
    start = trio.current_time()
    events = await run_text(runner, "go")
    assert 2.0 == pytest.approx(trio.current_time() - start, abs=0.01)
    assert ["fast", "slow"] == finished
    assert 3 == len(events)
    call_event, response_event, final = events
    calls = call_event.get_function_calls()
    responses = response_event.get_function_responses()
    assert ["slow", "fast"] == [r.name for r in responses]
    assert [c.id for c in calls] == [r.id for r in responses]
    assert [{"result": "slow done"}, {"result": "fast done"}] == responses_of(response_event)
    assert {"slow": True, "fast": True} == response_event.actions.state_delta
    invocation_id = (await stored_events(runner))[0].invocation_id
    assert [invocation_id] * 3 == [e.invocation_id for e in events]
    assert ["both"] == texts([final])


async def test_sync_tools_run_in_worker_threads_alongside_async_tools() -> None:
    """A blocking sync tool runs in a worker thread; an async tool of the same turn runs
    in the trio thread; both results come back."""
    ran: dict[str, bool] = {}

    def blocking() -> str:
        time.sleep(0.05)
        ran["blocking_in_main_thread"] = threading.current_thread() is threading.main_thread()
        return "blocked"

    async def quick() -> str:
        await trio.lowlevel.checkpoint()
        ran["quick_in_main_thread"] = threading.current_thread() is threading.main_thread()
        return "quick"

    model = ScriptedModel(replies=[function_calls(("blocking", {}), ("quick", {})), "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[blocking, quick]))
    events = await run_text(runner, "go")
    assert {"blocking_in_main_thread": False, "quick_in_main_thread": True} == ran
    assert [{"result": "blocked"}, {"result": "quick"}] == responses_of(events[1])


async def test_tool_round_trip_event_sequence() -> None:
    """A tool round trip yields the call event, the response event, then the final text."""
    model = ScriptedModel(replies=[function_call("add", {"a": 2, "b": 3}), "it is 5"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    events = await run_text(runner, "add")
    assert 3 == len(events)
    assert ["bot", "bot", "bot"] == [e.author for e in events]
    assert ["model", "user", "model"] == [e.content.role for e in events if e.content]
    assert ["add"] == [c.name for c in events[0].get_function_calls()]
    assert {"a": 2, "b": 3} == events[0].get_function_calls()[0].args
    assert [{"result": 5}] == responses_of(events[1])
    assert ["it is 5"] == texts(events[2:])
    assert [False, False, True] == [e.is_final_response() for e in events]
    assert 2 == model.calls
    assert len({e.id for e in events}) == 3


async def test_client_call_ids_are_assigned_and_stripped_from_history() -> None:
    """Calls without an id get 'adk-<uuid>' (the response reuses it); the next request
    sends the history without those ids, but keeps ids that came from the model."""
    model = ScriptedModel(replies=[
        function_call("add", {"a": 1, "b": 1}),
        function_call("add", {"a": 2, "b": 2}, id="model-id-9"),
        "done",
    ])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    events = await run_text(runner, "go")
    call_id = events[0].get_function_calls()[0].id
    assert call_id is not None and call_id.startswith("adk-")
    assert len(call_id) == len("adk-") + 36
    assert [call_id] == [r.id for r in events[1].get_function_responses()]
    assert ["model-id-9"] == [r.id for r in events[3].get_function_responses()]
    assert [
        ("user", ["go"]),
        ("model", ["call:add:None"]),
        ("user", ["response:add:None"]),
        ("model", ["call:add:model-id-9"]),
        ("user", ["response:add:model-id-9"]),
    ] == shape(model.requests[2].contents)
    # The session keeps the ids.
    stored = await stored_events(runner)
    assert call_id == stored[1].get_function_calls()[0].id


# ---- output_key --------------------------------------------------------------------------


async def test_output_key_saves_the_final_text() -> None:
    """The agent's final text is stored under output_key (in the event and in state)."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "three"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add],
                                     output_key="answer"))
    events = await run_text(runner, "hi")
    assert [{}, {}, {"answer": "three"}] == [e.actions.state_delta for e in events]
    assert {"answer": "three"} == await session_state(runner)


async def test_output_key_ignores_partial_events() -> None:
    """Streaming: only the final aggregated event carries the output_key value."""
    model = ScriptedModel(replies=[chunks(["Hel", "lo"])])
    runner = await make_runner(Agent(name="bot", model=model, output_key="greeting"))
    events = await run_text(runner, "hi",
                            run_config=RunConfig(streaming_mode=StreamingMode.SSE))
    assert [True, True, None] == [e.partial for e in events]
    assert [{}, {}, {"greeting": "Hello"}] == [e.actions.state_delta for e in events]
    assert {"greeting": "Hello"} == await session_state(runner)


async def test_output_key_ignores_other_agents_events() -> None:
    """A sub-agent's reply is not saved under the parent's output_key."""
    root_model = ScriptedModel(replies=[function_call("transfer_to_agent",
                                                      {"agent_name": "sub"})])
    sub = Agent(name="sub", model=ScriptedModel(replies=["sub text"]), output_key="sub_out")
    root = Agent(name="root", model=root_model, output_key="root_out", sub_agents=[sub])
    runner = await make_runner(root)
    events = await run_text(runner, "hi")
    assert ["sub text"] == texts(events)
    assert {"sub_out": "sub text"} == await session_state(runner)


class _Answer(BaseModel):
    value: int
    unit: str


async def test_output_key_with_output_schema_parses_json() -> None:
    """With output_schema the request asks for JSON and the saved value is the parsed dict."""
    model = ScriptedModel(replies=['{"value": 42, "unit": "m"}'])
    runner = await make_runner(Agent(name="bot", model=model, output_schema=_Answer,
                                     output_key="answer"))
    await run_text(runner, "hi")
    assert {"answer": {"value": 42, "unit": "m"}} == await session_state(runner)
    config = model.requests[0].config
    assert "application/json" == config.response_mime_type
    assert _Answer is config.response_schema


# ---- include_contents ------------------------------------------------------------------


async def test_default_contents_include_the_history() -> None:
    """By default the second turn's request holds the whole conversation."""
    model = ScriptedModel(replies=["one", "two"])
    runner = await make_runner(Agent(name="bot", model=model))
    await run_text(runner, "first")
    await run_text(runner, "second")
    assert [("user", ["first"]), ("model", ["one"]), ("user", ["second"])] == shape(
        model.requests[1].contents)


async def test_include_contents_none_sends_only_the_current_turn() -> None:
    """include_contents='none': earlier turns are left out, the current tool loop is kept."""
    model = ScriptedModel(replies=["one", function_call("add", {"a": 1, "b": 2}), "two"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add],
                                     include_contents="none"))
    await run_text(runner, "first")
    await run_text(runner, "second")
    assert [("user", ["second"])] == shape(model.requests[1].contents)
    assert [
        ("user", ["second"]), ("model", ["call:add:None"]), ("user", ["response:add:None"]),
    ] == shape(model.requests[2].contents)


async def test_other_agents_turns_are_user_role_context() -> None:
    """Another agent's text and tool use reach a model as user-role 'For context:' text."""
    root_model = ScriptedModel(replies=[
        function_call("transfer_to_agent", {"agent_name": "sub"}), "root again"])
    sub_model = ScriptedModel(replies=["sub reply"])
    sub = Agent(name="sub", model=sub_model, disallow_transfer_to_parent=True,
                disallow_transfer_to_peers=True)
    root = Agent(name="root", model=root_model, sub_agents=[sub])
    runner = await make_runner(root)
    await run_text(runner, "turn one")
    await run_text(runner, "turn two")

    sub_contents = shape(sub_model.requests[0].contents)
    assert ("user", ["turn one"]) == sub_contents[0]
    assert [("user", 2), ("user", 2)] == [(r, len(p)) for r, p in sub_contents[1:]]
    assert "For context:" == sub_contents[1][1][0]
    assert sub_contents[1][1][1].startswith("[root] called tool `transfer_to_agent` with "
                                            "parameters: ")
    assert '"sub"' in sub_contents[1][1][1]
    assert "For context:" == sub_contents[2][1][0]
    assert sub_contents[2][1][1].startswith("[root] `transfer_to_agent` tool returned result: ")

    root_contents = shape(root_model.requests[1].contents)
    assert [
        ("user", ["turn one"]),
        ("model", ["call:transfer_to_agent:None"]),
        ("user", ["response:transfer_to_agent:None"]),
        ("user", ["For context:", "[sub] said: sub reply"]),
        ("user", ["turn two"]),
    ] == root_contents


# ---- transfer_to_agent -----------------------------------------------------------------


async def test_transfer_runs_the_target_in_the_same_invocation() -> None:
    """Root call, root response with actions.transfer_to_agent, then the sub's reply; the
    next user turn goes straight to the sub-agent."""
    root_model = ScriptedModel(replies=[function_call("transfer_to_agent",
                                                      {"agent_name": "sub"})])
    sub_model = ScriptedModel(replies=["sub here", "sub again"])
    root = Agent(name="root", model=root_model,
                 sub_agents=[Agent(name="sub", model=sub_model)])
    runner = await make_runner(root)
    events = await run_text(runner, "hi")
    assert ["root", "root", "sub"] == [e.author for e in events]
    assert ["transfer_to_agent"] == [c.name for c in events[0].get_function_calls()]
    assert {"agent_name": "sub"} == events[0].get_function_calls()[0].args
    assert "sub" == events[1].actions.transfer_to_agent
    assert [{"result": None}] == responses_of(events[1])
    assert ["sub here"] == texts(events)
    assert 1 == len({e.invocation_id for e in events})
    assert events == (await stored_events(runner))[1:]

    events = await run_text(runner, "more")
    assert ["sub again"] == texts(events)
    assert ["sub"] == [e.author for e in events]
    assert (1, 2) == (root_model.calls, sub_model.calls)


async def test_non_transferable_sub_agent_hands_the_next_turn_back_to_root() -> None:
    """With disallow_transfer_to_parent on the sub-agent, the next turn starts at root."""
    root_model = ScriptedModel(replies=[
        function_call("transfer_to_agent", {"agent_name": "sub"}), "root again"])
    sub_model = ScriptedModel(replies=["sub here"])
    root = Agent(name="root", model=root_model, sub_agents=[
        Agent(name="sub", model=sub_model, disallow_transfer_to_parent=True)])
    runner = await make_runner(root)
    await run_text(runner, "hi")
    events = await run_text(runner, "more")
    assert ["root again"] == texts(events)
    assert (2, 1) == (root_model.calls, sub_model.calls)


async def test_transfer_to_an_unknown_agent_is_a_value_error() -> None:
    """A transfer to a name outside the tree raises ValueError after the response event."""
    root_model = ScriptedModel(replies=[function_call("transfer_to_agent",
                                                      {"agent_name": "ghost"})])
    root = Agent(name="root", model=root_model,
                 sub_agents=[Agent(name="sub", model=ScriptedModel(replies=[]))])
    runner = await make_runner(root)
    got, exc = await run_until_error(runner, "hi")
    assert ValueError is type(exc)
    assert "Agent ghost not found in the agent tree" in str(exc)
    assert 2 == len(got)
    assert "ghost" == got[1].actions.transfer_to_agent
    assert got == (await stored_events(runner))[1:]


async def test_transfer_tool_lists_the_allowed_targets() -> None:
    """The transfer tool's agent_name enum holds sub-agents, then the parent, then peers,
    each only when allowed; the instruction lists them too."""
    root_model = ScriptedModel(replies=[function_call("transfer_to_agent",
                                                      {"agent_name": "first"})])
    first_model = ScriptedModel(replies=["first here"])
    lone_model = ScriptedModel(replies=["lone here"])
    first = Agent(name="first", description="Does first things.", model=first_model,
                  sub_agents=[Agent(name="leaf", model=ScriptedModel(replies=[]))])
    second = Agent(name="second", model=ScriptedModel(replies=[]))
    lone = Agent(name="lone", model=lone_model, disallow_transfer_to_parent=True,
                 disallow_transfer_to_peers=True)
    root = Agent(name="root", model=root_model, sub_agents=[first, second, lone])
    runner = await make_runner(root)
    await run_text(runner, "hi")

    def targets(request: LlmRequest) -> list[str] | None:
        declaration = declarations(request).get("transfer_to_agent")
        if declaration is None:
            return None
        assert declaration.parameters is not None
        assert declaration.parameters.properties is not None
        assert ["agent_name"] == declaration.parameters.required
        return declaration.parameters.properties["agent_name"].enum

    assert ["first", "second", "lone"] == targets(root_model.requests[0])
    assert ["leaf", "root", "second", "lone"] == targets(first_model.requests[0])
    root_si = system_instruction(root_model.requests[0])
    assert "Agent name: first\nAgent description: Does first things." in root_si
    assert "Agent name: lone" in root_si

    runner = await make_runner(lone)
    await run_text(runner, "hi")
    assert targets(lone_model.requests[0]) is None
    assert "transfer_to_agent" not in system_instruction(lone_model.requests[0])


# ---- choosing the agent to run ---------------------------------------------------------


def _tree() -> tuple[LlmAgent, dict[str, Any]]:
    model = ScriptedModel(replies=[])
    sub = Agent(name="sub", model=model)
    fixed = Agent(name="fixed", model=model, disallow_transfer_to_parent=True)
    leaf = Agent(name="leaf", model=model)
    seq = SequentialAgent(name="seq", sub_agents=[leaf])
    root = Agent(name="root", model=model, sub_agents=[sub, fixed, seq])
    return root, {"sub": sub, "fixed": fixed, "leaf": leaf, "seq": seq}


def _session(*events: Event) -> Session:
    return Session(id="s", app_name=APP, user_id=USER, events=list(events))


def _said(author: str, value: str = "x") -> Event:
    role = "user" if author == "user" else "model"
    return Event(author=author, invocation_id="e-1",
                 content=types.Content(role=role, parts=[types.Part(text=value)]))


def _called(author: str, call_id: str) -> Event:
    call = types.FunctionCall(id=call_id, name="tool", args={})
    return Event(author=author, invocation_id="e-1",
                 content=types.Content(role="model", parts=[types.Part(function_call=call)]))


def _answered(call_id: str) -> Event:
    response = types.FunctionResponse(id=call_id, name="tool", response={"ok": True})
    return Event(author="user", invocation_id="e-2", content=types.Content(
        role="user", parts=[types.Part(function_response=response)]))


async def test_find_agent_to_run_rules(caplog: pytest.LogCaptureFixture) -> None:
    """Root when there is no history; the newest transferable author otherwise; non-
    transferable and unknown authors are skipped (unknown ones logged)."""
    root, agents = _tree()
    assert root is find_agent_to_run(_session(), root)
    assert root is find_agent_to_run(_session(_said("user")), root)
    assert agents["sub"] is find_agent_to_run(_session(_said("sub"), _said("user")), root)
    assert root is find_agent_to_run(
        _session(_said("sub"), _said("root"), _said("user")), root)
    # not transferable: skipped, the older transferable author wins
    assert agents["sub"] is find_agent_to_run(
        _session(_said("sub"), _said("fixed"), _said("user")), root)
    assert root is find_agent_to_run(_session(_said("fixed"), _said("user")), root)
    # under a SequentialAgent: never resumed directly
    assert root is find_agent_to_run(_session(_said("leaf"), _said("user")), root)
    with caplog.at_level(logging.WARNING, logger="trio_adk"):
        assert agents["sub"] is find_agent_to_run(
            _session(_said("sub"), _said("stranger"), _said("user")), root)
    assert any("stranger" in r.getMessage() for r in caplog.records)


async def test_find_agent_to_run_routes_function_responses_first() -> None:
    """A function response goes to the agent that made the call, even when that agent is
    not transferable and a newer transferable author exists."""
    root, agents = _tree()
    session = _session(_called("fixed", "c1"), _said("sub"), _answered("c1"))
    assert agents["fixed"] is find_agent_to_run(session, root)
    session = _session(_called("leaf", "c2"), _answered("c2"))
    assert agents["leaf"] is find_agent_to_run(session, root)
    # a response whose caller is gone falls through to the normal scan
    session = _session(_said("sub"), _called("gone", "c3"), _answered("c3"))
    assert agents["sub"] is find_agent_to_run(session, root)


def test_transferability_needs_llm_agents_all_the_way_up() -> None:
    """is_transferable_across_tree is false through a non-LLM parent or a disallowing agent."""
    root, agents = _tree()
    assert is_transferable_across_tree(agents["sub"])
    assert is_transferable_across_tree(root)
    assert not is_transferable_across_tree(agents["fixed"])
    assert not is_transferable_across_tree(agents["leaf"])
    assert not is_transferable_across_tree(agents["seq"])


# ---- agent callbacks -------------------------------------------------------------------


async def test_before_agent_callbacks_stop_at_the_first_truthy_result() -> None:
    """Agent callback lists run in order (sync and async) until one returns content; that
    content is the agent's only event and the model is not called."""
    calls: list[str] = []

    def first(callback_context: CallbackContext) -> None:
        calls.append("first")

    async def second(callback_context: CallbackContext) -> types.Content:
        calls.append("second")
        return model_text("skipped by callback")

    def third(callback_context: CallbackContext) -> None:
        calls.append("third")

    def after(callback_context: CallbackContext) -> None:
        calls.append("after")

    model = ScriptedModel(replies=[])
    runner = await make_runner(Agent(name="bot", model=model,
                                     before_agent_callback=[first, second, third],
                                     after_agent_callback=after))
    events = await run_text(runner, "hi")
    assert ["first", "second"] == calls
    assert ["skipped by callback"] == texts(events)
    assert ["bot"] == [e.author for e in events]
    assert 0 == model.calls
    assert events == (await stored_events(runner))[1:]


class _AgentHooks(BasePlugin):
    def __init__(self, before: types.Content | None, after: types.Content | None) -> None:
        super().__init__(name="agent_hooks")
        self.before = before
        self.after = after
        self.calls: list[str] = []

    async def before_agent_callback(self, *, agent, callback_context):  # type: ignore[no-untyped-def]
        self.calls.append(f"before:{agent.name}")
        return self.before

    async def after_agent_callback(self, *, agent, callback_context):  # type: ignore[no-untyped-def]
        self.calls.append(f"after:{agent.name}")
        return self.after


async def test_plugin_before_agent_result_suppresses_the_agents_callback() -> None:
    """A plugin's before_agent content skips the agent's own callback and the model."""
    agent_calls: list[str] = []
    plugin = _AgentHooks(before=model_text("plugin says no"), after=None)
    model = ScriptedModel(replies=[])
    runner = await make_runner(
        Agent(name="bot", model=model,
              before_agent_callback=lambda callback_context: agent_calls.append("own")),
        plugins=[plugin])
    events = await run_text(runner, "hi")
    assert ["plugin says no"] == texts(events)
    assert [] == agent_calls
    assert ["before:bot"] == plugin.calls
    assert 0 == model.calls


async def test_after_agent_content_is_an_extra_event() -> None:
    """after_agent content (sync or async callback) is emitted after the agent's reply;
    a plugin's after_agent result suppresses the agent's own."""

    async def after(callback_context: CallbackContext) -> types.Content:
        return model_text("after note")

    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["reply"]),
                                     after_agent_callback=after))
    events = await run_text(runner, "hi")
    assert ["reply", "after note"] == texts(events)
    assert ["bot", "bot"] == [e.author for e in events]
    assert events == (await stored_events(runner))[1:]

    own: list[str] = []
    plugin = _AgentHooks(before=None, after=model_text("plugin after"))
    runner = await make_runner(
        Agent(name="bot", model=ScriptedModel(replies=["reply"]),
              after_agent_callback=lambda callback_context: own.append("own")),
        plugins=[plugin])
    events = await run_text(runner, "hi")
    assert ["reply", "plugin after"] == texts(events)
    assert [] == own
    assert ["before:bot", "after:bot"] == plugin.calls


async def test_before_agent_state_change_yields_a_content_less_event() -> None:
    """A before_agent callback that only writes state yields an event without content
    carrying the delta; the agent then runs."""

    def mark(callback_context: CallbackContext) -> None:
        callback_context.state["seen"] = "yes"

    model = ScriptedModel(replies=["reply"])
    runner = await make_runner(Agent(name="bot", model=model, before_agent_callback=mark))
    events = await run_text(runner, "hi")
    assert 2 == len(events)
    assert events[0].content is None
    assert "bot" == events[0].author
    assert {"seen": "yes"} == events[0].actions.state_delta
    assert ["reply"] == texts(events)
    assert {"seen": "yes"} == await session_state(runner)
    assert events == (await stored_events(runner))[1:]


# ---- model callbacks -------------------------------------------------------------------


async def test_before_model_response_skips_the_model_and_is_not_counted() -> None:
    """A before_model LlmResponse replaces the model call and does not count toward
    max_llm_calls."""
    steps: list[int] = []

    def before_model(callback_context: CallbackContext, llm_request: LlmRequest) -> Any:
        steps.append(len(llm_request.contents))
        if len(steps) == 1:
            return LlmResponse(content=types.Content(role="model", parts=[types.Part(
                function_call=types.FunctionCall(name="add", args={"a": 4, "b": 4}))]))
        return None

    model = ScriptedModel(replies=["eight"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add],
                                     before_model_callback=before_model))
    events = await run_text(runner, "hi", run_config=RunConfig(max_llm_calls=1))
    assert [1, 3] == steps
    assert 1 == model.calls
    assert [{"result": 8}] == responses_of(events[1])
    assert ["eight"] == texts(events)


async def test_after_model_replaces_the_response() -> None:
    """An after_model LlmResponse replaces the model's; a plugin's wins over the agent's."""

    def after_model(callback_context: CallbackContext, llm_response: LlmResponse) -> Any:
        original = llm_response.content.parts[0].text  # type: ignore[union-attr,index]
        return text_response(f"agent saw {original}")

    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["raw"]),
                                     after_model_callback=after_model))
    events = await run_text(runner, "hi")
    assert ["agent saw raw"] == texts(events)
    assert events == (await stored_events(runner))[1:]

    class _Replace(BasePlugin):
        async def after_model_callback(self, *, callback_context, llm_response):  # type: ignore[no-untyped-def]
            return text_response("plugin version")

    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["raw"]),
                                     after_model_callback=after_model),
                               plugins=[_Replace(name="replace")])
    assert ["plugin version"] == texts(await run_text(runner, "hi"))


async def test_on_model_error_turns_an_exception_into_a_response() -> None:
    """A model exception goes to on_model_error (plugins first); a response replaces it."""
    failure = ConnectionError("model down")
    seen: list[BaseException] = []

    def on_error(callback_context: CallbackContext, llm_request: LlmRequest,
                 error: Exception) -> LlmResponse:
        seen.append(error)
        return text_response(f"fallback: {error}")

    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=[error(failure)]),
                                     on_model_error_callback=on_error))
    events = await run_text(runner, "hi")
    assert ["fallback: model down"] == texts(events)
    assert [failure] == seen
    assert events == (await stored_events(runner))[1:]

    class _Rescue(BasePlugin):
        async def on_model_error_callback(self, *, callback_context, llm_request, error):  # type: ignore[no-untyped-def]
            return text_response(f"plugin rescued {type(error).__name__}")

    seen.clear()
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=[error(failure)]),
                                     on_model_error_callback=on_error),
                               plugins=[_Rescue(name="rescue")])
    assert ["plugin rescued ConnectionError"] == texts(await run_text(runner, "hi"))
    assert [] == seen


# ---- tool callbacks --------------------------------------------------------------------


async def test_before_tool_dict_short_circuits_the_tool() -> None:
    """A before_tool dict is the result; the tool is not called."""
    ran: list[str] = []

    def tracked(a: int) -> int:
        """Tracked tool."""
        ran.append("tool")
        return a

    def before_tool(tool: Any, args: dict[str, Any], tool_context: ToolContext) -> Any:
        return {"short": tool.name, "args": args}

    model = ScriptedModel(replies=[function_call("tracked", {"a": 1}), "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[tracked],
                                     before_tool_callback=before_tool))
    events = await run_text(runner, "hi")
    assert [{"short": "tracked", "args": {"a": 1}}] == responses_of(events[1])
    assert [] == ran

    class _Block(BasePlugin):
        async def before_tool_callback(self, *, tool, tool_args, tool_context):  # type: ignore[no-untyped-def]
            return {"blocked_by": "plugin"}

    model = ScriptedModel(replies=[function_call("tracked", {"a": 1}), "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[tracked],
                                     before_tool_callback=before_tool),
                               plugins=[_Block(name="block")])
    events = await run_text(runner, "hi")
    assert [{"blocked_by": "plugin"}] == responses_of(events[1])
    assert [] == ran


async def test_after_tool_replaces_the_result() -> None:
    """An after_tool dict replaces the tool's result in the response event."""

    async def after_tool(tool: Any, args: dict[str, Any], tool_context: ToolContext,
                         tool_response: Any) -> dict[str, Any]:
        await trio.lowlevel.checkpoint()
        return {"wrapped": tool_response}

    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add],
                                     after_tool_callback=after_tool))
    events = await run_text(runner, "hi")
    assert [{"wrapped": 3}] == responses_of(events[1])


async def test_on_tool_error_answers_for_a_failing_tool() -> None:
    """A tool exception goes to on_tool_error; its dict becomes the result."""

    def broken(x: int) -> int:
        """Always fails."""
        raise ArithmeticError(f"cannot {x}")

    async def on_tool_error(tool: Any, args: dict[str, Any], tool_context: ToolContext,
                            error: Exception) -> dict[str, Any]:
        await trio.lowlevel.checkpoint()
        return {"error": f"{tool.name}: {error}"}

    model = ScriptedModel(replies=[function_call("broken", {"x": 5}), "sorry"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[broken],
                                     on_tool_error_callback=on_tool_error))
    events = await run_text(runner, "hi")
    assert [{"error": "broken: cannot 5"}] == responses_of(events[1])
    assert ["sorry"] == texts(events)


# ---- max_llm_calls ---------------------------------------------------------------------


async def test_max_llm_calls_stops_a_tool_loop_after_the_events_so_far() -> None:
    """With max_llm_calls=1 a tool loop yields and stores the call and response events,
    then raises LlmCallsLimitExceededError."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "never"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    got, exc = await run_until_error(runner, "hi", run_config=RunConfig(max_llm_calls=1))
    assert LlmCallsLimitExceededError is type(exc)
    assert "Max number of llm calls limit of `1` exceeded" == str(exc)
    assert 2 == len(got)
    assert [False, True] == [bool(e.get_function_responses()) for e in got]
    assert got == (await stored_events(runner))[1:]
    assert 1 == model.calls


async def test_max_llm_calls_counts_across_agents_of_one_invocation() -> None:
    """The root's call and the transferred sub-agent's call share one budget."""

    def build() -> tuple[LlmAgent, ScriptedModel]:
        sub_model = ScriptedModel(replies=["sub reply"])
        root = Agent(name="root",
                     model=ScriptedModel(replies=[function_call("transfer_to_agent",
                                                                {"agent_name": "sub"})]),
                     sub_agents=[Agent(name="sub", model=sub_model)])
        return root, sub_model

    root, sub_model = build()
    runner = await make_runner(root)
    got, exc = await run_until_error(runner, "hi", run_config=RunConfig(max_llm_calls=1))
    assert LlmCallsLimitExceededError is type(exc)
    assert ["root", "root"] == [e.author for e in got]
    assert 0 == sub_model.calls

    root, sub_model = build()
    runner = await make_runner(root)
    events = await run_text(runner, "hi", run_config=RunConfig(max_llm_calls=2))
    assert ["sub reply"] == texts(events)


async def test_max_llm_calls_validation(caplog: pytest.LogCaptureFixture) -> None:
    """sys.maxsize is rejected; <= 0 logs a warning and means unlimited."""
    with pytest.raises(ValueError, match=f"max_llm_calls should be less than {sys.maxsize}"):
        RunConfig(max_llm_calls=sys.maxsize)
    with caplog.at_level(logging.WARNING, logger="trio_adk"):
        config = RunConfig(max_llm_calls=0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 == len(warnings)
    assert "max_llm_calls" in warnings[0].getMessage()

    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 1}),
                                   function_call("add", {"a": 2, "b": 2}), "done"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    events = await run_text(runner, "hi", run_config=config)
    assert ["done"] == texts(events)
    assert 3 == model.calls
    with caplog.at_level(logging.WARNING, logger="trio_adk"):
        negative = RunConfig(max_llm_calls=-1)
    assert -1 == negative.max_llm_calls


# ---- streaming -------------------------------------------------------------------------


async def test_sse_function_call_executes_once() -> None:
    """Streamed: partial events then final; a streamed call runs once; only finals stored."""
    ticks: list[int] = []

    def tick() -> int:
        """Count a tick."""
        ticks.append(1)
        return len(ticks)

    model = ScriptedModel(replies=[function_call("tick"), "ticked"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[tick]))
    events = await run_text(runner, "go",
                            run_config=RunConfig(streaming_mode=StreamingMode.SSE))
    assert [True, None, None, True, None] == [e.partial for e in events]
    assert [1] == ticks
    assert [{"result": 1}] == responses_of(events[2])
    final_call_id = events[1].get_function_calls()[0].id
    assert [final_call_id] == [r.id for r in events[2].get_function_responses()]
    stored = await stored_events(runner)
    assert [e for e in events if not e.partial] == stored[1:]
    assert ["ticked"] == texts(stored[1:])


# ---- generate_content_config -----------------------------------------------------------


@pytest.mark.parametrize(("config", "message"), [
    (types.GenerateContentConfig(tools=[types.Tool(function_declarations=[
        types.FunctionDeclaration(name="x")])]), "All tools must be set via LlmAgent.tools"),
    (types.GenerateContentConfig(system_instruction="be nice"),
     "System instruction must be set via LlmAgent.instruction"),
    (types.GenerateContentConfig(response_schema={"type": "OBJECT"}),
     "Response schema must be set via LlmAgent.output_schema"),
])
def test_generate_content_config_rejects_agent_owned_fields(
    config: types.GenerateContentConfig, message: str
) -> None:
    """tools, system_instruction and response_schema belong to the agent, not the config."""
    with pytest.raises(ValueError, match=message):
        Agent(name="bot", model=ScriptedModel(), generate_content_config=config)


async def test_generate_content_config_is_copied_into_each_request() -> None:
    """Every request carries a copy of the config; the agent's config stays unchanged."""
    config = types.GenerateContentConfig(temperature=0.25, max_output_tokens=64)
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "3"])
    agent = Agent(name="bot", model=model, tools=[add], generate_content_config=config)
    runner = await make_runner(agent)
    await run_text(runner, "hi")
    assert [0.25, 0.25] == [r.config.temperature for r in model.requests]
    assert [64, 64] == [r.config.max_output_tokens for r in model.requests]
    assert model.requests[0].config is not model.requests[1].config
    assert agent.generate_content_config is not None
    assert agent.generate_content_config.system_instruction is None
    assert agent.generate_content_config.tools is None


# ---- model_call_timeout ----------------------------------------------------------------


async def test_model_call_timeout_raises_timeout_error(autojump_clock: trio.abc.Clock) -> None:
    """A model call slower than model_call_timeout ends the run with TimeoutError."""
    model = ScriptedModel(replies=[text("late", delay=10)])
    runner = await make_runner(Agent(name="bot", model=model))
    start = trio.current_time()
    got, exc = await run_until_error(runner, "hi",
                                     run_config=RunConfig(model_call_timeout=1))
    assert TimeoutError is type(exc)
    assert 1.0 == pytest.approx(trio.current_time() - start, abs=0.01)
    assert [] == got
    assert ["user"] == [e.author for e in await stored_events(runner)]


async def test_model_call_within_timeout_succeeds(autojump_clock: trio.abc.Clock) -> None:
    """A model call faster than the timeout is unaffected."""
    model = ScriptedModel(replies=[text("in time", delay=0.5)])
    runner = await make_runner(Agent(name="bot", model=model))
    events = await run_text(runner, "hi", run_config=RunConfig(model_call_timeout=1))
    assert ["in time"] == texts(events)


# ---- misc ------------------------------------------------------------------------------


async def test_function_model_sees_the_request() -> None:
    """A FunctionModel answers from the request it received (here: the last user text)."""

    def answer(request: LlmRequest) -> str:
        last = request.contents[-1].parts[0].text  # type: ignore[index]
        return f"you said {last}"

    runner = await make_runner(Agent(name="bot", model=FunctionModel(function=answer)))
    assert ["you said ping"] == texts(await run_text(runner, "ping"))


async def test_events_carry_no_transfer_or_escalation_by_default() -> None:
    """A plain reply has empty actions."""
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["x"])))
    events = await collect(runner.run_async(user_id=USER, session_id="s1",
                                            new_message=user_text("hi")))
    assert [EventActions()] == [e.actions for e in events]


async def test_model_error_response_is_a_final_event() -> None:
    """A response with error_code and no content becomes a final, persisted event."""
    blocked = LlmResponse(error_code="SAFETY", error_message="blocked by policy")
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=[blocked])))
    events = await run_text(runner, "hi")
    assert [("SAFETY", "blocked by policy")] == [(e.error_code, e.error_message)
                                                 for e in events]
    assert [True] == [e.is_final_response() for e in events]
    assert events == (await stored_events(runner))[1:]


async def test_before_model_override_skips_after_model_and_keeps_state_writes() -> None:
    """A before_model response is not passed through after_model; state written in
    before_model travels on the event of that step."""
    after_calls: list[str] = []

    async def before_model(callback_context: CallbackContext, llm_request: LlmRequest) -> Any:
        callback_context.state["checked"] = True
        return text_response("canned")

    def after_model(callback_context: CallbackContext, llm_response: LlmResponse) -> Any:
        after_calls.append("after")
        return text_response("changed")

    model = ScriptedModel(replies=[])
    runner = await make_runner(Agent(name="bot", model=model, before_model_callback=before_model,
                                     after_model_callback=after_model))
    events = await run_text(runner, "hi")
    assert ["canned"] == texts(events)
    assert [] == after_calls
    assert 0 == model.calls
    assert [{"checked": True}] == [e.actions.state_delta for e in events]
    assert {"checked": True} == await session_state(runner)


async def test_before_tool_may_change_the_args_the_tool_gets() -> None:
    """before_tool sees a copy of the call's args: changes reach the tool, not the stored
    call event."""

    def before_tool(tool: Any, args: dict[str, Any], tool_context: ToolContext) -> None:
        args["b"] = 100

    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add],
                                     before_tool_callback=before_tool))
    events = await run_text(runner, "hi")
    assert [{"result": 101}] == responses_of(events[1])
    assert {"a": 1, "b": 2} == events[0].get_function_calls()[0].args
    stored = await stored_events(runner)
    assert {"a": 1, "b": 2} == stored[1].get_function_calls()[0].args


async def test_missing_artifact_placeholder() -> None:
    """{artifact.x?} of a missing artifact is empty; {artifact.x} raises KeyError."""
    model = ScriptedModel(replies=["ok"])
    runner = InMemoryRunner(Agent(name="bot", model=model,
                                  instruction="[{artifact.absent.txt?}]"))
    await run_text(runner, "hi")
    assert system_instruction(model.requests[0]).startswith("[]\n\n")

    runner = InMemoryRunner(Agent(name="bot", model=ScriptedModel(replies=[]),
                                  instruction="{artifact.absent.txt}"))
    got, exc = await run_until_error(runner, "hi")
    assert KeyError is type(exc)
    assert "absent.txt" in str(exc)
    assert [] == got


async def test_output_schema_with_blank_text_saves_nothing() -> None:
    """With output_schema, whitespace-only final text is not parsed or saved."""
    model = ScriptedModel(replies=["   "])
    runner = await make_runner(Agent(name="bot", model=model, output_schema=_Answer,
                                     output_key="answer"))
    events = await run_text(runner, "hi")
    assert [{}] == [e.actions.state_delta for e in events]
    assert {} == await session_state(runner)


async def test_temp_state_from_a_callback_fills_the_instruction() -> None:
    """{temp:key} is filled from temp state written earlier in the same invocation."""

    def before_agent(callback_context: CallbackContext) -> None:
        callback_context.state["temp:topic"] = "trains"

    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="bot", model=model,
                                     instruction="Talk about {temp:topic}.",
                                     before_agent_callback=before_agent))
    await run_text(runner, "hi")
    assert system_instruction(model.requests[0]).startswith("Talk about trains.\n\n")
    assert "temp:topic" not in await session_state(runner)


async def test_streamed_call_counts_once_toward_max_llm_calls() -> None:
    """A streamed reply of several chunks is one model call."""
    model = ScriptedModel(replies=[chunks(["a", "b", "c"])])
    runner = await make_runner(Agent(name="bot", model=model))
    events = await run_text(runner, "hi", run_config=RunConfig(
        streaming_mode=StreamingMode.SSE, max_llm_calls=1))
    assert ["a", "b", "c", "abc"] == texts(events)


async def test_model_call_timeout_covers_the_whole_streamed_call(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The timeout bounds one model call including all its chunks: chunks already
    streamed are yielded (not stored), then TimeoutError."""
    model = ScriptedModel(replies=[chunks(["a", "b", "c"], chunk_delay=0.6)])
    runner = await make_runner(Agent(name="bot", model=model))
    got, exc = await run_until_error(runner, "hi", run_config=RunConfig(
        streaming_mode=StreamingMode.SSE, model_call_timeout=1))
    assert TimeoutError is type(exc)
    assert ["a", "b"] == texts(got)
    assert [True, True] == [e.partial for e in got]
    assert ["user"] == [e.author for e in await stored_events(runner)]


async def test_plugin_on_tool_error_answers_before_the_agents_callback() -> None:
    """A plugin's on_tool_error result is used, and the agent's callback is not called."""
    agent_calls: list[str] = []

    def broken() -> None:
        """Always fails."""
        raise ArithmeticError("broken tool")

    class _Rescue(BasePlugin):
        async def on_tool_error_callback(self, *, tool, tool_args, tool_context, error):  # type: ignore[no-untyped-def]
            return {"rescued": f"{tool.name}: {error}"}

    def own(tool: Any, args: dict[str, Any], tool_context: ToolContext, error: Exception) -> Any:
        agent_calls.append("own")
        return {"own": True}

    model = ScriptedModel(replies=[function_call("broken"), "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[broken],
                                     on_tool_error_callback=own),
                               plugins=[_Rescue(name="rescue")])
    events = await run_text(runner, "hi")
    assert [{"rescued": "broken: broken tool"}] == responses_of(events[1])
    assert [] == agent_calls


async def test_before_agent_content_carries_its_state_writes() -> None:
    """Content returned by before_agent is emitted with the state the callback wrote."""

    def gate(callback_context: CallbackContext) -> types.Content:
        callback_context.state["gated"] = 1
        return model_text("closed")

    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=[]),
                                     before_agent_callback=gate))
    events = await run_text(runner, "hi")
    assert [("closed", {"gated": 1})] == [(texts([e])[0], e.actions.state_delta)
                                          for e in events]
    assert {"gated": 1} == await session_state(runner)


async def test_after_model_applies_to_streamed_chunks() -> None:
    """In SSE mode after_model sees (and may replace) every partial chunk and the final."""

    def shout(callback_context: CallbackContext, llm_response: LlmResponse) -> LlmResponse:
        part = llm_response.content.parts[0]  # type: ignore[union-attr,index]
        return LlmResponse(content=model_text((part.text or "").upper()),
                           partial=llm_response.partial)

    model = ScriptedModel(replies=[chunks(["ab", "cd"])])
    runner = await make_runner(Agent(name="bot", model=model, after_model_callback=shout))
    events = await run_text(runner, "hi",
                            run_config=RunConfig(streaming_mode=StreamingMode.SSE))
    assert ["AB", "CD", "ABCD"] == texts(events)
    assert [True, True, None] == [e.partial for e in events]


async def test_tool_context_knows_its_call_id() -> None:
    """tool_context.function_call_id is the id of the call being answered."""
    ids: list[str | None] = []

    def probe(tool_context: ToolContext) -> str:
        ids.append(tool_context.function_call_id)
        return "ok"

    model = ScriptedModel(replies=[function_call("probe"), "done"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[probe]))
    events = await run_text(runner, "hi")
    assert [events[0].get_function_calls()[0].id] == ids


async def test_transfer_alongside_another_call_in_one_turn() -> None:
    """A transfer requested next to another call: one merged response event carries both
    results and the transfer, then the target runs."""
    root_model = ScriptedModel(replies=[function_calls(
        ("add", {"a": 1, "b": 2}), ("transfer_to_agent", {"agent_name": "sub"}))])
    root = Agent(name="root", model=root_model, tools=[add],
                 sub_agents=[Agent(name="sub", model=ScriptedModel(replies=["sub here"]))])
    runner = await make_runner(root)
    events = await run_text(runner, "hi")
    assert ["root", "root", "sub"] == [e.author for e in events]
    assert [{"result": 3}, {"result": None}] == responses_of(events[1])
    assert "sub" == events[1].actions.transfer_to_agent
    assert ["sub here"] == texts(events)


async def test_skip_summarization_ends_the_loop_after_the_tool() -> None:
    """A tool that sets skip_summarization makes its response final: no further model call."""

    def report(tool_context: ToolContext) -> str:
        tool_context.actions.skip_summarization = True
        return "raw report"

    model = ScriptedModel(replies=[function_call("report")])
    runner = await make_runner(Agent(name="bot", model=model, tools=[report]))
    events = await run_text(runner, "hi")
    assert 2 == len(events)
    assert [False, True] == [e.is_final_response() for e in events]
    assert [{"result": "raw report"}] == responses_of(events[1])
    assert 1 == model.calls


async def test_an_agent_listing_transfer_to_agent_itself_declares_it_once() -> None:
    """An agent with sub-agents that also lists ``transfer_to_agent`` in its tools (as
    ADK samples do) keeps its own: the name is declared once (twice is an HTTP 400 at
    Gemini), and calling it still transfers."""
    from trio_adk.tools.transfer_to_agent_tool import transfer_to_agent

    root_model = ScriptedModel(replies=[function_call("transfer_to_agent",
                                                      {"agent_name": "helper"})])
    helper = Agent(name="helper", model=ScriptedModel(replies=["helper here"]))
    root = Agent(name="root", model=root_model, tools=[transfer_to_agent], sub_agents=[helper])
    runner = await make_runner(root)
    events = await run_text(runner, "hi")
    request = root_model.requests[0]
    names = [d.name for tool in request.config.tools or []
             for d in tool.function_declarations or []]
    assert ["transfer_to_agent"] == names
    assert "helper here" in texts(events)
