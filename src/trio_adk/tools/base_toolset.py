"""ADK-compatible import path.

Re-exports for ``google.adk.tools.base_toolset``.
"""

from trio_adk.tools._base_tool import BaseToolset as BaseToolset
from trio_adk.tools._base_tool import ToolPredicate as ToolPredicate

__all__ = ["BaseToolset", "ToolPredicate"]
