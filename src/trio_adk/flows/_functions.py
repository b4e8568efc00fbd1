"""Executing the function calls of one model turn."""

from __future__ import annotations

import copy
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from google.genai import types

from trio_adk._usercode._host import await_method
from trio_adk._utils._callbacks import call_chain
from trio_adk._utils._copy import copy_value
from trio_adk._utils._groups import run_all
from trio_adk._utils._ids import new_uuid4
from trio_adk.errors import ToolNotFoundError
from trio_adk.events._event import Event
from trio_adk.events._event_actions import EventActions
from trio_adk.events._tool_confirmation import ToolConfirmation
from trio_adk.flows._contents import (
    AUTH_FUNCTION_NAME,
    CLIENT_ID_PREFIX,
    CONFIRMATION_FUNCTION_NAME,
)
from trio_adk.telemetry._spans import tool_span
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._function_tool import FunctionTool
from trio_adk.tools._tool_context import ToolContext

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.agents._live_request_queue import LiveRequestQueue
    from trio_adk.agents._llm_agent import LlmAgent


def new_call_id() -> str:
    """A client-assigned function-call id (``adk-<uuid4>``)."""
    return CLIENT_ID_PREFIX + new_uuid4()


def populate_call_ids(event: Event) -> None:
    """Give every function call of ``event`` an id when the model sent none."""
    for call in event.get_function_calls():
        if not call.id:
            call.id = new_call_id()


def long_running_ids(event: Event, tools: dict[str, BaseTool]) -> set[str] | None:
    """Ids of the calls in ``event`` whose tools are long-running, or None."""
    ids = {
        call.id for call in event.get_function_calls()
        if call.id and call.name in tools and tools[call.name].is_long_running
    }
    return ids or None


class _MissingTool(BaseTool):
    """Stands in for a tool the model named but the agent does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, description="(unknown tool)")


async def handle_function_calls(
    agent: LlmAgent,
    ctx: InvocationContext,
    call_event: Event,
    tools: dict[str, BaseTool],
) -> Event | None:
    """Run every function call of ``call_event`` concurrently; merge the results.

    Calls run as tasks of one nursery (a single call runs inline).  The merged event
    lists responses in call order.  If a tool fails and no error callback answers, the
    other calls are cancelled and the error propagates unwrapped.  Returns ``None`` when
    no call produced a response (long-running tools that answer later).
    """
    return await handle_call_list(agent, ctx, call_event.get_function_calls(), tools)


async def handle_call_list(
    agent: LlmAgent,
    ctx: InvocationContext,
    calls: list[types.FunctionCall],
    tools: dict[str, BaseTool],
    confirmations: dict[str, ToolConfirmation] | None = None,
) -> Event | None:
    """:func:`handle_function_calls` for a list of calls; ``confirmations`` (call id ->
    the client's answer) are handed to those calls' tools as
    ``tool_context.tool_confirmation``."""
    if not calls:
        return None
    answers = confirmations or {}
    if len(calls) == 1:
        return await run_call(agent, ctx, calls[0], tools,
                              confirmation=answers.get(calls[0].id or ""))
    results: list[Event | None] = [None] * len(calls)

    def job(index: int, call: types.FunctionCall) -> Callable[[], Awaitable[None]]:
        async def run_one() -> None:
            results[index] = await run_call(agent, ctx, call, tools,
                                            confirmation=answers.get(call.id or ""))
        return run_one

    await run_all([(f"trio_adk.tool:{call.name}", job(i, call)) for i, call in enumerate(calls)])
    return merge_response_events([e for e in results if e is not None])


OnStream = Callable[
    [types.FunctionCall, BaseTool, AsyncGenerator[Any, None], "LiveRequestQueue | None"],
    Any,
]
"""Live mode's hook for async-generator tools: starts the stream, returns the immediate
result for the model."""


async def run_call(
    agent: LlmAgent, ctx: InvocationContext, call: types.FunctionCall,
    tools: dict[str, BaseTool], *, on_stream: OnStream | None = None,
    confirmation: ToolConfirmation | None = None,
) -> Event | None:
    """Run one function call with its callbacks; the response event, or None for a
    long-running tool that answers later.

    A tool that returns an async generator is a streaming tool: with ``on_stream`` (live
    mode) it is handed over and its immediate result answers the call; otherwise it is
    closed and ``TypeError`` is raised.  ``confirmation``: the client's answer when the
    call runs again after a confirmation request.
    """
    tool_context = ToolContext(ctx, function_call_id=call.id, tool_confirmation=confirmation)
    args: dict[str, Any] = copy.deepcopy(call.args) if call.args else {}
    tool = tools.get(call.name or "")
    input_stream: LiveRequestQueue | None = None
    if on_stream is not None and tool is not None and takes_input_stream(tool):
        from trio_adk.agents._live_request_queue import LiveRequestQueue

        input_stream = LiveRequestQueue()
        args["input_stream"] = input_stream
    if tool is None:
        missing = _MissingTool(call.name or "")
        error = ToolNotFoundError(
            f"Tool '{call.name}' not found.\nAvailable tools: "
            f"{', '.join(sorted(tools)) or '(none)'}\n"
            "Possible causes: the model invented a name, or the tool was not added to "
            f"agent '{agent.name}' (LlmAgent.tools)."
        )
        result = await _on_tool_error(agent, ctx, missing, args, tool_context, error)
        if result is None:
            raise error
        return _response_event(agent, ctx, call, missing.name, result, tool_context)

    with tool_span(agent, tool, call.id) as span:
        event = await _run_tool(agent, ctx, call, tool, args, tool_context, on_stream,
                                input_stream)
        if event is not None and span.is_recording():
            span.set_attribute("gcp.vertex.agent.event_id", event.id)
        return event


async def _run_tool(
    agent: LlmAgent, ctx: InvocationContext, call: types.FunctionCall, tool: BaseTool,
    args: dict[str, Any], tool_context: ToolContext, on_stream: OnStream | None,
    input_stream: LiveRequestQueue | None,
) -> Event | None:
    """A found tool's call: before-tool callbacks, the tool, after-tool callbacks."""
    plugins = ctx.plugin_manager
    result: Any = await plugins.run_before_tool_callback(
        tool=tool, tool_args=args, tool_context=tool_context)
    if result is None and agent.before_tool_callback:
        result = await call_chain(agent.before_tool_callback, tool=tool, args=args,
                                  tool_context=tool_context)
    if result is None:
        try:
            result = await await_method(tool.run_async, args=args, tool_context=tool_context)
        except Exception as exc:
            result = await _on_tool_error(agent, ctx, tool, args, tool_context, exc)
            if result is None:
                raise
        if inspect.isasyncgen(result):
            if on_stream is None:
                await result.aclose()
                raise TypeError(
                    f"Tool '{tool.name}' is an async generator (a streaming tool); "
                    "streaming tools only work in live runs (Runner.run_live)."
                )
            result = on_stream(call, tool, cast("AsyncGenerator[Any, None]", result),
                               input_stream)
    altered = await plugins.run_after_tool_callback(
        tool=tool, tool_args=args, tool_context=tool_context, result=result)
    if altered is None and agent.after_tool_callback:
        altered = await call_chain(agent.after_tool_callback, tool=tool, args=args,
                                   tool_context=tool_context, tool_response=result)
    if altered is not None:
        result = altered
    if tool.is_long_running and not result:
        return None
    return _response_event(agent, ctx, call, tool.name, result, tool_context)


async def _on_tool_error(
    agent: LlmAgent, ctx: InvocationContext, tool: BaseTool, args: dict[str, Any],
    tool_context: ToolContext, error: Exception,
) -> Any:
    """The answer of the error callbacks (plugins first, then the agent's), or None."""
    result = await ctx.plugin_manager.run_on_tool_error_callback(
        tool=tool, tool_args=args, tool_context=tool_context, error=error)
    if result is None and agent.on_tool_error_callback:
        result = await call_chain(agent.on_tool_error_callback, tool=tool, args=args,
                                  tool_context=tool_context, error=error)
    return result


def takes_input_stream(tool: BaseTool) -> bool:
    """True for a function tool with an ``input_stream`` parameter: in live mode it gets
    its own ``LiveRequestQueue`` fed with a copy of every live request."""
    return isinstance(tool, FunctionTool) and tool._takes_input_stream


def _response_event(
    agent: LlmAgent, ctx: InvocationContext, call: types.FunctionCall, name: str,
    result: Any, tool_context: ToolContext,
) -> Event:
    if not isinstance(result, dict):
        result = {"result": result}
    part = types.Part(function_response=types.FunctionResponse(
        id=call.id, name=name, response=result))
    return Event(
        invocation_id=ctx.invocation_id, author=agent.name, branch=ctx.branch,
        content=types.Content(role="user", parts=[part]), actions=tool_context.actions,
    )


def _merge_dicts(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge_dicts(into[key], value)
        else:
            into[key] = copy_value(value)  # never merge into an object a tool stored


def merge_actions(actions: list[EventActions]) -> EventActions:
    """Deep-merge the actions of several response events, later ones winning; UI
    widgets are all kept, in call order."""
    merged = EventActions()
    for a in actions:
        _merge_dicts(merged.state_delta, a.state_delta)
        _merge_dicts(merged.artifact_delta, a.artifact_delta)
        merged.requested_auth_configs.update(a.requested_auth_configs)
        merged.requested_tool_confirmations.update(a.requested_tool_confirmations)
        if a.render_ui_widgets:
            merged.render_ui_widgets = [*(merged.render_ui_widgets or []),
                                        *a.render_ui_widgets]
        for name in ("skip_summarization", "transfer_to_agent", "escalate", "end_of_agent"):
            value = getattr(a, name)
            if value is not None:
                setattr(merged, name, value)
    return merged


def merge_response_events(events: list[Event]) -> Event | None:
    """One event with every response part in call order and the merged actions."""
    if not events:
        return None
    if len(events) == 1:
        return events[0]
    first = events[0]
    parts: list[types.Part] = []
    for event in events:
        assert event.content is not None and event.content.parts is not None
        parts.extend(event.content.parts)
    return Event(
        invocation_id=first.invocation_id, author=first.author, branch=first.branch,
        timestamp=first.timestamp, content=types.Content(role="user", parts=parts),
        actions=merge_actions([e.actions for e in events]),
    )


def auth_request_event(ctx: InvocationContext, response_event: Event) -> Event | None:
    """The event asking the client for credentials that tools requested, if any."""
    requested = response_event.actions.requested_auth_configs
    if not requested:
        return None
    parts: list[types.Part] = []
    ids: set[str] = set()
    for function_call_id, auth_config in requested.items():
        dumped = auth_config.model_dump(mode="json", by_alias=True, exclude_none=True) \
            if hasattr(auth_config, "model_dump") else auth_config
        call = types.FunctionCall(
            id=new_call_id(), name=AUTH_FUNCTION_NAME,
            args={"functionCallId": function_call_id, "authConfig": dumped},
        )
        assert call.id is not None
        ids.add(call.id)
        parts.append(types.Part(function_call=call))
    return Event(
        invocation_id=ctx.invocation_id, author=response_event.author,
        branch=response_event.branch, content=types.Content(role="model", parts=parts),
        long_running_tool_ids=ids,
    )


def confirmation_request_event(
    ctx: InvocationContext, call_event: Event, response_event: Event
) -> Event | None:
    """The event asking the client to approve the calls whose tools requested it, if any.

    One ``adk_request_confirmation`` call per request, with a fresh client id, the
    original call and the request as its args, and marked long-running.
    """
    requested = response_event.actions.requested_tool_confirmations
    if not requested:
        return None
    originals = {c.id: c for c in call_event.get_function_calls() if c.id}
    parts: list[types.Part] = []
    ids: set[str] = set()
    for function_call_id, confirmation in requested.items():
        original = originals.get(function_call_id)
        if original is None:
            continue
        call = types.FunctionCall(
            id=new_call_id(), name=CONFIRMATION_FUNCTION_NAME,
            args={
                "originalFunctionCall": original.model_dump(
                    mode="json", by_alias=True, exclude_none=True),
                "toolConfirmation": confirmation.model_dump(
                    mode="json", by_alias=True, exclude_none=True),
            },
        )
        assert call.id is not None
        ids.add(call.id)
        parts.append(types.Part(function_call=call))
    return Event(
        invocation_id=ctx.invocation_id, author=response_event.author,
        branch=response_event.branch, content=types.Content(role="model", parts=parts),
        long_running_tool_ids=ids,
    )
