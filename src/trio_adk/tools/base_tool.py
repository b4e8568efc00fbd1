"""ADK-compatible import path.

Re-exports for ``google.adk.tools.base_tool``.
"""

from trio_adk.tools._base_tool import BaseTool as BaseTool

__all__ = ["BaseTool"]
