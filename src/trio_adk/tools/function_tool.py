"""ADK-compatible import path.

Re-exports for ``google.adk.tools.function_tool``.
"""

from trio_adk.tools._function_tool import FunctionTool as FunctionTool

__all__ = ["FunctionTool"]
