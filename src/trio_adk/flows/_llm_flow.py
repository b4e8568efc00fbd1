"""The LLM step loop: build a request, call the model, run tools, repeat until final."""

from __future__ import annotations

import contextvars
import json
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import attrs
import trio
from google.genai import types

from trio_adk._usercode._host import await_method, is_native, iterate_user
from trio_adk._utils._callbacks import call_chain
from trio_adk.agents._callback_context import CallbackContext, ReadonlyContext
from trio_adk.agents._llm_agent import LlmAgent
from trio_adk.agents._run_config import StreamingMode
from trio_adk.code_executors._processing import add_code_execution, save_generated_images
from trio_adk.events._event import Event
from trio_adk.events._event_actions import EventActions
from trio_adk.flows._confirmation import resume_confirmed_calls
from trio_adk.flows._functions import (
    auth_request_event,
    confirmation_request_event,
    handle_function_calls,
    long_running_ids,
    populate_call_ids,
)
from trio_adk.flows._history_cache import history
from trio_adk.flows._instructions import inject_session_state
from trio_adk.flows._planning import apply_planner, planned_response
from trio_adk.flows._resume import continue_where_stopped, ended_before, has_pending_calls
from trio_adk.flows._static_instruction import (
    fenced,
    insert_instruction_contents,
    split_static,
    to_content,
)
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse
from trio_adk.telemetry._spans import ModelCall, handed_over, model_span
from trio_adk.tools._builtin_rules import check_builtin_tools
from trio_adk.tools._grounding_propagation import with_propagated_grounding
from trio_adk.tools._tool_context import ToolContext
from trio_adk.tools._transfer_to_agent import TransferToAgentTool, transfer_to_agent

if TYPE_CHECKING:
    from trio_adk.agents._base_agent import BaseAgent
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.models._base_llm import BaseLlm

AGENT_NAME_LABEL = "adk_agent_name"
_RESPONSE_FIELDS = tuple(f.name for f in attrs.fields(LlmResponse))
# How long closing a model's response stream may take when the step ends or is cancelled.
_STREAM_CLOSE_GRACE = 5.0


async def run_llm_flow(agent: LlmAgent, ctx: InvocationContext) -> None:
    """Run model steps until one ends with a final event (or nothing, or a transfer).

    Cancellation: at any await; a model stream is closed on the way out, running tools
    are cancelled with their nursery, and nothing half-built is emitted.
    """
    token = _RUN_OUTPUT.set([])  # this agent run's text so far, for output_key
    try:
        while True:
            last = await _run_step(agent, ctx)
            if last is None or last.partial or last.is_final_response():
                break
    finally:
        _RUN_OUTPUT.reset(token)
    if ctx.is_resumable:
        if has_pending_calls(agent, ctx):
            ctx._shared.paused = True  # workflow agents above start nothing further
        elif not ended_before(agent, ctx):
            # ADK 2.13's marker of a finished agent run in a resumable App.
            await ctx.emit(Event(invocation_id=ctx.invocation_id, author=agent.name,
                                 branch=ctx.branch, actions=EventActions(end_of_agent=True)))


async def _run_step(agent: LlmAgent, ctx: InvocationContext) -> Event | None:
    """One model call and the tool round it triggers.  Returns the last event, or None
    when the step produced nothing or handed over to another agent."""
    request = LlmRequest()
    # Calls the client has just confirmed or rejected run first, so the model sees
    # their results (as ADK's request_confirmation request processor).
    if not await resume_confirmed_calls(agent, ctx):
        return None
    # In a resumable App: calls of an interrupted turn run again, a pending
    # long-running call keeps the invocation paused.
    where = await continue_where_stopped(agent, ctx)
    if where is False:
        return None
    if isinstance(where, Event):
        if where.actions.transfer_to_agent:
            await _hand_over(agent, ctx, where.actions.transfer_to_agent)
            return None
        if where.is_final_response():
            return where
    hook = ctx._shared.before_model_call
    if hook is not None:
        await hook(ctx, agent)  # token-threshold compaction, before contents are built
    await preprocess(agent, ctx, request)
    if ctx.end_invocation:
        return None
    template = EventActions()
    callback_context = CallbackContext(ctx, event_actions=template)
    plugins = ctx.plugin_manager
    override: LlmResponse | None = await plugins.run_before_model_callback(
        callback_context=callback_context, llm_request=request)
    if override is None and agent.before_model_callback:
        override = await call_chain(agent.before_model_callback,
                                    callback_context=callback_context, llm_request=request)
    if override is not None:
        return await _handle_response(agent, ctx, request, override, template)

    labels = request.config.labels or {}
    # The agent's name labels the call (billing reports per agent), unless already set;
    # after the before-model callbacks, as ADK.  The Gemini API backend does not send it.
    labels.setdefault(AGENT_NAME_LABEL, agent.name)
    request.config.labels = labels
    ctx.increment_llm_call_count()
    llm = agent.canonical_model
    stream = ctx.run_config.streaming_mode == StreamingMode.SSE
    timeout = ctx.run_config.model_call_timeout
    with model_span(agent, ctx, request, llm.model) as call:
        return await _call_model(agent, ctx, request, callback_context, template, call,
                                 stream=stream, budget=timeout)


async def _call_model(
    agent: LlmAgent, ctx: InvocationContext, request: LlmRequest,
    callback_context: CallbackContext, template: EventActions, call: ModelCall, *,
    stream: bool, budget: float | None,
) -> Event | None:
    """The model call itself: responses through the after-model callbacks to events.
    ``budget``: seconds the model may take in all (``model_call_timeout``)."""
    timeout = budget
    llm = agent.canonical_model
    last: Event | None = None
    event_id = Event.new_id()
    responses = llm.generate_content_async(request, stream=stream)
    if not is_native(llm.generate_content_async):
        responses = iterate_user(responses)  # a user's model: on the caller's library
    try:
        while True:
            try:
                response = await _next_response(responses, timeout)
            except StopAsyncIteration:
                break
            except Exception as exc:
                replacement = await _on_model_error(agent, ctx, callback_context, request, exc)
                if replacement is None:
                    raise
                return await _handle_response(agent, ctx, request, replacement, template)
            if timeout is not None:
                timeout = response[1]
            response_ = await _after_model(agent, ctx, callback_context, response[0])
            response_ = with_propagated_grounding(request.tools_dict, ctx.session.state,
                                                  response_)
            event = await _handle_response(agent, ctx, request, response_, template, call,
                                           event_id=event_id)
            if event is not None and not event.partial:
                # Partial chunks of one streamed reply share their final event's id (as
                # in ADK 2.13); the next reply gets a fresh one.
                event_id = Event.new_id()
            if event is not None:
                last = event
            if last is _HANDED_OVER:
                return None
    finally:
        with trio.move_on_after(_STREAM_CLOSE_GRACE) as cleanup:
            cleanup.shield = True
            await responses.aclose()
    return last


_HANDED_OVER = Event(author="", id="handed-over")


async def _next_response(
    responses: AsyncGenerator[LlmResponse, None], budget: float | None
) -> tuple[LlmResponse, float | None]:
    """The model's next response; with a timeout, the time left is returned too.

    The timeout counts only time spent waiting for the model, not time the consumer
    spends with the events.
    """
    if budget is None:
        return await anext(responses), None
    start = trio.current_time()
    if budget > 0:
        with trio.move_on_after(budget) as scope:
            response = await anext(responses)
        if not scope.cancelled_caught:
            return response, budget - (trio.current_time() - start)
    # Out of time: the budget ran out while waiting, or before this response (a model
    # that overran it without a checkpoint, or a timeout of 0).
    raise TimeoutError("The model call took longer than RunConfig.model_call_timeout allows.")


async def _after_model(
    agent: LlmAgent, ctx: InvocationContext, callback_context: CallbackContext,
    response: LlmResponse,
) -> LlmResponse:
    plugins = ctx.plugin_manager
    altered: LlmResponse | None = await plugins.run_after_model_callback(
        callback_context=callback_context, llm_response=response)
    if altered is None and agent.after_model_callback:
        altered = await call_chain(agent.after_model_callback,
                                   callback_context=callback_context, llm_response=response)
    return altered if altered is not None else response


async def _on_model_error(
    agent: LlmAgent, ctx: InvocationContext, callback_context: CallbackContext,
    request: LlmRequest, error: Exception,
) -> LlmResponse | None:
    replacement: LlmResponse | None = await ctx.plugin_manager.run_on_model_error_callback(
        callback_context=callback_context, llm_request=request, error=error)
    if replacement is None and agent.on_model_error_callback:
        replacement = await call_chain(agent.on_model_error_callback,
                                       callback_context=callback_context,
                                       llm_request=request, error=error)
    return replacement


def response_fields(response: LlmResponse) -> dict[str, Any]:
    """Every ``LlmResponse`` field of ``response``, to build the ``Event`` carrying it."""
    return {name: getattr(response, name) for name in _RESPONSE_FIELDS}


def _to_event(
    agent: LlmAgent, ctx: InvocationContext, response: LlmResponse, template: EventActions,
    event_id: str | None = None,
) -> Event | None:
    if response.content is None and response.error_code is None and not response.interrupted:
        return None  # e.g. a turn_complete-only or usage-only response
    fields = response_fields(response)
    if template.state_delta or template.artifact_delta:
        actions = EventActions(state_delta=dict(template.state_delta),
                               artifact_delta=dict(template.artifact_delta))
    else:
        actions = EventActions()
    if event_id is not None:
        fields["id"] = event_id
    return Event(invocation_id=ctx.invocation_id, author=agent.name, branch=ctx.branch,
                 actions=actions, **fields)


async def _handle_response(
    agent: LlmAgent, ctx: InvocationContext, request: LlmRequest, response: LlmResponse,
    template: EventActions, call: ModelCall | None = None, *, event_id: str | None = None,
) -> Event | None:
    """Emit the event of one model response and run the tools it calls.  ``call``: the
    model call's span, told about the response and ended before tools run."""
    if agent.planner is not None:
        response = await planned_response(agent, ctx, response)
    if agent.code_executor is not None or ctx.run_config.support_cfc:
        response, saved_images = await save_generated_images(agent, ctx, response)
        if saved_images is not None:
            await ctx.emit(saved_images)
    event = _to_event(agent, ctx, response, template, event_id)
    if call is not None:
        call.saw(response, None if event is None else event.id)
    if event is None:
        return None
    calls = event.get_function_calls()
    if calls:
        populate_call_ids(event)
        event.long_running_tool_ids = long_running_ids(event, request.tools_dict)
    await emit_agent_event(agent, ctx, event)
    if not calls or event.partial:
        return event
    if call is not None:
        call.finish()  # the model has answered; its tools' spans are its siblings
    response_event = await handle_function_calls(agent, ctx, event, request.tools_dict)
    if response_event is None:
        return event
    auth_event = auth_request_event(ctx, response_event)
    if auth_event is not None:
        await ctx.emit(auth_event)
    confirmation_event = confirmation_request_event(ctx, event, response_event)
    if confirmation_event is not None:
        await ctx.emit(confirmation_event)
    await emit_agent_event(agent, ctx, response_event)
    target_name = response_event.actions.transfer_to_agent
    if target_name:
        await _hand_over(agent, ctx, target_name)
        return _HANDED_OVER
    if ctx.is_resumable and (auth_event is not None or confirmation_event is not None):
        return _HANDED_OVER  # paused: the client answers the request first (ADK 2.13)
    return response_event


async def _hand_over(agent: LlmAgent, ctx: InvocationContext, target_name: str) -> None:
    """Run the agent ``agent`` transferred the conversation to."""
    target = agent.root_agent.find_agent(target_name)
    if target is None:
        raise ValueError(
            f"Agent {target_name} not found in the agent tree. Known agents: "
            f"{', '.join(_agent_names(agent.root_agent))}."
        )
    with handed_over(ctx):
        await target._execute(ctx)


def _agent_names(root: BaseAgent) -> list[str]:
    names = [root.name]
    for sub in root.sub_agents:
        names.extend(_agent_names(sub))
    return names


async def emit_agent_event(agent: LlmAgent, ctx: InvocationContext, event: Event) -> None:
    """Emit ``event``, first saving the agent's final text under ``output_key``."""
    if agent.output_key and event.author == agent.name and not event.partial:
        save_output(agent, event)
    await ctx.emit(event)


# The non-thought text of the current agent run's events so far (one list per run of
# run_llm_flow, in its task's context): output_key holds all of it, so text the model
# wrote next to a function call is not lost (as ADK 2.x).
_RUN_OUTPUT: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "trio_adk_run_output", default=None)


def save_output(agent: LlmAgent, event: Event) -> None:
    """Save the agent's text under ``output_key`` in ``event``'s state delta.

    A final event with text saves that text (parsed as JSON with ``output_schema``); a
    final event without text (a function response ending the agent, e.g. ``exit_loop``'s
    escalation) keeps the value saved before.  Without ``output_schema``, every text of
    the agent's run counts: an event with text saves all the run's text so far.
    """
    content = event.content
    if content is None or not content.parts:
        return
    key = agent.output_key
    assert key is not None
    text = "".join(p.text for p in content.parts if p.text and not p.thought)
    if event.is_final_response() and any(
            p.text is not None and not p.thought for p in content.parts):
        if agent.output_schema is None:
            event.actions.state_delta[key] = text
        elif text.strip():  # an empty last chunk of a stream is not the answer
            event.actions.state_delta[key] = json.loads(text)
    run_text = _RUN_OUTPUT.get()
    if text and run_text is not None and agent.output_schema is None:
        run_text.append(text)
        event.actions.state_delta[key] = "".join(run_text)


# ---- request building ------------------------------------------------------------------


async def preprocess(agent: LlmAgent, ctx: InvocationContext, request: LlmRequest) -> None:
    """Fill ``request`` for ``agent``'s next model call: model, config, instructions,
    history and tools (shared by the step loop and the live loop)."""
    llm: BaseLlm = agent.canonical_model
    request.model = llm.model
    if agent.generate_content_config is not None:
        request.config = agent.generate_content_config.model_copy(deep=True)
    if agent.output_schema is not None:
        request.set_output_schema(agent.output_schema)
    instructions: list[str] = []
    readonly = ReadonlyContext(ctx)
    root = agent.root_agent
    if isinstance(root, LlmAgent) and root.global_instruction:
        instructions.append(await _filled(await root.canonical_global_instruction(readonly),
                                          ctx))
    static = agent.static_instruction
    in_contents: list[types.Content] = []  # instruction material sent as user contents
    data_prefix = False
    if static:
        texts, in_contents = split_static(to_content(static))
        data_prefix = bool(in_contents)
        instructions.extend(texts)
    if agent.instruction:
        text = await _filled(await agent.canonical_instruction(readonly), ctx)
        if static:  # the system instruction stays a fixed prefix (cacheable)
            in_contents.append(fenced(text))
        else:
            instructions.append(text)
    identity = f'You are an agent. Your internal name is "{agent.name}".'
    if agent.description:
        identity += f' The description about you is "{agent.description}".'
    instructions.append(identity)
    targets = check_builtin_tools(agent, transfer_targets(agent), request.model)
    request.append_instructions([i for i in instructions if i])
    request.contents = history(ctx, agent, include=agent.include_contents)
    insert_instruction_contents(request.contents, in_contents, as_prefix=data_prefix)
    add_code_execution(agent, ctx, request)
    if agent.planner is not None:
        await apply_planner(agent.planner, ctx, request)
    if targets:
        request.append_instructions([_transfer_instruction(agent, targets)])
    tools = await agent.canonical_tools(ReadonlyContext(ctx) if agent._toolsets else None)
    if targets and not any(t.name == transfer_to_agent.__name__ for t in tools):
        # An agent that lists transfer_to_agent itself keeps its own (declaring the name
        # twice is an error at the model).  Declared first, as ADK's request steps do.
        tools = [TransferToAgentTool([t.name for t in targets]), *tools]
    if tools:
        tool_context = ToolContext(ctx)
        for tool in tools:
            await await_method(tool.process_llm_request, tool_context=tool_context,
                               llm_request=request)


async def _filled(resolved: tuple[str, bool], ctx: InvocationContext) -> str:
    """A canonical instruction with its placeholders filled, unless it bypasses that."""
    text, bypass_state_injection = resolved
    if bypass_state_injection:
        return text
    return await inject_session_state(text, ctx)


def transfer_targets(agent: LlmAgent) -> list[BaseAgent]:
    """The agents ``agent`` may hand the conversation to."""
    targets: list[BaseAgent] = list(agent.sub_agents)
    parent = agent.parent_agent
    if isinstance(parent, LlmAgent):
        if not agent.disallow_transfer_to_parent:
            targets.append(parent)
        if not agent.disallow_transfer_to_peers:
            targets.extend(p for p in parent.sub_agents if p is not agent)
    return targets


def _transfer_instruction(agent: LlmAgent, targets: list[BaseAgent]) -> str:
    lines = ["You can hand the conversation to one of these agents:", ""]
    for target in targets:
        lines.append(f"Agent name: {target.name}")
        lines.append(f"Agent description: {target.description}")
        lines.append("")
    lines.append(
        "If your own description fits the request best, answer it yourself. If another "
        "agent's description fits better, call the `transfer_to_agent` function with that "
        "agent's name, and write no other text alongside the function call."
    )
    parent = agent.parent_agent
    if parent is not None and parent in targets:
        lines.append(
            f"If no agent fits, including you, transfer to your parent agent `{parent.name}`."
        )
    return "\n".join(lines)
