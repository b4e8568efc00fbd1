"""ADK-compatible import path.

Re-exports for ``google.adk.tools.google_search_tool``.
"""

from trio_adk.tools._google_search import GoogleSearchTool as GoogleSearchTool
from trio_adk.tools._google_search import google_search as google_search

__all__ = ["GoogleSearchTool", "google_search"]
