"""LlmAgent.planner in the step loop: what it adds to requests and does to responses."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from trio_adk._usercode._host import call_user
from trio_adk.agents._callback_context import CallbackContext, ReadonlyContext
from trio_adk.events._event import Event
from trio_adk.planners._base_planner import BasePlanner
from trio_adk.planners._built_in_planner import BuiltInPlanner

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.agents._llm_agent import LlmAgent
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.models._llm_response import LlmResponse


async def apply_planner(planner: BasePlanner, ctx: InvocationContext,
                        request: LlmRequest) -> None:
    """Prepare ``request`` (instructions and contents already built) for ``planner``.

    A ``BuiltInPlanner`` sets the request's thinking config; any other planner appends
    its planning instruction and has earlier parts sent without their ``thought`` mark
    (it marked them itself).  A user's planner method runs on the caller's library.
    """
    if isinstance(planner, BuiltInPlanner):
        planner.apply_thinking_config(request)
        return
    text = await call_user(planner.build_planning_instruction, ReadonlyContext(ctx), request)
    if text:
        request.append_instructions([str(text)])
    for content in request.contents:
        # Fresh Content objects and parts lists, but parts shared with the session's
        # events: replace a marked part, never edit it.
        if content.parts and any(p.thought is not None for p in content.parts):
            content.parts = [p if p.thought is None else p.model_copy(update={"thought": None})
                             for p in content.parts]


def _rewrites_responses(planner: BasePlanner) -> bool:
    method = type(planner).process_planning_response
    return method is not BuiltInPlanner.process_planning_response


async def planned_response(agent: LlmAgent, ctx: InvocationContext,
                           response: LlmResponse) -> LlmResponse:
    """``response`` with its parts as ``agent.planner`` rewrites them.

    State the planner writes through its callback context is emitted first, in an event
    of its own.  Cancellation: only while that event is emitted.
    """
    planner = agent.planner
    content = response.content
    if planner is None or content is None or not content.parts \
            or not _rewrites_responses(planner):
        return response
    callback_context = CallbackContext(ctx)
    parts = await call_user(planner.process_planning_response, callback_context,
                            list(content.parts))
    if callback_context.state.has_delta():
        await ctx.emit(Event(invocation_id=ctx.invocation_id, author=agent.name,
                             branch=ctx.branch, actions=callback_context.actions))
    if not parts:
        return response
    return attrs.evolve(response, content=content.model_copy(update={"parts": list(parts)}))
