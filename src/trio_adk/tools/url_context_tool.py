"""ADK-compatible import path.

Re-exports for ``google.adk.tools.url_context_tool``.
"""

from trio_adk.tools._url_context import UrlContextTool as UrlContextTool
from trio_adk.tools._url_context import url_context as url_context

__all__ = ["UrlContextTool", "url_context"]
