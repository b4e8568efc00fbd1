"""Running tool calls again once the client has answered their confirmation requests.

A tool that needs approval answers its call with an error and the flow sends the client
an ``adk_request_confirmation`` call (``_functions.confirmation_request_event``).  The
client answers that call with a function response in a later run; before the agent's
next model call, :func:`resume_confirmed_calls` finds the answers in the newest user
event, checks them against the session's history, and runs the original calls again
with the answers in ``tool_context.tool_confirmation``.  Everything is read from the
session's events, so the answer may come from another process (a durable store).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.genai import types

from trio_adk.agents._callback_context import ReadonlyContext
from trio_adk.events._tool_confirmation import ToolConfirmation
from trio_adk.flows._contents import CONFIRMATION_FUNCTION_NAME
from trio_adk.flows._functions import handle_call_list
from trio_adk.tools._tool_context import ToolContext

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.agents._llm_agent import LlmAgent
    from trio_adk.events._event import Event
    from trio_adk.tools._base_tool import BaseTool


async def resume_confirmed_calls(agent: LlmAgent, ctx: InvocationContext) -> bool:
    """Run again the calls the newest user event confirms or rejects, emitting their
    response event; a no-op when it answers no (unconsumed) confirmation request.
    Returns False when the invocation must end here (``ctx.end_invocation`` is set).

    An answer that was already acted on (a resubmitted answer) is not acted on again;
    when the newest user event holds nothing else, the invocation ends without calling
    the model.  Raises ``ValueError`` when an answer names a call the history does not
    hold, a tool the agent lacks, a tool that never asked for approval, or arguments
    that differ from the original call's.
    """
    events = _branch_events(ctx)
    found = _newest_answers(events)
    if found is None:
        return True
    answers, user_index, has_other_responses = found
    originals = _original_ids(events, set(answers))
    consumed, consumed_now = _consumed(events, answers, originals, user_index)
    answers = {cid: a for cid, a in answers.items() if cid not in consumed}
    if not answers:
        if not consumed_now and not has_other_responses:
            ctx.end_invocation = True
            return False
        return True
    tools = {
        tool.name: tool
        for tool in await agent.canonical_tools(ReadonlyContext(ctx) if agent._toolsets
                                                else None)
    }
    calls, confirmations = await _targets(agent, ctx, events, answers, tools)
    if calls:
        response_event = await handle_call_list(agent, ctx, calls, tools, confirmations)
        if response_event is not None:
            from trio_adk.flows._llm_flow import emit_agent_event

            await emit_agent_event(agent, ctx, response_event)
    return not ctx.end_invocation


def _branch_events(ctx: InvocationContext) -> list[Event]:
    branch = ctx.branch
    events = ctx.session.events
    if not branch:
        return list(events)
    return [e for e in events
            if not e.branch or branch == e.branch or branch.startswith(e.branch + ".")]


def _newest_answers(
    events: list[Event],
) -> tuple[dict[str, ToolConfirmation], int, bool] | None:
    """The confirmation answers in the newest user event (confirmation call id ->
    answer), that event's index, and whether it holds other function responses."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.author != "user":
            continue
        answers: dict[str, ToolConfirmation] = {}
        others = False
        for response in event.get_function_responses():
            if response.name != CONFIRMATION_FUNCTION_NAME:
                others = True
            elif response.id and response.response is not None:
                answers[response.id] = ToolConfirmation.from_response_dict(response.response)
        return (answers, index, others) if answers else None
    return None


def _original_call_args(call: types.FunctionCall) -> dict[str, Any] | None:
    original = (call.args or {}).get("originalFunctionCall")
    return original if isinstance(original, dict) else None


def _original_ids(events: list[Event], confirmation_ids: set[str]) -> dict[str, str]:
    """Confirmation call id -> the id of the call it asks about."""
    mapping: dict[str, str] = {}
    for event in events:
        for call in event.get_function_calls():
            if call.id not in confirmation_ids:
                continue
            original = _original_call_args(call)
            if original is not None and original.get("id"):
                mapping[call.id] = str(original["id"])
    return mapping


def _consumed(
    events: list[Event], answers: dict[str, ToolConfirmation], originals: dict[str, str],
    user_index: int,
) -> tuple[set[str], bool]:
    """The answers already acted on (a non-user response to the original call after the
    user's first answer), and whether one was acted on after the newest user event."""
    by_original = {original: cid for cid, original in originals.items()}
    answered: set[str] = set()
    consumed: set[str] = set()
    now = False
    for index, event in enumerate(events):
        for response in event.get_function_responses():
            if not response.id:
                continue
            if event.author == "user":
                if response.id in answers:
                    answered.add(response.id)
                continue
            cid = by_original.get(response.id)
            if cid is not None and cid in answered:
                consumed.add(cid)
                now = now or index > user_index
    return consumed, now


async def _targets(
    agent: LlmAgent, ctx: InvocationContext, events: list[Event],
    answers: dict[str, ToolConfirmation], tools: dict[str, BaseTool],
) -> tuple[list[types.FunctionCall], dict[str, ToolConfirmation]]:
    """The original calls to run again, and their answers by original call id."""
    history: dict[str, tuple[types.FunctionCall, Event]] = {}
    asked: set[str] = set()  # calls whose tool asked for approval itself
    for event in events:
        for call in event.get_function_calls():
            if call.id and call.name != CONFIRMATION_FUNCTION_NAME:
                history[call.id] = (call, event)
        requested = event.actions.requested_tool_confirmations
        if requested:
            asked.update(r.id for r in event.get_function_responses()
                         if r.id and r.id in requested)
    calls: dict[str, types.FunctionCall] = {}
    confirmations: dict[str, ToolConfirmation] = {}
    for event in events:
        if event.author and event.author != agent.name:
            continue  # another agent's request: that agent resumes it
        for call in event.get_function_calls():
            if call.id not in answers or call.name != CONFIRMATION_FUNCTION_NAME:
                continue
            payload = _original_call_args(call)
            if payload is None:
                continue
            original = types.FunctionCall.model_validate(payload)
            if not original.id:
                raise ValueError("The confirmed function call has no id.")
            if not original.name:
                raise ValueError("The confirmed function call has no name.")
            in_history = history.get(original.id)
            if in_history is None:
                raise ValueError(
                    f"Original function call for ID '{original.id}' not found in "
                    "session history.")
            past_call, past_event = in_history
            if past_event.author != agent.name:
                continue
            tool = tools.get(original.name)
            if tool is None:
                raise ValueError(f"Tool '{original.name}' is not registered.")
            check_context = ToolContext(ctx, function_call_id=original.id)
            if original.id not in asked and not await tool.check_require_confirmation(
                    dict(original.args or {}), check_context):
                raise ValueError(f"Tool '{original.name}' does not require confirmation.")
            if past_call.name != original.name:
                raise ValueError(
                    f"Function call name mismatch for ID '{original.id}': history has "
                    f"'{past_call.name}', confirmation has '{original.name}'.")
            if (past_call.args or {}) != (original.args or {}):
                raise ValueError(f"Function call arguments mismatch for ID '{original.id}'.")
            calls[original.id] = original
            confirmations[original.id] = answers[call.id]
    return list(calls.values()), confirmations
