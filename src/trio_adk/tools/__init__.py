"""Tools: what a model can call, and the context they run in."""

from trio_adk.tools._agent_tool import AgentTool as AgentTool
from trio_adk.tools._base_tool import BaseTool as BaseTool
from trio_adk.tools._base_tool import BaseToolset as BaseToolset
from trio_adk.tools._function_tool import FunctionTool as FunctionTool
from trio_adk.tools._function_tool import LongRunningFunctionTool as LongRunningFunctionTool
from trio_adk.tools._tool_context import ToolContext as ToolContext
from trio_adk.tools._transfer_to_agent import transfer_to_agent as transfer_to_agent

__all__ = [
    "AgentTool",
    "BaseTool",
    "BaseToolset",
    "FunctionTool",
    "LongRunningFunctionTool",
    "ToolContext",
    "transfer_to_agent",
]
