"""ADK-compatible import path.

Re-exports for ``google.adk.tools.tool_confirmation``.
"""

from trio_adk.events._tool_confirmation import ToolConfirmation as ToolConfirmation

__all__ = ["ToolConfirmation"]
