"""AgentTool: an agent the model calls like a function, run as a child run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import attrs
from google.genai import types
from pydantic import BaseModel

from trio_adk._bridges._anywhere import awaitable_anywhere
from trio_adk._usercode._host import native
from trio_adk._utils._checks import check_instance
from trio_adk._utils._copy import copy_state
from trio_adk.agents._run_config import StreamingMode
from trio_adk.agents._user_message import accept_user_message
from trio_adk.artifacts._base import BaseArtifactService
from trio_adk.events._event import Event
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._function_schema import build_function_declaration

if TYPE_CHECKING:
    from trio_adk.agents._base_agent import BaseAgent
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.tools._tool_context import ToolContext

_log = logging.getLogger("trio_adk")

#: The ``custom_metadata`` key that marks an event streamed from an AgentTool's child
#: run (``stream_events=True``): ``{"tool": <tool name>, "function_call_id": <id>}``.
STREAMED_FROM_AGENT_TOOL = "trio_adk_agent_tool"

_GROUNDING_KEY = "temp:_adk_grounding_metadata"


def input_schema_of(agent: BaseAgent) -> type[BaseModel] | None:
    """The input schema of ``agent``: an LlmAgent's own, or (for a workflow agent) that
    of its first sub-agent, searched down the tree."""
    from trio_adk.agents._llm_agent import LlmAgent

    if isinstance(agent, LlmAgent):
        return agent.input_schema
    return input_schema_of(agent.sub_agents[0]) if agent.sub_agents else None


def output_schema_of(agent: BaseAgent) -> type[BaseModel] | None:
    """The output schema of ``agent``: an LlmAgent's own, or (for a workflow agent) that
    of its last sub-agent, searched down the tree."""
    from trio_adk.agents._llm_agent import LlmAgent

    if isinstance(agent, LlmAgent):
        return agent.output_schema
    return output_schema_of(agent.sub_agents[-1]) if agent.sub_agents else None


class AgentTool(BaseTool):
    """Offer an agent to the model as a tool; each call runs it as a child run.

    The tool is named after the agent and described by its description.  Its parameters
    are the agent's ``input_schema`` (an LlmAgent's, or its first sub-agent's for a
    workflow agent); without one, a single string parameter ``request``.  A call sends
    the arguments to the agent as a user message (the ``input_schema`` model dumped as
    JSON, or the ``request`` text), runs it, and returns the text of its last event with
    content (thoughts left out), or that text parsed by its ``output_schema`` as a dict.

    The child run is ADK's: a fresh in-memory session seeded with the caller's state
    (keys starting ``_adk`` and ``temp:`` left out), the caller's app, user, credential
    service and run config (streaming off), its own memory service and model-call count,
    the caller's plugins unless ``include_plugins=False``.  Every state delta of the
    child is written to the caller's state as it happens (and is stored with the
    function response); artifacts the child saves or loads are the caller's session's.

    ``skip_summarization=True`` ends the caller's turn with the function response: its
    model is not called again on the result.  ``propagate_grounding_metadata=True`` puts
    the last grounding metadata of the child in ``temp:_adk_grounding_metadata``.

    ``stream_events=True`` (beyond ADK) hands each of the child's events to the caller's
    consumer as it happens, instead of nothing until the child is done.  They are
    copies marked ``partial=True`` (so they are shown, never stored in the caller's
    session or sent to its model), with their own author, ``branch`` extended by the
    child's path, and ``custom_metadata["trio_adk_agent_tool"]`` naming the tool and the
    function call.  They go through the caller's normal emit path (its ``on_event``
    plugins see them); with pull semantics, the child waits until the consumer took
    each.

    Cancellation: the child runs in the tool call's own task, so cancelling the caller's
    run (or its tool calls) cancels the child; its cleanup finishes before the call
    returns.  An error in the child propagates unchanged, as any tool's error.
    """

    def __init__(
        self,
        agent: BaseAgent,
        skip_summarization: bool = False,
        *,
        include_plugins: bool = True,
        propagate_grounding_metadata: bool = False,
        stream_events: bool = False,
    ) -> None:
        from trio_adk.agents._base_agent import BaseAgent

        check_instance(agent, BaseAgent, "agent", hint="Pass the agent to run as a tool.")
        for name, value in (("skip_summarization", skip_summarization),
                            ("include_plugins", include_plugins),
                            ("propagate_grounding_metadata", propagate_grounding_metadata),
                            ("stream_events", stream_events)):
            if not isinstance(value, bool):
                raise TypeError(f"AgentTool({name}=...) must be a bool, got "
                                f"{type(value).__name__}.")
        super().__init__(name=agent.name, description=agent.description)
        self.agent = agent
        self.skip_summarization = skip_summarization
        self.include_plugins = include_plugins
        self.propagate_grounding_metadata = propagate_grounding_metadata
        self.stream_events = stream_events

    def _get_declaration(self) -> types.FunctionDeclaration:
        """The agent as a function: its input schema's fields, or ``request: str``."""
        schema = input_schema_of(self.agent)
        if schema is not None:
            declaration = build_function_declaration(schema)
            declaration.description = self.agent.description
        else:
            declaration = types.FunctionDeclaration(
                description=self.agent.description,
                parameters=types.Schema(
                    type=types.Type.OBJECT,
                    properties={"request": types.Schema(type=types.Type.STRING)},
                    required=["request"],
                ),
            )
        declaration.name = self.name
        return declaration

    @native
    @awaitable_anywhere
    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        """Run the agent on ``args`` and return its answer (see the class docstring).

        Awaitable from trio and from asyncio (a subclass overriding it and awaiting
        ``super().run_async`` under an asyncio caller).  Cancellation cancels the child
        run; its cleanup is done when this returns.
        """
        if self.skip_summarization:
            tool_context.actions.skip_summarization = True
        outcome = await _ChildRun(self, tool_context).run(self._message(args))
        return self._result(outcome, tool_context)

    def _message(self, args: dict[str, Any]) -> types.Content:
        schema = input_schema_of(self.agent)
        if schema is not None:
            text = schema.model_validate(args).model_dump_json(exclude_none=True)
        elif "request" in args:
            text = args["request"]
        else:  # a model that ignored the declaration: pass on what it sent
            import json

            text = json.dumps(args, ensure_ascii=False, sort_keys=True)
        return types.Content(role="user", parts=[types.Part(text=text)])

    def _result(self, outcome: _Outcome, tool_context: ToolContext) -> Any:
        if outcome.pending_ids:
            tool_context.actions.skip_summarization = False
            pending = sorted(outcome.pending_ids)
            _log.warning("Agent %r stopped waiting for long-running tool calls %s; an "
                         "AgentTool cannot resume it (its session is discarded).",
                         self.agent.name, pending)
            return (f"Error: agent {self.agent.name!r} stopped waiting for long-running "
                    f"tool calls {pending}, which an AgentTool cannot resume.")
        content = outcome.last_content
        if content is None or content.parts is None:
            return outcome.last_error or ""
        text = "\n".join(t for t in (_part_text(p) for p in content.parts if not p.thought)
                         if t)
        if not text and outcome.last_error:
            return outcome.last_error
        schema = output_schema_of(self.agent)
        result: Any = text
        if schema is not None:
            result = schema.model_validate_json(_strip_fence(text)).model_dump(
                exclude_none=True)
        if self.propagate_grounding_metadata and outcome.grounding is not None:
            tool_context.state[_GROUNDING_KEY] = outcome.grounding
        return result


@attrs.define
class _Outcome:
    """What the tool keeps of the child's events."""

    last_content: types.Content | None = None
    last_error: str | None = None
    grounding: types.GroundingMetadata | None = None
    pending_ids: set[str] = attrs.field(factory=set)

    def take(self, event: Event) -> None:
        if event.error_message:
            self.last_error = event.error_message
        if event.long_running_tool_ids:
            self.pending_ids |= event.long_running_tool_ids
        if event.content:
            self.last_content = event.content
            self.grounding = event.grounding_metadata
            self.pending_ids -= {r.id for r in event.get_function_responses() if r.id}


class _ChildRun:
    """One call's child run, in the calling task: ADK's nested runner, minus the
    runner (no task of its own, no session lock: the session is its own)."""

    def __init__(self, tool: AgentTool, tool_context: ToolContext) -> None:
        self.tool = tool
        self.tool_context = tool_context
        self.parent: InvocationContext = tool_context._invocation_context
        self.outcome = _Outcome()
        self.ctx: InvocationContext | None = None

    async def run(self, message: types.Content) -> _Outcome:
        from trio_adk.agents._base_agent import reap_children
        from trio_adk.agents._tree import validate_tree

        validate_tree(self.tool.agent)
        ctx = await self._open()
        try:
            await self._invoke(ctx, message)
        finally:
            await reap_children(ctx._shared)  # shielded and bounded
        return self.outcome

    async def _open(self) -> InvocationContext:
        from trio_adk.agents._invocation_context import InvocationContext
        from trio_adk.memory._in_memory import InMemoryMemoryService
        from trio_adk.plugins._plugin_manager import PluginManager
        from trio_adk.sessions._in_memory import InMemorySessionService

        parent = self.parent
        sessions = InMemorySessionService()
        session = await sessions.create_session(app_name=parent.app_name,
                                                user_id=parent.user_id)
        # Seeded in place, not through create_session: the caller's state may hold
        # values a session takes only from events (not JSON).  ``temp:`` keys are left
        # out, as a new session drops them.
        session.state.update(copy_state({
            key: value for key, value in self.tool_context.state.to_dict().items()
            if not key.startswith(("_adk", "temp:"))}))
        run_config = parent.run_config
        if run_config.streaming_mode != StreamingMode.NONE or run_config.support_cfc:
            run_config = attrs.evolve(run_config, streaming_mode=StreamingMode.NONE,
                                      support_cfc=False)
        plugins = parent.plugin_manager if self.tool.include_plugins else PluginManager()
        ctx = InvocationContext(
            artifact_service=_ForwardingArtifactService(self.tool_context),
            session_service=sessions,
            memory_service=InMemoryMemoryService(),
            credential_service=parent.credential_service,
            plugin_manager=plugins,
            agent=self.tool.agent,
            session=session,
            run_config=run_config,
        )
        ctx._emit = self._emit
        # The caller's stop is the child's.
        ctx._shared.run_scope = parent._shared.run_scope
        ctx._shared.run_token = parent._shared.run_token
        self.ctx = ctx
        return ctx

    async def _invoke(self, ctx: InvocationContext, message: types.Content) -> None:
        plugins = ctx.plugin_manager
        message = await accept_user_message(ctx, message)
        ctx.user_content = message
        await ctx.session_service.append_event(
            ctx.session, Event(invocation_id=ctx.invocation_id, author="user",
                               content=message))
        early = await plugins.run_before_run_callback(invocation_context=ctx)
        if early is not None:
            await self._emit(Event(invocation_id=ctx.invocation_id, author="model",
                                   content=early))
        else:
            await ctx.agent._execute(ctx)
        await plugins.run_after_run_callback(invocation_context=ctx)

    async def _emit(self, event: Event) -> None:
        """The child's sink: what the runner does with an event, then what ADK's
        AgentTool does with it, then (``stream_events``) the hand-over to the caller."""
        from trio_adk._run import _merge_replacement, _stamp_metadata

        ctx = self.ctx
        assert ctx is not None
        if ctx.run_config.custom_metadata:
            _stamp_metadata(event, ctx.run_config)
        if ctx.plugin_manager.plugins:
            replacement = await ctx.plugin_manager.run_on_event_callback(
                invocation_context=ctx, event=event)
            if replacement is not None:
                event = _merge_replacement(event, replacement)
        if not event.partial:
            delta = event.actions.state_delta
            if delta:
                event.actions.state_delta = copy_state(delta)
            await ctx.session_service.append_event(ctx.session, event)
        if event.actions.state_delta:
            self.tool_context.state.update(event.actions.state_delta)
        self.outcome.take(event)
        if self.tool.stream_events:
            await self.parent.emit(self._streamed(event))

    def _streamed(self, event: Event) -> Event:
        parent = self.parent
        base = parent.branch or parent.agent.name
        marker = {"tool": self.tool.name,
                  "function_call_id": self.tool_context.function_call_id}
        return attrs.evolve(
            event, partial=True,
            branch=f"{base}.{event.branch or self.tool.agent.name}",
            custom_metadata={**(event.custom_metadata or {}),
                             STREAMED_FROM_AGENT_TOOL: marker},
        )


class _ForwardingArtifactService(BaseArtifactService):
    """The child's artifact service: the caller's session's artifacts, through the
    tool context (so saves are recorded in the function response's artifact delta)."""

    def __init__(self, tool_context: ToolContext) -> None:
        self._tool_context = tool_context
        self._parent = tool_context._invocation_context

    def _service(self) -> BaseArtifactService:
        service = self._parent.artifact_service
        if service is None:
            raise ValueError("Artifact service is not initialized.")
        return service

    async def save_artifact(self, *, app_name: str, user_id: str, session_id: str,
                            filename: str, artifact: types.Part) -> int:
        return await self._tool_context.save_artifact(filename, artifact)

    async def load_artifact(self, *, app_name: str, user_id: str, session_id: str,
                            filename: str, version: int | None = None) -> types.Part | None:
        return await self._tool_context.load_artifact(filename, version)

    async def list_artifact_keys(self, *, app_name: str, user_id: str,
                                 session_id: str) -> list[str]:
        return await self._tool_context.list_artifacts()

    async def delete_artifact(self, *, app_name: str, user_id: str, session_id: str,
                              filename: str) -> None:
        parent = self._parent
        await self._service().delete_artifact(
            app_name=parent.app_name, user_id=parent.user_id, session_id=parent.session.id,
            filename=filename)

    async def list_versions(self, *, app_name: str, user_id: str, session_id: str,
                            filename: str) -> list[int]:
        parent = self._parent
        return await self._service().list_versions(
            app_name=parent.app_name, user_id=parent.user_id, session_id=parent.session.id,
            filename=filename)


def _part_text(part: types.Part) -> str:
    """What a part says to a reader: its text, or its code or code output."""
    if part.text:
        return part.text
    result = part.code_execution_result
    if result is not None and result.output:
        return result.output.rstrip("\n")
    code = part.executable_code
    if code is not None and code.code:
        return code.code
    return ""


def _strip_fence(text: str) -> str:
    """JSON the model wrapped in a Markdown code fence, unwrapped."""
    body = text.strip()
    if len(body) < 6 or not body.startswith("```") or not body.endswith("```"):
        return text
    inner = body[3:-3]
    tag = 0  # a language tag (```json) and the blanks after it
    while tag < len(inner) and (inner[tag].isalnum() or inner[tag] == "_"):
        tag += 1
    inner = inner[tag:]
    return inner.strip()

