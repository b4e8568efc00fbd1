"""ADK-compatible import path.

Re-exports for ``google.adk.tools.long_running_tool``.
"""

from trio_adk.tools._function_tool import LongRunningFunctionTool as LongRunningFunctionTool

__all__ = ["LongRunningFunctionTool"]
