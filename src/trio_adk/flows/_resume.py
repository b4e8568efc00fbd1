"""Where an agent of a resumable invocation picks up: replay, pause or go on.

Before each model call of an agent in a resumable App (``ResumabilityConfig(
is_resumable=True)``), the agent's newest event in the invocation tells where it
stopped:

* a model turn whose function calls lack responses: the calls that are not
  long-running are run again (their response event was never stored: a crash, a kill,
  a cancellation, a consumer that left), so every call of the turn gets a response
  before the model is asked again.  Responses already stored are never produced again.
* a long-running call still unanswered: the invocation stays paused (no model call)
  until the client answers every such call of the turn; an answer to some of them
  is kept until the rest arrive.  Long-running tools are run again only when the
  invocation is resumed by id with nothing stored after the model turn (a crash right
  after the call was stored: whether the tool started cannot be told).
* a final reply with nothing after it, in a run that resumed the invocation: the
  invocation is complete and nothing runs.

Everything is read from the session's stored events, so the invocation may have
started in another process.  One run per session at a time (the session service's
claim) means a replay never overlaps the run it replaces: a tool runs again only after
the interrupted run has ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai import types

from trio_adk.agents._callback_context import ReadonlyContext
from trio_adk.events._rewinds import without_rewound
from trio_adk.flows._contents import AUTH_FUNCTION_NAME, CONFIRMATION_FUNCTION_NAME
from trio_adk.flows._functions import handle_call_list

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.agents._llm_agent import LlmAgent
    from trio_adk.events._event import Event

_CLIENT_FUNCTIONS = frozenset({AUTH_FUNCTION_NAME, CONFIRMATION_FUNCTION_NAME})


async def continue_where_stopped(agent: LlmAgent, ctx: InvocationContext) -> Event | bool:
    """Bring ``agent``'s interrupted turn up to date before its next model call.

    Returns True to go on to the model call, False to stop here (paused, or nothing
    left to do), or the response event of calls it ran again (the step continues with
    the model call unless that event ends the agent's turn).  A no-op (True) outside
    resumable Apps.

    Cancellation: at any await while calls run again; their responses are then not
    stored, and the next resume runs them again.
    """
    if not ctx.is_resumable:
        return True
    shared = ctx._shared
    resuming = shared.resuming and agent.name not in shared.stepped
    shared.stepped.add(agent.name)
    events = without_rewound(ctx.session.events)
    newest = _newest_event(events, agent.name, ctx)
    if newest is None:
        return True
    turn_index = _open_turn(events, newest, agent.name, ctx)
    if turn_index != newest and resuming and events[newest].is_final_response() and not any(
            e.author == "user" for e in events[newest + 1:]):
        return False  # the invocation finished (or waits on a confirmation)
    if turn_index is None:
        return not has_pending_calls(agent, ctx)
    turn = events[turn_index]
    later = events[turn_index + 1:]
    calls = [c for c in turn.get_function_calls() if c.name not in _CLIENT_FUNCTIONS]
    answered = {r.id for e in later for r in e.get_function_responses() if r.id}
    missing = [c for c in calls if c.id not in answered]
    long_running = turn.long_running_tool_ids or set()
    # Resumed by id with nothing stored after the call: whether its long-running tools
    # ran cannot be told, so they run again too (at least once).
    rerun_all = resuming and not later
    replay = [c for c in missing if rerun_all or c.id not in long_running]
    response_event = await _run_again(agent, ctx, replay) if replay else None
    replied = {r.id for r in response_event.get_function_responses()} \
        if response_event is not None else set()
    pending = any(c.id in long_running and c.id not in replied for c in missing)
    if pending or has_pending_calls(agent, ctx):
        return False  # a long-running call or a confirmation still waits
    return response_event if response_event is not None else True


async def _run_again(agent: LlmAgent, ctx: InvocationContext,
                     calls: list[types.FunctionCall]) -> Event | None:
    tools = {
        tool.name: tool
        for tool in await agent.canonical_tools(ReadonlyContext(ctx) if agent._toolsets
                                                else None)
    }
    response_event = await handle_call_list(agent, ctx, calls, tools)
    if response_event is not None:
        from trio_adk.flows._llm_flow import emit_agent_event

        await emit_agent_event(agent, ctx, response_event)
    return response_event


def _mine(event: Event, agent_name: str, ctx: InvocationContext) -> bool:
    """An event of ``agent_name`` in the context's invocation and branch, with content."""
    if event.invocation_id != ctx.invocation_id or event.author != agent_name:
        return False
    if event.partial or event.content is None or not event.content.parts:
        return False
    return not ctx.branch or event.branch == ctx.branch


def _newest_event(events: list[Event], agent_name: str, ctx: InvocationContext) -> int | None:
    """Index of ``agent_name``'s newest complete event with content in the invocation
    (and the context's branch), or None."""
    for index in range(len(events) - 1, -1, -1):
        if _mine(events[index], agent_name, ctx):
            return index
    return None


def _open_turn(events: list[Event], newest: int, agent_name: str,
               ctx: InvocationContext) -> int | None:
    """Index of the model turn with function calls that ``agent_name``'s events from
    ``newest`` back belong to (responses and client requests belong to the turn before
    them), or None when the newest of them is model text."""
    for index in range(newest, -1, -1):
        event = events[index]
        if not _mine(event, agent_name, ctx):
            continue
        if any(c.name not in _CLIENT_FUNCTIONS for c in event.get_function_calls()):
            return index
        parts = event.content.parts if event.content else None
        if not parts or not all(p.function_response is not None or (
                p.function_call is not None and p.function_call.name in _CLIENT_FUNCTIONS)
                for p in parts):
            return None
    return None


def has_pending_calls(agent: LlmAgent, ctx: InvocationContext) -> bool:
    """True when ``agent`` left a long-running call or a confirmation request of this
    invocation (and branch) unanswered."""
    answered: set[str] = set()
    for event in reversed(without_rewound(ctx.session.events)):
        if event.invocation_id != ctx.invocation_id:
            continue
        answered.update(r.id for r in event.get_function_responses() if r.id)
        waiting = event.long_running_tool_ids
        if waiting and event.author == agent.name and (
                not ctx.branch or event.branch == ctx.branch) and waiting - answered:
            return True
    return False


def ended_before(agent: LlmAgent, ctx: InvocationContext) -> bool:
    """True when ``agent``'s newest event in the invocation (and branch) is already its
    end-of-agent marker: a resumed run that found nothing to do adds no second one."""
    for event in reversed(ctx.session.events):
        if event.invocation_id != ctx.invocation_id or event.author != agent.name:
            continue
        if ctx.branch and event.branch != ctx.branch:
            continue
        return bool(event.actions.end_of_agent)
    return False
