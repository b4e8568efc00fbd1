"""The context members ADK 2.13 added: get_credential, render_ui_widget (and the
EventActions field it fills), event_author, and the Workflow-graph members, which give
ADK's values outside a workflow or say that trio-adk has no Workflow graphs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from google.genai import types

from helpers import make_runner, run_text, stored_events
from trio_adk import Agent
from trio_adk._not_provided import NotProvidedError
from trio_adk.agents import CallbackContext, InvocationContext, ReadonlyContext
from trio_adk.auth import AuthCredential, AuthCredentialTypes
from trio_adk.events import Event, EventActions
from trio_adk.events.ui_widget import UiWidget
from trio_adk.sessions import InMemorySessionService, Session
from trio_adk.testing import ScriptedModel, function_call
from trio_adk.tools import ToolContext


def _calls(*names: str) -> types.Content:
    return types.Content(role="model", parts=[
        types.Part(function_call=types.FunctionCall(name=name, args={})) for name in names])


# ---- get_credential -----------------------------------------------------------------


async def test_get_credential_reads_the_invocations_credentials() -> None:
    """A credential put in the invocation's ``credential_by_key`` is what every context
    of that invocation gets; an unknown key, or the next invocation, gets None."""
    key = "weather_api"
    credential = AuthCredential(auth_type=AuthCredentialTypes.API_KEY, api_key="secret")
    seen: list[Any] = []

    def before(callback_context: CallbackContext) -> None:
        seen.append(("callback", callback_context.get_credential(key)))
        if callback_context.state.get("give"):
            callback_context.get_invocation_context().credential_by_key[key] = credential

    def instruction(context: ReadonlyContext) -> str:
        seen.append(("instruction", context.get_credential(key)))
        return "Be brief."

    def look(tool_context: ToolContext) -> str:
        seen.append(("tool", tool_context.get_credential(key)))
        seen.append(("other key", tool_context.get_credential("other")))
        return "ok"

    model = ScriptedModel(replies=[function_call("look", {}), "done", function_call("look", {}),
                                   "done"])
    agent = Agent(name="agent", model=model, tools=[look], instruction=instruction,
                  before_agent_callback=before)
    runner = await make_runner(agent)
    async with runner:
        await run_text(runner, "first", state_delta={"give": True})
        first, seen[:] = list(seen), []
        await run_text(runner, "second", state_delta={"give": False})
    assert [("callback", None), ("instruction", credential), ("tool", credential),
            ("other key", None), ("instruction", credential)] == first
    assert all(value is None for _, value in seen)


# ---- render_ui_widget ---------------------------------------------------------------


ADK_ACTIONS_JSON = (
    '{"stateDelta":{},"artifactDelta":{},"requestedAuthConfigs":{},'
    '"requestedToolConfirmations":{},"renderUiWidgets":[{"id":"w1","provider":"mcp",'
    '"payload":{"resource_uri":"ui://chart","tool_args":{"n":1}}}]}'
)
"""The actions of a function-response event whose tool rendered one widget, as
google-adk 2.13 writes them (``model_dump_json(exclude_none=True, by_alias=True)``)."""


async def test_a_tools_widget_comes_with_its_response_event_and_is_stored() -> None:
    """The widget is in the function-response event's actions, stored with it, and its
    JSON has ADK's shape (payload keys kept as given)."""
    chart = UiWidget(id="w1", provider="mcp",
                     payload={"resource_uri": "ui://chart", "tool_args": {"n": 1}})

    def show(tool_context: ToolContext) -> str:
        tool_context.render_ui_widget(chart)
        return "shown"

    runner = await make_runner(Agent(name="agent", model=ScriptedModel(
        replies=[function_call("show", {}), "done"]), tools=[show]))
    async with runner:
        events = await run_text(runner, "x")
        stored = await stored_events(runner)
    assert [None, [chart], None] == [e.actions.render_ui_widgets for e in events]
    assert [chart] == stored[2].actions.render_ui_widgets
    ours = json.loads(events[1].actions.model_dump_json())
    assert json.loads(ADK_ACTIONS_JSON)["renderUiWidgets"] == ours["renderUiWidgets"]
    assert "renderUiWidgets" not in json.loads(events[0].actions.model_dump_json())


def test_adk_written_actions_load_with_their_widgets() -> None:
    actions = EventActions.model_validate_json(ADK_ACTIONS_JSON)
    assert [UiWidget(id="w1", provider="mcp", payload={
        "resource_uri": "ui://chart", "tool_args": {"n": 1}})] == actions.render_ui_widgets
    event = Event.model_validate_json(Event(author="a", actions=actions).model_dump_json())
    assert actions.render_ui_widgets == event.actions.render_ui_widgets


async def test_widgets_of_calls_run_together_are_all_kept_in_call_order() -> None:
    def first(tool_context: ToolContext) -> str:
        tool_context.render_ui_widget(UiWidget(id="a", provider="mcp"))
        return "a"

    def second(tool_context: ToolContext) -> str:
        tool_context.render_ui_widget(UiWidget(id="b", provider="mcp"))
        tool_context.render_ui_widget(UiWidget(id="c", provider="custom", payload={"k": 1}))
        return "b"

    model = ScriptedModel(replies=[_calls("first", "second"), "done"])
    runner = await make_runner(Agent(name="agent", model=model, tools=[first, second]))
    async with runner:
        events = await run_text(runner, "x")
    widgets = events[1].actions.render_ui_widgets
    assert widgets is not None
    assert ["a", "b", "c"] == [w.id for w in widgets]


async def test_a_widget_id_is_used_once_per_event() -> None:
    errors: list[str] = []

    def show(tool_context: ToolContext) -> str:
        tool_context.render_ui_widget(UiWidget(id="w", provider="mcp"))
        try:
            tool_context.render_ui_widget(UiWidget(id="w", provider="other"))
        except ValueError as exc:
            errors.append(str(exc))
        return "shown"

    runner = await make_runner(Agent(name="agent", model=ScriptedModel(
        replies=[function_call("show", {}), "done"]), tools=[show]))
    async with runner:
        events = await run_text(runner, "x")
    assert 1 == len(errors) and "'w'" in errors[0]
    assert [UiWidget(id="w", provider="mcp")] == events[1].actions.render_ui_widgets


# ---- event_author and the Workflow-graph members -----------------------------------

# What google-adk 2.13 gives outside a Workflow graph (checked against a plain LlmAgent,
# in a callback and in a tool).
OUTSIDE_A_WORKFLOW = {
    "parent_ctx": None, "node": None, "attempt_count": 1, "resume_inputs": {},
    "interrupt_ids": set(), "error": None, "error_node_path": "", "isolation_scope": None,
    "output": None, "route": None, "event_author": "",
}
NEEDS_A_WORKFLOW = ("node_path", "run_id")


def _members(context: CallbackContext) -> dict[str, Any]:
    values = {name: getattr(context, name) for name in OUTSIDE_A_WORKFLOW}
    for name in (*NEEDS_A_WORKFLOW, "telemetry_context"):
        with pytest.raises(NotProvidedError) as caught:
            getattr(context, name)
        values[name] = str(caught.value)
    for name in ("output", "route"):
        with pytest.raises(NotProvidedError) as caught:
            setattr(context, name, "x")
        values[f"set {name}"] = str(caught.value)
    return values


def _check(kind: str, values: dict[str, Any]) -> None:
    assert OUTSIDE_A_WORKFLOW == {name: values[name] for name in OUTSIDE_A_WORKFLOW}
    for name in (*NEEDS_A_WORKFLOW, "set output", "set route", "run_node"):
        member = name.removeprefix("set ")
        assert (f"{kind}.{member}: trio-adk does not provide google.adk.workflow (ADK's "
                "Workflow graphs) yet (see README: what ports).") == values[name]
    assert re.fullmatch(rf"{kind}\.telemetry_context: trio-adk does not provide "
                        r"google\.adk\.telemetry yet .*", values["telemetry_context"])


async def test_workflow_members_outside_a_workflow() -> None:
    """Callbacks and tools see ADK's values for a context outside a workflow node; the
    members that only mean something inside one raise NotProvidedError naming them."""
    seen: dict[str, dict[str, Any]] = {}

    def before(callback_context: CallbackContext) -> None:
        seen["CallbackContext"] = _members(callback_context)

    async def look(tool_context: ToolContext) -> str:
        seen["ToolContext"] = values = _members(tool_context)
        with pytest.raises(NotProvidedError) as caught:
            await tool_context.run_node(print, "input", use_as_output=True)
        values["run_node"] = str(caught.value)
        return "ok"

    runner = await make_runner(Agent(name="agent", model=ScriptedModel(
        replies=[function_call("look", {}), "done"]), tools=[look], before_agent_callback=before))
    async with runner:
        await run_text(runner, "x")
    seen["CallbackContext"]["run_node"] = seen["ToolContext"]["run_node"].replace(
        "ToolContext", "CallbackContext")
    for kind, values in seen.items():
        _check(kind, values)


def test_the_workflow_values_are_fresh_each_time() -> None:
    """Mutating ``interrupt_ids`` or ``resume_inputs`` changes nothing."""
    context = CallbackContext(InvocationContext(
        session_service=InMemorySessionService(), agent=Agent(name="a", model="m"),
        session=Session(id="s", app_name="app", user_id="u")))
    context.interrupt_ids.add("i")
    context.resume_inputs["i"] = 1
    assert set() == context.interrupt_ids
    assert {} == context.resume_inputs


async def test_event_author_is_settable_and_changes_no_author() -> None:
    """As in ADK outside a workflow: ``""``, settable per context, and the events keep
    the agent's name."""
    seen: list[str] = []

    def before(callback_context: CallbackContext) -> None:
        callback_context.event_author = "someone"
        seen.append(callback_context.event_author)

    def look(tool_context: ToolContext) -> str:
        seen.append(tool_context.event_author)
        tool_context.event_author = "someone else"
        return "ok"

    runner = await make_runner(Agent(name="agent", model=ScriptedModel(
        replies=[function_call("look", {}), "done"]), tools=[look], before_agent_callback=before))
    async with runner:
        events = await run_text(runner, "x")
    assert ["someone", ""] == seen
    assert {"agent"} == {e.author for e in events}
