"""ADK-compatible import path.

Re-exports for ``google.adk.tools.enterprise_search_tool``.
"""

from trio_adk.tools._enterprise_search import EnterpriseWebSearchTool as EnterpriseWebSearchTool
from trio_adk.tools._enterprise_search import (
    enterprise_web_search_tool as enterprise_web_search_tool,
)

__all__ = ["EnterpriseWebSearchTool", "enterprise_web_search_tool"]
