"""LlmAgent (alias Agent): an agent driven by a language model."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from google.genai import types
from pydantic import BaseModel, field_validator

from trio_adk.agents._base_agent import AgentCallback, BaseAgent, _native
from trio_adk.agents._callback_context import ReadonlyContext
from trio_adk.events._event import Event
from trio_adk.models._base_llm import BaseLlm
from trio_adk.models._registry import LLMRegistry
from trio_adk.tools._base_tool import BaseTool, BaseToolset
from trio_adk.tools._function_tool import as_tool

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext

InstructionProvider = Callable[[ReadonlyContext], str | Awaitable[str]]
ToolUnion = Callable[..., Any] | BaseTool | BaseToolset


class LlmAgent(BaseAgent):
    """An agent that asks a model what to do, runs the tools it calls, and repeats
    until the model gives a final answer.

    ``model`` is a ``BaseLlm`` or a name resolved through ``LLMRegistry`` (empty:
    inherit from the nearest ``LlmAgent`` ancestor).  ``instruction`` may contain
    ``{state_key}`` placeholders or be a callable taking a ``ReadonlyContext``.  ``tools``
    accepts plain sync or async functions, ``BaseTool`` and ``BaseToolset`` objects; sync
    functions run in worker threads.  ``output_key`` saves the agent's final text in
    state.  Runs in the run's trio task; cancellation reaches the model call or the tools
    in flight.
    """

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
    before_model_callback: AgentCallback | Sequence[AgentCallback] | None = None
    after_model_callback: AgentCallback | Sequence[AgentCallback] | None = None
    on_model_error_callback: AgentCallback | Sequence[AgentCallback] | None = None
    before_tool_callback: AgentCallback | Sequence[AgentCallback] | None = None
    after_tool_callback: AgentCallback | Sequence[AgentCallback] | None = None
    on_tool_error_callback: AgentCallback | Sequence[AgentCallback] | None = None


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

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        static: list[BaseTool] = []
        toolsets: list[BaseToolset] = []
        for entry in self.tools:
            if isinstance(entry, BaseToolset):
                toolsets.append(entry)
            else:
                static.append(as_tool(entry))
        # Plain instance attributes, not pydantic private ones: read on every model step.
        self.__dict__["_static_tools"] = static
        self.__dict__["_toolsets"] = toolsets

    @property
    def _static_tools(self) -> list[BaseTool]:
        return self.__dict__["_static_tools"]  # type: ignore[no-any-return]

    @property
    def _toolsets(self) -> list[BaseToolset]:
        return self.__dict__["_toolsets"]  # type: ignore[no-any-return]

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
            raise ValueError(
                f"No model found for {self.name}. Set `model=` on this agent or on an "
                "LlmAgent ancestor."
            )
        # Kept in the instance dict, not a pydantic private attribute: this is read
        # on every model step and private-attribute access is slow.
        self.__dict__["_resolved_llm"] = llm
        return llm

    @property
    def _llm(self) -> BaseLlm | None:
        """The resolved model, if it was resolved already."""
        return self.__dict__.get("_resolved_llm")

    async def canonical_tools(self, ctx: ReadonlyContext | None = None) -> list[BaseTool]:
        """The tools offered to the model: functions wrapped, toolsets expanded."""
        if not self._toolsets:
            return self._static_tools
        tools = list(self._static_tools)
        for toolset in self._toolsets:
            for tool in await toolset.get_tools(ctx):
                if toolset._is_tool_selected(tool):
                    tools.append(tool)
        return tools

    @property
    def canonical_instruction(self) -> str | InstructionProvider:
        """The instruction as configured (template or provider)."""
        return self.instruction

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


Agent = LlmAgent
