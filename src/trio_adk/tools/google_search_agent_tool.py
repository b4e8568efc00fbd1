"""ADK-compatible import path.

Re-exports for ``google.adk.tools.google_search_agent_tool``.
"""

from trio_adk.tools._google_search_agent import GoogleSearchAgentTool as GoogleSearchAgentTool
from trio_adk.tools._google_search_agent import (
    create_google_search_agent as create_google_search_agent,
)

__all__ = ["GoogleSearchAgentTool", "create_google_search_agent"]
