"""ADK-compatible import path.

Re-exports for ``google.adk.tools.tool_context``.
"""

from trio_adk.tools._tool_context import ToolContext as ToolContext

__all__ = ["ToolContext"]
