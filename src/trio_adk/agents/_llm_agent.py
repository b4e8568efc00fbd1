"""LlmAgent (alias Agent): an agent driven by a language model."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from google.genai import types
from pydantic import BaseModel, field_validator

from trio_adk._usercode._host import await_user, call_user
from trio_adk.agents._agent_tools import AgentTools, build_agent_tools, check_listed_tools
from trio_adk.agents._base_agent import AgentCallback, BaseAgent, _native
from trio_adk.agents._callback_context import ReadonlyContext
from trio_adk.code_executors._base import BaseCodeExecutor
from trio_adk.events._event import Event
from trio_adk.models._base_llm import BaseLlm
from trio_adk.models._registry import LLMRegistry
from trio_adk.planners._base_planner import BasePlanner
from trio_adk.tools._base_tool import BaseTool, BaseToolset

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext

InstructionProvider = Callable[[ReadonlyContext], str | Awaitable[str]]
ToolUnion = Callable[..., Any] | BaseTool | BaseToolset


class LlmAgent(BaseAgent):
    """An agent that asks a model what to do, runs the tools it calls, and repeats
    until the model gives a final answer.

    ``model`` is a ``BaseLlm`` or a name resolved through ``LLMRegistry`` (empty:
    inherit from the nearest ``LlmAgent`` ancestor, else the default model, as in ADK
    2.13: ``DEFAULT_MODEL`` unless changed with :meth:`set_default_model`).
    ``instruction`` may contain ``{state_key}`` placeholders or be a callable taking a
    ``ReadonlyContext``.  ``tools``
    accepts plain sync or async functions, ``BaseTool`` and ``BaseToolset`` objects; sync
    functions run in worker threads.  Tools are checked when the agent is built (and
    again, before a run, after ``tools`` was changed): a function the model cannot call
    (a lambda, ``*args``, a parameter type with no schema), a tool name the model does
    not accept, or two tools with one name raise ``ValueError`` naming the tool.  A
    toolset's tools are checked when listed, before each model call.  ``output_key``
    saves the agent's final text in state.  ``code_executor=BuiltInCodeExecutor()`` lets
    a Gemini model write and run code itself (other executors raise ``ValueError``).
    ``planner`` (a ``BuiltInPlanner`` or ``PlanReActPlanner``) makes the model plan
    before it acts.  ``static_instruction`` (text, parts or a Content) is sent first in
    the system instruction, unchanged, so providers can cache it; with it, a given
    ``instruction`` goes into the contents instead.  Runs in the run's trio task;
    cancellation reaches the model call or the tools in flight.
    """

    DEFAULT_MODEL: ClassVar[str] = "gemini-3.5-flash"
    _default_model: ClassVar[str | BaseLlm] = DEFAULT_MODEL
    _default_llms: ClassVar[dict[str, BaseLlm]] = {}  # default model names, resolved

    model: str | BaseLlm = ""
    instruction: str | InstructionProvider = ""
    global_instruction: str | InstructionProvider = ""
    tools: list[ToolUnion] = []
    generate_content_config: types.GenerateContentConfig | None = None
    disallow_transfer_to_parent: bool = False
    disallow_transfer_to_peers: bool = False
    include_contents: Literal["default", "none"] = "default"
    input_schema: type[BaseModel] | None = None
    output_schema: type[BaseModel] | None = None
    output_key: str | None = None
    planner: BasePlanner | None = None
    static_instruction: types.ContentUnion | None = None
    before_model_callback: AgentCallback | Sequence[AgentCallback] | None = None
    after_model_callback: AgentCallback | Sequence[AgentCallback] | None = None
    on_model_error_callback: AgentCallback | Sequence[AgentCallback] | None = None
    before_tool_callback: AgentCallback | Sequence[AgentCallback] | None = None
    after_tool_callback: AgentCallback | Sequence[AgentCallback] | None = None
    on_tool_error_callback: AgentCallback | Sequence[AgentCallback] | None = None
    code_executor: BaseCodeExecutor | None = None

    @field_validator("generate_content_config")
    @classmethod
    def _check_config(
        cls, value: types.GenerateContentConfig | None
    ) -> types.GenerateContentConfig | None:
        if value is None:
            return None
        if value.tools:
            raise ValueError("All tools must be set via LlmAgent.tools, "
                             "not generate_content_config.tools.")
        if value.system_instruction:
            raise ValueError("System instruction must be set via LlmAgent.instruction, "
                             "not generate_content_config.system_instruction.")
        if value.response_schema:
            raise ValueError("Response schema must be set via LlmAgent.output_schema, "
                             "not generate_content_config.response_schema.")
        return value

    @field_validator("code_executor")
    @classmethod
    def _check_code_executor(cls, value: BaseCodeExecutor | None) -> BaseCodeExecutor | None:
        from trio_adk.code_executors._built_in import BuiltInCodeExecutor

        if value is not None and not isinstance(value, BuiltInCodeExecutor):
            raise ValueError(f"code_executor: trio-adk runs only BuiltInCodeExecutor (the "
                             f"model runs the code), not {type(value).__name__}; run code "
                             "locally from a function tool instead.")
        return value

    def _check_own_config(self) -> None:
        """Build the tools (raises ``ValueError`` naming the tool that is wrong)."""
        self._agent_tools()

    def _own_config_key(self) -> object:
        return tuple(self.tools)

    def _agent_tools(self) -> AgentTools:
        """The tools built from ``self.tools``, built again when that list changed."""
        # A plain instance attribute, not a pydantic private one: read on every model step.
        built: AgentTools | None = self.__dict__.get("_built_tools")
        if built is None or built.entries != tuple(self.tools):
            built = build_agent_tools(self.name, self.tools)
            self.__dict__["_built_tools"] = built
        return built

    @property
    def _static_tools(self) -> list[BaseTool]:
        return self._agent_tools().static

    @property
    def _toolsets(self) -> list[BaseToolset]:
        return self._agent_tools().toolsets

    @classmethod
    def set_default_model(cls, model: str | BaseLlm) -> None:
        """Set the model of agents that have none, in their tree or themselves (a model
        name or a ``BaseLlm``).  Process-wide; any thread."""
        if not isinstance(model, str | BaseLlm):
            raise TypeError("the default model must be a model name (str) or a BaseLlm, "
                            f"got {type(model).__name__}.")
        if isinstance(model, str) and not model:
            raise ValueError("the default model must be a non-empty model name.")
        LlmAgent._default_model = model

    @property
    def canonical_model(self) -> BaseLlm:
        """The model this agent calls (resolved once and cached)."""
        cached: BaseLlm | None = self.__dict__.get("_resolved_llm")
        if cached is not None:
            return cached
        if isinstance(self.model, BaseLlm):
            llm = self.model
        elif self.model:
            llm = LLMRegistry.new_llm(self.model)
        else:
            ancestor = self.parent_agent
            while ancestor is not None:
                if isinstance(ancestor, LlmAgent):
                    return ancestor.canonical_model
                ancestor = ancestor.parent_agent
            # Not cached on the agent: set_default_model() applies to agents built before.
            default = LlmAgent._default_model
            if isinstance(default, BaseLlm):
                return default
            resolved = LlmAgent._default_llms.get(default)
            if resolved is None:
                resolved = LlmAgent._default_llms[default] = LLMRegistry.new_llm(default)
            return resolved
        # Kept in the instance dict, not a pydantic private attribute: this is read
        # on every model step and private-attribute access is slow.
        self.__dict__["_resolved_llm"] = llm
        return llm

    @property
    def _llm(self) -> BaseLlm | None:
        """The resolved model, if it was resolved already."""
        return self.__dict__.get("_resolved_llm")

    async def canonical_tools(self, ctx: ReadonlyContext | None = None) -> list[BaseTool]:
        """The tools offered to the model: functions wrapped, toolsets expanded.

        The tools a toolset lists are checked here, before the model call: a name the
        model does not accept, or one already used by another tool of this agent,
        raises ``ValueError`` naming the toolset.
        """
        built = self._agent_tools()
        if not built.toolsets:
            return built.static
        tools = list(built.static)
        listed: list[tuple[BaseTool, BaseToolset]] = []
        for toolset in built.toolsets:
            offered = await await_user(toolset.get_tools(ctx))  # user code
            selected = [t for t in offered if toolset._is_tool_selected(t, ctx)]
            for tool in toolset._prefixed(selected):
                tools.append(tool)
                listed.append((tool, toolset))
        check_listed_tools(self.name, built, listed)
        return tools

    async def canonical_instruction(self, ctx: ReadonlyContext) -> tuple[str, bool]:
        """``(instruction text, bypass_state_injection)``: a string instruction as
        written (its ``{placeholders}`` still to fill, so ``False``), or what the
        instruction provider returns for ``ctx`` (used as is, so ``True``).  A provider
        runs on the caller's library; cancellation reaches it there."""
        return await _resolve_instruction(self.instruction, ctx)

    async def canonical_global_instruction(self, ctx: ReadonlyContext) -> tuple[str, bool]:
        """Like :meth:`canonical_instruction`, for ``global_instruction`` (only the root
        agent's is used, in every agent's requests)."""
        return await _resolve_instruction(self.global_instruction, ctx)

    async def canonical_model_async(self, ctx: ReadonlyContext) -> BaseLlm:
        """The model for a call in ``ctx``'s invocation: :attr:`canonical_model`."""
        del ctx
        return self.canonical_model

    @property
    def canonical_live_model(self) -> BaseLlm:
        """The model of live runs: :attr:`canonical_model` (one resolution serves both)."""
        return self.canonical_model

    async def canonical_live_model_async(self, ctx: ReadonlyContext) -> BaseLlm:
        """The model for a live run in ``ctx``'s invocation: :attr:`canonical_model`."""
        del ctx
        return self.canonical_model

    @property
    def canonical_before_model_callbacks(self) -> list[AgentCallback]:
        """``before_model_callback`` as a list (empty when unset)."""
        return _as_list(self.before_model_callback)

    @property
    def canonical_after_model_callbacks(self) -> list[AgentCallback]:
        """``after_model_callback`` as a list (empty when unset)."""
        return _as_list(self.after_model_callback)

    @property
    def canonical_on_model_error_callbacks(self) -> list[AgentCallback]:
        """``on_model_error_callback`` as a list (empty when unset)."""
        return _as_list(self.on_model_error_callback)

    @property
    def canonical_before_tool_callbacks(self) -> list[AgentCallback]:
        """``before_tool_callback`` as a list (empty when unset)."""
        return _as_list(self.before_tool_callback)

    @property
    def canonical_after_tool_callbacks(self) -> list[AgentCallback]:
        """``after_tool_callback`` as a list (empty when unset)."""
        return _as_list(self.after_tool_callback)

    @property
    def canonical_on_tool_error_callbacks(self) -> list[AgentCallback]:
        """``on_tool_error_callback`` as a list (empty when unset)."""
        return _as_list(self.on_tool_error_callback)

    def _note_early_reply(self, event: Event) -> None:
        """A before-agent callback's reply counts as this agent's output (``output_key``),
        as in ADK."""
        if self.output_key:
            from trio_adk.flows._llm_flow import save_output

            save_output(self, event)

    async def _run_impl(self, ctx: InvocationContext) -> None:
        from trio_adk.flows._llm_flow import run_llm_flow

        await run_llm_flow(self, ctx)

    @_native
    async def _run_async_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        """Events of this agent's own body (without before/after-agent callbacks)."""
        from trio_adk.agents._base_agent import _stream_body

        async for event in _stream_body(self, ctx):
            yield event

    async def _run_live(self, ctx: InvocationContext) -> None:
        from trio_adk.flows._live_flow import run_live_flow

        await run_live_flow(self, ctx)

    @_native
    async def _run_live_impl(self, ctx: InvocationContext) -> AsyncGenerator[Event, None]:
        """Events of this agent's live body (without before/after-agent callbacks)."""
        from trio_adk.agents._base_agent import _stream

        async for event in _stream(ctx, self._run_live, self.name):
            yield event


async def _resolve_instruction(
    instruction: str | InstructionProvider, ctx: ReadonlyContext
) -> tuple[str, bool]:
    if isinstance(instruction, str):
        return instruction, False
    return str(await call_user(instruction, ctx)), True


def _as_list(callbacks: AgentCallback | Sequence[AgentCallback] | None) -> list[AgentCallback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Sequence):
        return list(callbacks)
    return [callbacks]


Agent = LlmAgent
