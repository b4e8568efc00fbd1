"""Tools: what a model can call, and the context they run in."""

from trio_adk.events._tool_confirmation import ToolConfirmation as ToolConfirmation
from trio_adk.tools._agent_tool import AgentTool as AgentTool
from trio_adk.tools._base_tool import BaseTool as BaseTool
from trio_adk.tools._base_tool import BaseToolset as BaseToolset
from trio_adk.tools._enterprise_search import (
    enterprise_web_search_tool as enterprise_web_search,
)
from trio_adk.tools._example_tool import ExampleTool as ExampleTool
from trio_adk.tools._exit_loop import exit_loop as exit_loop
from trio_adk.tools._function_tool import FunctionTool as FunctionTool
from trio_adk.tools._function_tool import LongRunningFunctionTool as LongRunningFunctionTool
from trio_adk.tools._get_user_choice import get_user_choice_tool as get_user_choice
from trio_adk.tools._google_maps import google_maps_grounding as google_maps_grounding
from trio_adk.tools._google_search import google_search as google_search
from trio_adk.tools._load_artifacts import load_artifacts_tool as load_artifacts
from trio_adk.tools._load_memory import load_memory_tool as load_memory
from trio_adk.tools._preload_memory import preload_memory_tool as preload_memory
from trio_adk.tools._tool_context import ToolContext as ToolContext
from trio_adk.tools._transfer_to_agent import transfer_to_agent as transfer_to_agent
from trio_adk.tools._url_context import url_context as url_context
from trio_adk.tools._vertex_ai_search import VertexAiSearchTool as VertexAiSearchTool

__all__ = [
    "AgentTool",
    "BaseTool",
    "BaseToolset",
    "ExampleTool",
    "FunctionTool",
    "LongRunningFunctionTool",
    "ToolConfirmation",
    "ToolContext",
    "VertexAiSearchTool",
    "enterprise_web_search",
    "exit_loop",
    "get_user_choice",
    "google_maps_grounding",
    "google_search",
    "load_artifacts",
    "load_memory",
    "preload_memory",
    "transfer_to_agent",
    "url_context",
]

# ADK exports these lazily too: importing trio_adk.tools must not need the mcp extra.
_LAZY = {"McpToolset", "MCPToolset"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from trio_adk.tools import mcp_tool

        return getattr(mcp_tool, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
